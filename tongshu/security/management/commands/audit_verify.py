"""`manage.py audit_verify`: verify the audit log's hash chain and signed checkpoints.

Prints "完整" (intact) or the first broken entry, and exits with status 1 when the log is broken.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.timezone import localtime

from tongshu.security.services import run_verification


class Command(BaseCommand):
    help = "Verify the tamper-evident audit log; exit status 1 if it has been tampered with."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--all", action="store_true", help="List every problem found, not only the first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result, _ = run_verification("manage.py audit_verify")
        checkpoint = result.last_checkpoint
        if result.is_intact:
            self.stdout.write(self.style.SUCCESS(f"审计日志{result.summary()}"))
            if checkpoint is not None and checkpoint.created_at is not None:
                self.stdout.write(
                    f"最新签名检查点：第 {checkpoint.seq} 号，{localtime(checkpoint.created_at):%Y-%m-%d %H:%M:%S}"
                )
            elif not result.checkpoint_file_found:
                self.stdout.write("检查点文件尚不存在（还没有签名检查点）")
            return
        if options["all"]:
            for problem in sorted(result.problems, key=lambda p: (p.seq is not None, p.seq or 0)):
                where = f"第 {problem.seq} 号" if problem.seq is not None else "—"
                entry = f" (ID {problem.entry_id})" if problem.entry_id is not None else ""
                self.stderr.write(f"  [{problem.code}] {where}{entry}: {problem.message}")
        raise CommandError(f"审计日志{result.summary()}", returncode=1)
