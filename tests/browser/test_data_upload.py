"""Issue 5's browser journey: a data administrator uploads a GBK CSV with a few bad rows, sees the report, fixes the
file and loads it; the batches tab shows both batches. Screenshots of each page at 1366×768."""

from __future__ import annotations

from typing import Any

import pytest

from tongshu.dataplane import store
from tongshu.dataplane.schema import schema_for_version
from tongshu.dataplane.tests.formats import GOOD, csv_bytes, population_resource

from .conftest import screenshot, submit_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("data_store"),
]


def upload(page: Any, resource: Any, data: bytes, name: str, shot: str = "") -> None:
    page.goto(f"/data/resources/{resource.pk}/upload/")
    if shot:
        screenshot(page, shot)
    page.set_input_files("input[name=file]", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")


def test_gbk_csv_with_bad_rows_report_fix_load(page: Any, personas: Any) -> None:
    resource = population_resource(personas.provider_org)
    page.goto("/accounts/login/")
    submit_login(page, personas.provider_admin.username, personas.password)

    page.goto(f"/catalog/resources/{resource.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=data-page-link]")
    screenshot(page, "data-01-batches-empty")

    bad = [*GOOD, ["430623199001011230", "王五", "1990-01-01"], ["430623199001011229", "赵六", "1990-02-30"]]
    upload(page, resource, csv_bytes(bad, "gbk"), "户籍人口（GBK）.csv", shot="data-01b-upload")
    assert page.locator("#column-0").input_value() == "f001"  # matched by the item's name
    screenshot(page, "data-02-mapping")
    with page.expect_navigation():
        page.click("[data-testid=mapping-form] button[type=submit]")
    page.wait_for_selector("[data-testid=problems]")
    assert page.locator("[data-testid=batch-status]").first.inner_text() == "已拒绝"
    rows = page.locator("[data-testid=problems] tbody tr")
    assert rows.count() >= 2
    assert "4" in rows.nth(0).inner_text() and "公民身份号码" in rows.nth(0).inner_text()
    screenshot(page, "data-03-rejected-report")
    with page.expect_download() as download:
        page.click("[data-testid=report-csv]")
    assert "430623199001011230" in download.value.path().read_bytes().decode("utf-8-sig")
    assert list(store.read_rows(schema_for_version(resource.published_version))) == []

    fixed = [*GOOD, ["430623199001011229", "王五", "1990-01-01"]]
    upload(page, resource, csv_bytes(fixed, "gbk"), "户籍人口（GBK）修正.csv")
    with page.expect_navigation():
        page.click("[data-testid=mapping-form] button[type=submit]")
    page.wait_for_selector("[data-testid=batch-message]")
    assert page.locator("[data-testid=batch-status]").first.inner_text() == "已加载"
    screenshot(page, "data-04-applied")
    page.goto(f"/data/resources/{resource.pk}/")
    assert page.locator("[data-testid=row-count]").inner_text() == "3"
    assert page.locator("[data-testid=batches] tbody tr").count() == 2
    screenshot(page, "data-05-batches")
    page.goto("/data/")
    assert "户籍人口基本信息" in page.locator("[data-testid=data-resources]").inner_text()
    screenshot(page, "data-06-data-management")
