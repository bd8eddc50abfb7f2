"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Never `playwright install`: the browser is the system's `/usr/bin/chromium` (`apt-get install chromium
fonts-noto-cjk`; `.ci/run` installs both). Screenshots go to `test-artifacts/` at 1366×768.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TONGSHU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it; a missing browser there is a failure, not a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, so Django would refuse the ORM calls the
    # tests (and the transactional flush after each test) make here. The live server's own thread is unaffected.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server, at the 1366×768 the pages are designed for."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def captcha_test_mode(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """django-simple-captcha accepts the answer "PASSED" in test mode. It reads the flag into its own settings
    module at import, so patch that too."""
    from captcha.conf import settings as captcha_settings

    settings.CAPTCHA_TEST_MODE = True
    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", True)


@pytest.fixture
def data_store(tmp_path: Any, settings: Any) -> Iterator[None]:
    """A data plane of the test's own (a SQLite file, unless the run is on PostgreSQL) and var directory; tasks run at
    once, so the live server applies a batch in its own thread as soon as it is submitted or its mapping confirmed."""
    from tongshu.dataplane import store

    if settings.DATA_URL.startswith("sqlite"):
        settings.DATA_URL = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    settings.VAR_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    yield
    store.dispose_engines()


def screenshot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path))
    return path


def submit_login(tab: Any, username: str, password: str) -> None:
    """Fill and send the login form on the current page, answering the captcha when the form asks for one."""
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", password)
    captcha = tab.locator("input[name=captcha_1]")
    if captcha.count():
        captcha.fill("PASSED")
    with tab.expect_navigation():
        tab.click("form button[type=submit]")
