"""Load the 华容县 demo (idempotent): organizations, one account per role, standards and a published catalog."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tongshu.demo import catalog, data_plane, organizations
from tongshu.standards.loading import load_standards


class Command(BaseCommand):
    help = "Load the Huarong County demo data (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        orgs = organizations.load_organizations()
        load_standards()  # after the organizations: the category tree's department branch is built from them
        organizations.load_accounts(orgs)
        published = catalog.load_catalog()  # drafted by each department's CDO, published by the authority
        if settings.DEMO_MODE:  # synthetic records (people, companies, …) only in a demo
            data_plane.load_data_plane(orgs)
        self.stdout.write(
            self.style.SUCCESS(f"华容县演示数据已就绪：{len(orgs)} 个机构，新发布目录 {published} 条。")
        )
        if settings.DEMO_MODE:
            self.stdout.write(f"演示账号（密码均为 {settings.DEMO_PASSWORD}）：")
            for username, full_name, _org, role in organizations.DEMO_ACCOUNTS:
                self.stdout.write(f"  {username:<12} {full_name}  ({role})")
