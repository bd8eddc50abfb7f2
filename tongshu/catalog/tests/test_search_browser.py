"""The search page in a real browser: htmx updates the results in place, and the URL follows every step."""

from __future__ import annotations

import re

import pytest

from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import PASSWORD, make_organization, make_user

from .search_helpers import publish

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_search_filter_and_remove_a_chip(live_server):
    from playwright.sync_api import expect, sync_playwright

    police = make_organization("华容县公安局")
    civil = make_organization("华容县民政局")
    make_user("browser_user", Role.DEPT_USER, organization=civil)
    publish(police, "华容县户籍人口基本信息", share_type="conditional")
    publish(police, "流动人口登记信息", share_type="unconditional")
    publish(civil, "城乡低保对象名册", share_type="conditional")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "browser_user")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/catalog/search/")
        expect(page.get_by_test_id("result-count")).to_contain_text("3")

        page.fill("[data-testid=search-input]", "人口")
        page.press("[data-testid=search-input]", "Enter")
        expect(page.get_by_test_id("result-count")).to_contain_text("2")
        expect(page.locator(".result-name mark").first).to_have_text("人口")
        expect(page).to_have_url(re.compile(r"q=%E4%BA%BA%E5%8F%A3"))  # 人口

        page.click("[data-facet=share_type] a:has-text('有条件共享')")
        expect(page.get_by_test_id("result-count")).to_contain_text("1")
        expect(page.get_by_test_id("results")).to_contain_text("华容县户籍人口基本信息")
        expect(page).to_have_url(re.compile(r"share_type=conditional"))

        page.click("[data-testid=active-filters] a:has-text('共享类型')")
        expect(page.get_by_test_id("result-count")).to_contain_text("2")
        expect(page).not_to_have_url(re.compile(r"share_type"))
        browser.close()
