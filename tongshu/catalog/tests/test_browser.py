"""The catalog journey in Chromium: the editor's htmx grid (add a row, pick a data element, move a row), saving,
the CDO's submission and the authority's publication."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from tongshu.catalog.models import Resource, ResourceVersion
from tongshu.catalog.tests.helpers import make_elements
from tongshu.standards.tests.factories import make_category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("TONGSHU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are still sync.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def signed_in(chromium: Any, live_server: Any, user: Any) -> Any:
    """A tab whose session belongs to `user` (the login form has its own tests)."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["login_at"] = time.time()
    session.create()
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "domain": host,
                "path": "/",
            }
        ]
    )
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    return tab


def rows(tab: Any) -> Any:
    return tab.locator("tr.item-row")


def test_draft_submit_publish_in_the_browser(chromium: Any, live_server: Any, personas: Any) -> None:
    from playwright.sync_api import expect

    make_category("101", "人口")
    elements = make_elements()
    tab = signed_in(chromium, live_server, personas.provider_admin)
    tab.goto("/catalog/resources/new/")
    tab.select_option("#id_category", "101")
    tab.fill("#id_name", "流动人口登记信息")
    tab.fill("#id_summary", "记录流动人口的登记信息。")
    tab.select_option("#id_format_class", "3")
    tab.fill("#id_format_type", "PostgreSQL")
    tab.select_option("#id_share_type", "unconditional")
    tab.select_option("#id_share_method", "12")
    tab.check("input[name=usage_methods][value='2']")
    tab.select_option("#id_update_cycle", "02")
    tab.select_option("#id_security_level", "general-3")

    first = rows(tab).nth(0)
    first.locator("input[name$='-name']").first.fill("登记编号")
    first.locator("select[name$='-data_type']").select_option("C")
    first.locator("input[name$='-length']").fill("C..32")
    first.locator("input[name$='-is_key']").check()

    tab.get_by_role("button", name="添加信息项").click()
    rows(tab).nth(1).wait_for()
    second = rows(tab).nth(1)
    second.locator("input.element-search").press_sequentially("公民身份", delay=30)
    tab.locator(".picker button").first.click()
    second = rows(tab).nth(1)
    expect(second.locator("input[name$='-element']")).to_have_value(elements[0].identifier)
    assert second.locator("input[name$='-element']").input_value() == elements[0].identifier
    assert second.locator("input[name$='-length']").input_value() == "C18"
    assert second.locator("input[name$='-name']").first.input_value() == "公民身份号码"
    second.locator("select[name$='-security_level']").select_option("general-3")

    second.get_by_title("上移").click()
    expect(rows(tab).nth(0).locator("input[name$='-name']").first).to_have_value("公民身份号码")
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "catalog-editor.png"))
    with tab.expect_navigation():
        tab.get_by_role("button", name="保存草稿").click()
    assert "已保存草稿" in tab.content()

    version = ResourceVersion.objects.get()
    assert list(version.items.values_list("name", flat=True)) == ["公民身份号码", "登记编号"]
    assert version.items.first().data_element_id == elements[0].pk

    cdo = signed_in(chromium, live_server, personas.provider_cdo)
    cdo.goto(f"/catalog/resources/{version.resource_id}/")
    with cdo.expect_navigation():
        cdo.get_by_role("button", name="提交审核").click()
    assert "已提交主管部门审核" in cdo.content()

    authority = signed_in(chromium, live_server, personas.authority)
    authority.goto("/catalog/review/")
    authority.get_by_role("link", name="审核", exact=True).first.click()
    authority.fill("#id_comment", "同意发布")
    with authority.expect_navigation():
        authority.get_by_role("button", name="审核通过并发布").click()
    resource = Resource.objects.get()
    assert resource.code == "101/000001"
    authority.goto(f"/catalog/resources/{resource.pk}/")
    assert authority.locator("[data-testid=resource-code]").inner_text() == "101/000001"
