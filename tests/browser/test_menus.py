"""Each demo role logs in through Chromium and sees exactly its menu (DESIGN §1; menus in tongshu/core/menus.py)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from tongshu.core.menus import MENU
from tongshu.demo import data_plane
from tongshu.demo.organizations import DEMO_ACCOUNTS

from .conftest import screenshot, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The nine demo accounts README.md names, one per role.
DEMO_ROLES = {username: role for username, _name, _org, role in DEMO_ACCOUNTS}
DEMO_NAMES = {username: name for username, name, _org, _role in DEMO_ACCOUNTS}
# DESIGN §1, written out by hand so that a wrong change to MENU's role sets fails here: label → the page's URL name.
# Checked once the page exists (the management pages arrive in their own issues).
MUST_SEE = {
    "operator": {"机构管理": "accounts:organizations", "用户管理": "accounts:users"},
    "security": {"角色分配": "accounts:roles", "应用密钥": "accounts:api_keys"},
    "auditor": {"审计日志": "security:audit_log"},
}
MUST_NOT_SEE = {
    "operator": {"审计日志": "security:audit_log", "角色分配": "accounts:roles"},
    "auditor": {
        "机构管理": "accounts:organizations",
        "用户管理": "accounts:users",
        "角色分配": "accounts:roles",
    },
    "security": {"审计日志": "security:audit_log", "机构管理": "accounts:organizations"},
    "citizen": {"用户管理": "accounts:users", "审计日志": "security:audit_log"},
}


def page_exists(url_name: str) -> bool:
    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


def expected_menu(role: str) -> tuple[set[str], set[str]]:
    """(labels the role must see, labels it must not see), from MENU, counting only pages that exist yet."""
    shown: set[str] = set()
    others: set[str] = set()
    with translation.override("zh-hans"):
        for entry in MENU:
            if not page_exists(entry.url_name):
                continue
            (shown if role in entry.roles else others).add(str(entry.label))
    return shown, others - shown


@pytest.fixture
def demo(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DEMO_MODE = True  # demo accounts skip the forced password change and TOTP set-up
    real = data_plane.load_data_plane  # menus need no records: a small population keeps each run quick
    monkeypatch.setattr(data_plane, "load_data_plane", lambda orgs: real(orgs, people=60, companies=12))
    call_command("load_demo", stdout=StringIO())


@pytest.mark.parametrize("username", list(DEMO_ROLES))
def test_demo_account_logs_in_and_sees_its_menu(
    page: Any, live_server: Any, demo: None, settings: Any, username: str
) -> None:
    page.goto("/accounts/login/")
    assert settings.DEMO_PASSWORD in page.locator("[data-testid=demo-box]").inner_text()
    if username == "operator":
        screenshot(page, "login-demo")
    submit_login(page, username, settings.DEMO_PASSWORD)

    menu = page.locator("[data-testid=menu]")
    menu.wait_for()
    assert page.url == f"{live_server.url}/"  # the home page, not a password-change or TOTP detour
    labels = [text.strip() for text in menu.locator("a").all_inner_texts()]
    screenshot(page, f"menu-{username}")

    shown, hidden = expected_menu(DEMO_ROLES[username])
    assert len(labels) == len(set(labels)), f"duplicate menu entries: {labels}"
    assert set(labels) == shown, f"{username}: menu {labels}, expected {sorted(shown)}"
    assert not set(labels) & hidden
    # Hard-coded, so a change to MENU cannot silently move them: everyone has these two, only the auditor the log.
    assert "首页" in labels and "消息中心" in labels
    assert ("审计日志" in labels) == (username == "auditor")
    for label, url_name in MUST_SEE.get(username, {}).items():
        assert (label in labels) == page_exists(url_name), f"{username} and {label}"
    for label in MUST_NOT_SEE.get(username, {}):
        assert label not in labels, f"{username} must not see {label}"
    # The top bar names the person who signed in.
    assert DEMO_NAMES[username] in page.locator("[data-testid=current-user]").inner_text()
