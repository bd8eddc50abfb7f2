"""A resource's data page in the browser at 1366×768, on the demo: 县公安局's CDO reaches it from the data list, the
department's data dashboard and the catalog entry, and walks its tabs (batches, upload, browse, quality, e-form,
ways in); the e-form list masks like the browse page and a record's page keeps the tabs; the operator's data list
speaks of every department; the rule form shows the fields of its kind; a pushed batch that was rejected says what the
system integrator should do; a pull source shows its high-water mark in local time. Screenshots of each page go to
test-artifacts/."""

from __future__ import annotations

import re
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tongshu.accounts.models import User
from tongshu.catalog.models import Resource
from tongshu.dataplane.models import Batch, BatchMode, BatchSource, BatchStatus, Library, PullSource

from .conftest import screenshot, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")


@pytest.fixture
def demo(settings: Any) -> None:
    settings.DEMO_MODE = True
    call_command("load_demo", stdout=StringIO())


def _population() -> Resource:
    """县公安局's 户籍人口基本信息, the source of the population base library."""
    return Library.objects.get(theme="population").mappings.get().source


def _login(page: Any, username: str, settings: Any) -> None:
    page.goto("/accounts/login/")
    submit_login(page, username, settings.DEMO_PASSWORD)


def _tab(page: Any, key: str) -> None:
    with page.expect_navigation():
        page.click(f"[data-testid=data-tabs] [data-tab={key}]")
    assert page.locator(f"[data-testid=data-tabs] [data-tab={key}]").get_attribute("aria-current") == "page"


def test_data_page_tabs_and_the_links_to_them(page: Any, demo: None, settings: Any) -> None:
    population = _population()
    _login(page, "cdo", settings)

    page.goto("/data/")
    screenshot(page, "datapage-00-data-list")
    with page.expect_navigation():
        page.get_by_role("link", name="户籍人口基本信息", exact=True).first.click()
    assert page.url.endswith(f"/data/resources/{population.pk}/")
    tabs = page.locator("[data-testid=data-tabs] a")
    assert tabs.all_inner_texts() == [
        "批次",
        "上传数据",
        "数据浏览",
        "数据质量",
        "电子表单",
        "接入方式",
        "设置",
    ]
    screenshot(page, "datapage-01-batches")

    _tab(page, "browse")
    table = page.locator("[data-testid=browse-table]")
    table.wait_for()
    browse_id = table.locator("tbody tr").first.locator("td").first.inner_text()
    assert MASKED_ID.match(browse_id), browse_id
    screenshot(page, "datapage-02-browse")

    _tab(page, "quality")
    page.locator("[data-testid=quality-rules]").wait_for()
    screenshot(page, "datapage-03-quality")

    _tab(page, "eform")
    records = page.locator("[data-testid=records] tbody tr")
    cells = records.first.locator("td").all_inner_texts()
    assert MASKED_ID.match(cells[0]), cells  # the same masking as the browse page
    assert re.match(r"^\S\*+$", cells[1]), cells  # a name: its first character
    assert re.match(r"^[12] (男|女)", cells[2]), cells  # a code with its name, as on the browse page
    screenshot(page, "datapage-04-eform")
    # A record's page keeps the tab bar, the e-form tab active.
    with page.expect_navigation():
        records.first.locator("td").last.locator("a").click()
    assert page.locator("[data-testid=data-tabs] [data-tab=eform]").get_attribute("aria-current") == "page"
    assert page.locator("[data-testid=eform-record-heading]").inner_text() == "修改记录"
    page.locator("[data-testid=eform]").wait_for()
    screenshot(page, "datapage-04b-eform-record")

    _tab(page, "ways")
    page.locator("[data-testid=resource-push]").wait_for()
    screenshot(page, "datapage-05-ways")

    _tab(page, "upload")
    page.locator("[data-testid=upload-form]").wait_for()
    screenshot(page, "datapage-06-upload")

    _tab(page, "settings")
    page.locator("[data-testid=settings-form]").wait_for()
    screenshot(page, "datapage-06b-settings")

    # From the department's data dashboard and from the catalog entry.
    page.goto("/quality/department/")
    row = page.locator("[data-testid=quality-resources] tr", has_text="户籍人口基本信息").first
    with page.expect_navigation():
        row.locator("[data-testid=data-page]").click()
    assert page.url.endswith(f"/data/resources/{population.pk}/")
    page.goto(f"/catalog/resources/{population.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=data-page-link]")
    assert page.url.endswith(f"/data/resources/{population.pk}/")
    page.goto("/quality/department/")
    screenshot(page, "datapage-07-department-dashboard")


