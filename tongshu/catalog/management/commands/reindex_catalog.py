"""Rebuild the catalog search index from the published catalog (after an upgrade, a restore, or to repair it)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from tongshu.catalog.search import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the catalog search index from every published, unretired resource."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        counts = rebuild_index()
        self.stdout.write(
            self.style.SUCCESS(
                f"信息资源目录检索索引已重建：{counts['documents']} 个信息资源，{counts['postings']} 条索引项，"
                f"用时 {time.perf_counter() - started:.1f} 秒。"
            )
        )
