"""The upload step in the browser: the Chinese file picker shows the chosen file, a progress bar follows the bytes
sent (the network is throttled through the DevTools protocol so the transfer takes a few seconds), then the mapping
step; a file above its format's limit is refused before sending; the load shows its progress while running."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tongshu.dataplane import services
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.tests.formats import GOOD, csv_bytes, population_resource

from .conftest import screenshot, submit_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("data_store"),
]


def _big_csv(rows: int) -> bytes:
    """A valid CSV of `rows` records (the ID checksum is not what this test is about: a few bad rows are fine)."""
    lines = [*GOOD] + [[f"43062319900101{i % 10000:04d}", "王五", "1990-01-01"] for i in range(rows)]
    return csv_bytes(lines)


def test_upload_shows_the_chosen_file_and_a_progress_bar(page: Any, personas: Any) -> None:
    resource = population_resource(personas.provider_org)
    page.goto("/accounts/login/")
    submit_login(page, personas.provider_admin.username, personas.password)
    page.goto(f"/data/resources/{resource.pk}/upload/")

    picker = page.locator("[data-file-picker]")
    assert "选择文件" in picker.inner_text() and "未选择文件" in picker.inner_text()
    # The native "Choose File / No file chosen" is hidden behind ours (still focusable, for the keyboard).
    assert page.eval_on_selector("input[name=file]", "e => getComputedStyle(e).opacity") == "0"
    screenshot(page, "upload-01-picker")

    data = _big_csv(60_000)  # about 1.8 MB
    page.set_input_files(
        "input[name=file]", files=[{"name": "人口.csv", "mimeType": "text/csv", "buffer": data}]
    )
    assert "人口.csv" in page.locator("[data-testid=file-name]").inner_text()

    # Throttle the upload to ~400 KB/s so the bar has time to move.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400 * 1024},
    )
    page.evaluate(
        """() => { window.progressSeen = [];
        const bar = document.querySelector("[data-testid=upload-progress] progress");
        new MutationObserver(() => window.progressSeen.push(bar.value))
          .observe(bar, {attributes: true, attributeFilter: ["value"]}); }"""
    )
    with page.expect_navigation(url="**/data/batches/*/mapping/", timeout=60_000):
        page.click("[data-testid=upload-form] button[type=submit]")
        progress = page.locator("[data-testid=upload-progress]")
        progress.wait_for(state="visible")
        page.wait_for_function("() => window.progressSeen.some(v => v > 0 && v < 100)", timeout=30_000)
        assert "正在上传" in progress.inner_text()
        assert page.locator("[data-testid=upload-form] button[type=submit]").is_disabled()
        screenshot(page, "upload-02-progress")
    assert page.locator("[data-testid=mapping-form]").is_visible()
    assert Batch.objects.get().file_size == len(data)


def test_a_file_above_the_limit_is_refused_before_sending(page: Any, personas: Any, settings: Any) -> None:
    settings.DATAPLANE_UPLOAD_LIMITS_MB = {**settings.DATAPLANE_UPLOAD_LIMITS_MB, "xlsx": 1}
    resource = population_resource(personas.provider_org)
    page.goto("/accounts/login/")
    submit_login(page, personas.provider_admin.username, personas.password)
    page.goto(f"/data/resources/{resource.pk}/upload/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "大表.xlsx", "mimeType": "application/octet-stream", "buffer": b"0" * (2 << 20)}],
    )
    check = page.locator("[data-testid=file-check]")
    assert "最大 1 MB" in check.inner_text()
    page.click("[data-testid=upload-form] button[type=submit]")
    assert check.is_visible() and not Batch.objects.exists()
    # A refused file comes back beside the field without leaving the page (htmx swaps the form).
    page.set_input_files("input[name=file]", files=[{"name": "a.csv", "mimeType": "text/csv", "buffer": b""}])
    page.click("[data-testid=upload-form] button[type=submit]")
    page.locator("[data-testid=field-error]").wait_for()
    assert page.url.endswith(f"/data/resources/{resource.pk}/upload/")
    screenshot(page, "upload-03-refused")


def test_loading_shows_rows_read_and_percent(page: Any, personas: Any) -> None:
    resource = population_resource(personas.provider_org)
    batch = services.submit_file(
        personas.provider_admin,
        resource,
        io.BytesIO(_big_csv(5_000)),
        file_name="人口.csv",
    )
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, rows_read=2_500)
    page.goto("/accounts/login/")
    submit_login(page, personas.provider_admin.username, personas.password)
    page.goto(f"/data/batches/{batch.pk}/")
    bar = page.locator("[data-testid=progress]")
    assert 40 <= int(bar.get_attribute("value") or 0) <= 60
    assert "已读取 2500 行" in page.locator("[data-testid=progress-text]").inner_text()
    screenshot(page, "upload-04-loading")
