"""`manage.py load_standards`: the shipped code sets, category tree and starter data elements (idempotent)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from tongshu.standards.loading import load_standards


class Command(BaseCommand):
    help = "Load the shipped code sets, resource category tree and starter data elements (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = load_standards()
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"标准规范已就绪（{elapsed:.1f} 秒）：新增代码集版本 {report.versions} 个（代码 {report.values} 条），"
                f"资源分类 {report.categories} 个，部门分类 {report.department_categories} 个，"
                f"数据元 {report.data_elements} 个。"
            )
        )
        if report.notes:
            if options["verbosity"] >= 2:
                for note in report.notes:
                    self.stdout.write(f"  {note}")
            else:
                self.stdout.write(f"  另有 {len(report.notes)} 条说明未载入的内容，使用 -v 2 查看。")
