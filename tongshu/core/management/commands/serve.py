"""Serve the platform with its background processes: the web server (uvicorn), a task worker and the scheduler.

`make run` uses this on the embedded default. Production runs the three as separate services (docs/deployment.md).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app together with a task worker and the periodic scheduler."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        manage = [sys.executable, "-m", "tongshu"]
        children: list[subprocess.Popen[bytes]] = []
        if not options["no_worker"]:
            children.append(
                subprocess.Popen([*manage, "db_worker", "--queue-name", "*", "--no-reload", "-v", "0"])
            )
            children.append(subprocess.Popen([*manage, "run_scheduler"], stdout=subprocess.DEVNULL))
        self.stdout.write(f"通数 Tongshu: http://{options['host']}:{options['port']}/  (Ctrl+C 停止)")
        try:
            uvicorn.run(
                "tongshu.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
            from tongshu.security.audit import flush

            flush()  # seal the audit log's tail and sign a shutdown checkpoint (docs/architecture.md)
