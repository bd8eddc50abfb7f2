"""The quality pages in Chromium at 1366×768: charts drawn from the json_script data (no inline script), the overdue
badge, the rule form; screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tongshu.catalog.tests.factories import make_resource
from tongshu.quality import services
from tongshu.quality.scoring import compute_score
from tongshu.quality.tests.factories import IDS, load, make_population, population_csv

from .conftest import screenshot

# Its own data plane; scores computed at once after each batch (tasks run at once).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("data_store"),
]


ROWS = [
    (IDS[0], "张三", "2", "1949-12-31"),
    (IDS[1], "李四", "1", "1990-01-01"),
    (IDS[2], "王五", "2", "1985-07-15"),
    (IDS[3], "李四", "1", "1990-01-01"),
    (IDS[4], "", "1", "1970-01-01"),
]


def _history(personas):
    """Thirty days of loads and nightly scores for a few resources of three departments."""
    start = timezone.now() - timedelta(days=30)
    with time_machine.travel(start, tick=False):
        population = make_population(personas.provider_org, update_cycle="03")
        services.create_rule(personas.provider_admin, population, kind="id_sex", items=["f001", "f003"])
        households = make_population(personas.provider_org, update_cycle="02", name="流动人口登记信息")
        relief = make_resource(personas.consumer_org, name="最低生活保障对象名单", update_cycle="04")
        make_resource(personas.outsider_org, name="水利工程基本信息", update_cycle="07")
    for day in range(0, 31, 3):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            if day <= 12:
                load(personas.provider_admin, population, population_csv(ROWS[: 2 + day // 4]))
            load(personas.provider_admin, households, population_csv(ROWS[day % 3 : day % 3 + 2]))
            for resource in (population, households, relief):
                compute_score(resource)
    return population


def _sign_in(tab, client_for, user, base):
    from django.conf import settings

    client = client_for(user)
    name = settings.SESSION_COOKIE_NAME
    tab.context.clear_cookies()
    tab.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": base}])


def test_quality_pages_in_the_browser(personas, client_for, page, live_server):
    population = _history(personas)
    _sign_in(page, client_for, personas.operator, live_server.url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/quality/platform/")
    page.wait_for_selector("[data-chart=departments] svg")
    # The population is late; 最低生活保障对象名单 and 水利工程基本信息 were never loaded: not current either.
    assert page.locator("[data-testid=platform-overdue]").inner_text() == "3"
    screenshot(page, "quality-platform")
    page.goto("/quality/department/")
    page.wait_for_selector("[data-chart=trend] svg")
    assert page.locator("[data-testid=overdue-badge]").count() == 1
    screenshot(page, "quality-department")
    _sign_in(page, client_for, personas.provider_admin, live_server.url)
    page.goto(f"/quality/resources/{population.pk}/")
    page.wait_for_selector("[data-chart=history] svg")
    screenshot(page, "quality-resource")
    page.click("text=新增规则")
    page.select_option("select[name=kind]", "range")
    page.select_option("select[name=first_item]", "f004")
    page.fill("input[name=minimum]", "1900-01-01")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("text=规则已新增")
    assert errors == []
