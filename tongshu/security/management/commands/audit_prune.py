"""`manage.py audit_prune`: delete audit entries older than the retention period (never younger than 180 days)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.timezone import localtime

from tongshu.core.errors import DomainError
from tongshu.security.retention import prune_expired


class Command(BaseCommand):
    help = "Delete sealed audit entries past the retention period (网络安全法 第二十一条: at least 180 days)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = prune_expired(actor_name="manage.py audit_prune", dry_run=options["dry_run"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        cutoff = f"{localtime(result.cutoff):%Y-%m-%d %H:%M}"
        if not result.deleted:
            self.stdout.write(f"保留期 {result.retention_days} 天：没有早于 {cutoff} 的记录可清理。")
        elif options["dry_run"]:
            self.stdout.write(
                f"保留期 {result.retention_days} 天：将清理 {result.deleted} 条早于 {cutoff} 的记录"
                f"（至第 {result.through_seq} 号）。"
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"保留期 {result.retention_days} 天：已清理 {result.deleted} 条早于 {cutoff} 的记录"
                    f"（至第 {result.through_seq} 号），并签名锚定了链的新起点。"
                )
            )
