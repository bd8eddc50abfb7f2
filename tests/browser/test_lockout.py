"""Login security in the browser (第三十三条): five wrong passwords lock the account on this address, after which
even the right password is refused with the Chinese lockout message."""

from __future__ import annotations

from typing import Any

import pytest

from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import PASSWORD, make_organization, make_user

from .conftest import screenshot, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCKED = "登录失败次数过多"


def test_five_wrong_passwords_lock_the_account(
    page: Any, live_server: Any, settings: Any, captcha_test_mode: None
) -> None:
    make_user("zhangsan", Role.DATA_ADMIN, organization=make_organization("华容县水利局"))
    failures = settings.AXES_FAILURE_LIMIT
    assert failures == 5

    page.goto("/accounts/login/")
    screenshot(page, "login")
    for attempt in range(1, failures + 1):
        # Each try submits the form the previous answer rendered, so a captcha asked for after a few failures is
        # answered (captcha test mode accepts "PASSED").
        submit_login(page, "zhangsan", f"wrong-password-{attempt}")
        assert "/accounts/login/" in page.url
        assert page.locator("[data-testid=menu]").count() == 0
        if attempt < failures:
            assert page.locator(".flash-error, .errorlist").count(), f"no error shown after attempt {attempt}"
            assert LOCKED not in page.content(), f"locked too early, after attempt {attempt}"

    submit_login(page, "zhangsan", PASSWORD)
    screenshot(page, "lockout")
    assert LOCKED in page.locator("[data-testid=locked]").inner_text()
    assert page.locator("[data-testid=menu]").count() == 0
    # Still not signed in: the home page sends the browser back to the login page.
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_the_right_password_before_the_limit_signs_in(
    page: Any, live_server: Any, settings: Any, captcha_test_mode: None
) -> None:
    """The control case: fewer failures than the limit do not lock the owner out."""
    make_user("lisi", Role.DEPT_USER, organization=make_organization("华容县民政局"))
    page.goto("/accounts/login/")
    for attempt in range(1, settings.AXES_FAILURE_LIMIT - 1):
        submit_login(page, "lisi", f"wrong-password-{attempt}")
    submit_login(page, "lisi", PASSWORD)
    page.locator("[data-testid=menu]").wait_for()
    assert page.url == f"{live_server.url}/"