def test_operator_and_authority_see_their_sections(page: Any, demo: None, settings: Any) -> None:
    population = _population()
    _login(page, "operator", settings)
    page.goto("/data/")
    assert page.locator("h1").inner_text() == "全部部门的数据"
    assert "全部部门" in page.locator("[data-testid=data-intro]").inner_text()
    screenshot(page, "datapage-08-operator-data-list")
    page.goto(f"/data/resources/{population.pk}/")
    assert page.locator("[data-testid=data-tabs] a").all_inner_texts() == ["批次", "数据质量", "接入方式"]
    page.goto("/quality/platform/")
    screenshot(page, "datapage-09-platform-quality")
    page.goto("/quality/overdue/")
    screenshot(page, "datapage-10-overdue")


def test_rule_form_shows_only_the_fields_of_its_kind(page: Any, demo: None, settings: Any) -> None:
    population = _population()
    _login(page, "cdo", settings)
    page.goto(f"/quality/resources/{population.pk}/rules/new/")
    form = page.locator("[data-testid=rule-form]")
    assert "---------" not in form.inner_text()
    page.select_option("#id_kind", "range")
    assert page.locator("#id_minimum").is_visible() and not page.locator("#id_pattern").is_visible()
    assert not page.locator("#id_target").is_visible()
    page.select_option("#id_kind", "reference")
    assert page.locator("#id_target").is_visible() and not page.locator("#id_minimum").is_visible()
    assert page.locator("#id_target option").first.inner_text() == "请选择信息资源"
    page.select_option("#id_target", str(population.pk))
    page.wait_for_function("() => document.querySelectorAll('#id_target_field option').length > 1")
    options = page.locator("#id_target_field option").all_inner_texts()
    assert options[0] == "被引用资源的主键" and any("公民身份号码" in option for option in options)
    assert "错误（整批拒绝" in form.inner_text()
    screenshot(page, "datapage-11-rule-form")


def test_pushed_rejected_batch_and_pull_source_pages(page: Any, demo: None, settings: Any) -> None:
    population = _population()
    pushed = Batch.objects.create(
        resource=population,
        source=BatchSource.PUSH,
        mode=BatchMode.UPSERT,
        status=BatchStatus.REJECTED,
        file_name="推送.ndjson",
        rows_read=3,
        bad_rows=1,
        error_sample=[
            {"row": 2, "label": "公民身份号码", "value": "123", "reason": "长度应为 18", "severity": "error"}
        ],
        message="有 1 行未通过校验，整批未加载",
        finished_at=datetime.now().astimezone(),
    )
    cdo = User.objects.get(username="cdo")
    source = PullSource.objects.create(
        resource=population,
        name="人口库同步",
        kind="database",
        owner=cdo,
        query="select * from people",
        incremental_column="updated_at",
        high_water_mark="dt:2025-03-03T01:30:00+00:00",
    )
    _login(page, "cdo", settings)
    page.goto(f"/data/batches/{pushed.pk}/")
    step = page.locator("[data-testid=next-step]").inner_text()
    assert "系统集成方" in step and "修改文件后重新上传" not in step
    assert not page.locator("[data-testid=upload-again]").count()
    screenshot(page, "datapage-12-pushed-rejected")
    page.goto(f"/data/ways/sources/{source.pk}/")
    assert "2025年3月3日 09:30:00" in page.locator("main").inner_text()
    screenshot(page, "datapage-13-source-detail")
    page.goto(f"/data/ways/sources/{source.pk}/edit/")
    page.select_option("#id_kind", "http")
    assert page.locator("#id_auth_value").get_attribute("type") == "password"
    assert page.locator("#id_auth_value").input_value() == ""
    screenshot(page, "datapage-14-source-form")
