"""The demo's data pages in the browser at 1366×768: 县公安局's CDO browses the population resource (masked), filters,
reveals one record with a reason; the base libraries and a library's lineage."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tongshu.dataplane.models import Library
from tongshu.security.models import AuditEntry

from .conftest import screenshot, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings: Any) -> None:
    settings.DEMO_MODE = True
    call_command("load_demo", stdout=StringIO())


def test_browse_reveal_and_lineage(page: Any, demo: None, settings: Any) -> None:
    population = Library.objects.get(theme="population")
    source = population.mappings.get().source
    page.goto("/accounts/login/")
    submit_login(page, "cdo", settings.DEMO_PASSWORD)

    page.goto(f"/data/browse/{source.pk}/")
    table = page.locator("[data-testid=browse-table]")
    table.wait_for()
    assert page.locator("[data-testid=browse-total]").inner_text() == "2000"
    first_id = table.locator("tbody tr").first.locator("td").first.inner_text()
    assert first_id.startswith("430") and "********" in first_id
    screenshot(page, "data-browse")

    page.fill("#f-township", "章华")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    total = int(page.locator("[data-testid=browse-total]").inner_text())
    assert 0 < total < 2000

    row = table.locator("tbody tr").first
    row.locator("details summary").click()
    row.locator("input[name=reason]").fill("核实户籍信息")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    record = page.locator("[data-testid=revealed-record]")
    record.wait_for()
    assert "********" not in record.inner_text()
    assert AuditEntry.objects.filter(
        action="dataplane.data_revealed", details__reason="核实户籍信息"
    ).exists()
    assert page.locator("[data-testid=data-tabs] [data-tab=browse]").get_attribute("aria-current") == "page"
    screenshot(page, "data-reveal")

    page.goto("/data/browse/libraries/")
    page.locator("[data-testid=libraries]").wait_for()
    screenshot(page, "data-libraries")
    page.goto(f"/data/browse/libraries/{population.resource_id}/")
    page.locator("[data-testid=lineage]").wait_for()
    assert "户籍人口基本信息" in page.locator("[data-testid=lineage]").inner_text()
    # The population library is the data centre's: 县公安局's CDO may open none of its data tabs, so no tab bar.
    assert not page.locator("[data-testid=data-tabs]").count()
    screenshot(page, "data-library-lineage")
    legal = Library.objects.get(theme="legal_entity")
    page.goto(f"/data/browse/libraries/{legal.resource_id}/")
    screenshot(page, "data-library-legal-entities")
