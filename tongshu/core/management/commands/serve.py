"""Serve the platform with its background processes: the web server (uvicorn), a task worker and the scheduler.

`make run` uses this on the embedded default. Production runs the three as separate services (docs/deployment.md).
The worker and the scheduler are supervised (core.supervisor): one that dies is logged and started again, and each
time the worker starts, batches a dead worker left `running` are handed to it again (dataplane.recovery).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand

from tongshu.core.supervisor import Child, Supervisor

logger = logging.getLogger("tongshu.serve")


def recover_batches() -> None:
    """Re-enqueue the batches whose worker is gone (the one just replaced, or one from before a restart)."""
    from django.db import connections

    from tongshu.dataplane.recovery import recover_stalled_batches

    try:
        count = recover_stalled_batches()
        if count:
            logger.warning("Re-queued %s batch(es) left running by a stopped worker", count)
    finally:
        connections.close_all()  # this may run in the supervisor's thread: leave no connection behind


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class Command(BaseCommand):
    help = "Serve the web app together with a task worker and the periodic scheduler."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        manage = [sys.executable, "-m", "tongshu"]
        supervisor = Supervisor()
        if not options["no_worker"]:
            supervisor.add(
                Child(
                    "task worker",
                    [*manage, "db_worker", "--queue-name", "*", "--no-reload", "-v", "0"],
                    on_start=recover_batches,
                )
            )
            supervisor.add(Child("scheduler", [*manage, "run_scheduler"], stdout=subprocess.DEVNULL))
        supervisor.start()
        # uvicorn stops gracefully on SIGTERM, then raises the signal again with the previous handler: make that an
        # exception so the `finally` below stops the children (the default handler would end this process at once and
        # leave them running).
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
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
            supervisor.stop()
            from tongshu.security.audit import flush

            flush()  # seal the audit log's tail and sign a shutdown checkpoint (docs/architecture.md)
