"""Lockout, captcha, account-wide throttle with device cookies, trusted proxies, password policy (第三十三条(二))."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessFailureLog
from django.core import signing
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from tongshu.accounts import login_security
from tongshu.accounts.services import change_password
from tongshu.core.errors import ValidationFailed
from tongshu.security.models import AuditEntry

from .loginkit import LOGIN, actions, captcha_key, fail, login_with_captcha, page, post_login, solved_captcha

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(personas, settings):
    from tongshu import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # the suite hashes with MD5 for speed
    user = personas.consumer_user
    user.set_password("Another-Passw0rd!")
    assert user.password.startswith("argon2$argon2id$")


@pytest.mark.parametrize(
    "new_password, fragment",
    [
        ("Short1A!", "10"),  # too short
        ("alllowercaseletters", "3 类"),  # one character class
        ("Password1234", "常见"),  # a common password
        ("consumer_user1A!", "相似"),  # like the user name
    ],
)
def test_password_policy_refuses_weak_passwords(personas, new_password, fragment):
    user = personas.consumer_user
    with pytest.raises(ValidationFailed) as caught:
        change_password(user, old_password=personas.password, new_password=new_password)
    assert fragment in caught.value.message
    user.refresh_from_db()
    assert user.check_password(personas.password)


def test_successful_login_redirects_and_is_audited(personas):
    client = Client()
    response = post_login(client, "consumer_user", personas.password, next="/messages/")
    assert response.status_code == 302 and response["Location"] == "/messages/"
    assert actions(action__startswith="login.") == ["login.succeeded"]


def test_wrong_password_is_audited_and_shown_in_chinese(personas):
    response = post_login(Client(), "consumer_user", "Wrong-Passw0rd!")
    assert response.status_code == 200
    assert "用户名或密码错误" in page(response)
    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.details == {"username": "consumer_user", "reason": "password"}
    assert entry.client_ip == "10.0.0.1"


def test_login_refuses_an_offsite_next(personas):
    response = post_login(Client(), "consumer_user", personas.password, next="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/"


# --- Lockout ----------------------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_that_address_only(personas):
    client = Client()
    for attempt in range(4):
        assert fail(client, "consumer_user").status_code == 200, attempt
    fifth = fail(client, "consumer_user")
    assert fifth.status_code == 429
    assert "登录失败次数过多" in page(fifth) and 'data-testid="locked"' in page(fifth)
    assert actions(action="login.locked_out") == ["login.locked_out"]
    # Even the right password (and captcha) is refused from that address while the lock lasts…
    again = login_with_captcha(client, "consumer_user", personas.password)
    assert again.status_code == 429 and "_auth_user_id" not in client.session
    assert actions(action="login.locked_out") == ["login.locked_out"] * 2
    # …while its owner, elsewhere, still gets in.
    owner = Client()
    assert login_with_captcha(owner, "consumer_user", personas.password, ip="10.0.0.2").status_code == 302


def test_lockout_ends_after_fifteen_minutes(personas):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(5):
            fail(client, "consumer_user")
        assert login_with_captcha(client, "consumer_user", personas.password).status_code == 429
        traveller.shift(timedelta(minutes=16))
        assert login_with_captcha(client, "consumer_user", personas.password).status_code == 302


def test_forwarded_for_is_ignored_from_untrusted_peers(personas):
    """A client cannot dodge the lockout by inventing X-Forwarded-For addresses."""
    client = Client()
    for n in range(5):
        response = fail(client, "consumer_user", ip="198.51.100.5", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert response.status_code == 429
    assert set(AccessFailureLog.objects.values_list("ip_address", flat=True)) == {"198.51.100.5"}


@override_settings(TRUSTED_PROXIES=["10.9.9.9"])
def test_forwarded_for_is_used_behind_a_trusted_proxy(personas):
    client = Client()
    for _ in range(5):
        response = fail(client, "consumer_user", ip="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 429
    assert set(AccessFailureLog.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    assert AuditEntry.objects.filter(action="login.locked_out", client_ip="203.0.113.7").exists()
    # Another client behind the same proxy is not locked.
    other = Client()
    page_ = other.get(
        LOGIN, {"username": "consumer_user"}, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.8"
    )
    response = post_login(
        other,
        "consumer_user",
        personas.password,
        ip="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
        **solved_captcha(page_),
    )
    assert response.status_code == 302


# --- Captcha ----------------------------------------------------------------------------------------------------


def test_captcha_is_asked_after_three_failures_from_any_address(personas):
    shown_after = [bool(captcha_key(fail(Client(), "consumer_user", ip=f"10.0.1.{n}"))) for n in range(3)]
    assert shown_after == [False, False, True]
    # The login page for that account now shows a locally generated captcha image.
    shown = Client().get(LOGIN, {"username": "consumer_user"})
    key = captcha_key(shown)
    assert key and f"/captcha/image/{key}/" in page(shown)
    assert Client().get(f"/captcha/image/{key}/").status_code == 200
    # A client that never saw the captcha is asked for it; its password is not checked and nothing is counted.
    fresh = Client()
    asked = post_login(fresh, "consumer_user", personas.password, ip="10.0.2.1")
    assert asked.status_code == 200 and captcha_key(asked) and "请同时输入验证码" in page(asked)
    assert "_auth_user_id" not in fresh.session
    assert AccessFailureLog.objects.count() == 3
    assert actions(action="login.captcha_required") == ["login.captcha_required"]


def test_wrong_or_blank_captcha_counts_as_a_failure_and_hides_the_password_check(personas):
    for n in range(3):
        fail(Client(), "consumer_user", ip=f"10.0.1.{n}")
    client = Client()
    shown = client.get(LOGIN, {"username": "consumer_user"})
    wrong = post_login(
        client, "consumer_user", personas.password, captcha_0=captcha_key(shown), captcha_1="zzzz"
    )
    assert wrong.status_code == 200 and "验证码错误" in page(wrong)
    assert "_auth_user_id" not in client.session
    blank = post_login(client, "consumer_user", personas.password, captcha_0=captcha_key(wrong), captcha_1="")
    assert "请输入验证码" in page(blank)
    assert AccessFailureLog.objects.count() == 5
    reasons = [e.details["reason"] for e in AuditEntry.objects.filter(action="login.failed").order_by("id")]
    assert reasons == ["password", "password", "password", "captcha", "captcha"]
    # The right captcha with the right password lets the person in.
    assert post_login(client, "consumer_user", personas.password, **solved_captcha(blank)).status_code == 302


def test_a_captcha_answer_cannot_be_replayed(personas):
    for n in range(3):
        fail(Client(), "consumer_user", ip=f"10.0.1.{n}")
    client = Client()
    answer = solved_captcha(client.get(LOGIN, {"username": "consumer_user"}))
    assert post_login(client, "consumer_user", "Wrong-Passw0rd!", **answer).status_code == 200
    replay = post_login(client, "consumer_user", personas.password, **answer)
    assert "验证码错误" in page(replay) and "_auth_user_id" not in client.session


# --- Account-wide throttle and device cookies ---------------------------------------------------------------------


def test_required_delay_doubles_past_the_threshold_and_is_capped():
    assert [login_security.required_delay(n) for n in (0, 9, 10, 11, 12, 13)] == [0, 0, 2, 4, 8, 16]
    assert login_security.required_delay(40) == 15 * 60


def _spread_failures(username: str, count: int, traveller: Any = None) -> None:
    """Failures from as many addresses, one each, so that no (account, address) pair is ever locked; past the
    throttle threshold the attacker waits out each delay (the clock is moved by `traveller`)."""
    for n in range(count):
        if login_security.required_delay(n):
            traveller.shift(login_security.required_delay(n))
        assert fail(Client(), username, ip=f"172.16.{n // 200}.{n % 200}").status_code == 200


def test_guessing_spread_over_many_addresses_is_slowed_down(personas):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _spread_failures("operator", 10)
        throttled = fail(Client(), "operator", ip="192.0.2.50")
        assert throttled.status_code == 429
        assert "该账号近期登录失败次数过多，请 2 秒后再试" in page(throttled)
        assert 'data-testid="throttled"' in page(throttled)
        assert AccessFailureLog.objects.count() == 10  # the refused attempt was not a guess
        entry = AuditEntry.objects.get(action="login.throttled")
        assert entry.details == {"username": "operator", "wait_seconds": 2}
        traveller.shift(3)
        assert fail(Client(), "operator", ip="192.0.2.51").status_code == 200  # the 11th guess
        traveller.shift(3)
        assert "请 1 秒后再试" in page(fail(Client(), "operator", ip="192.0.2.52"))  # now 4 s after the 11th
        traveller.shift(1)
        assert fail(Client(), "operator", ip="192.0.2.53").status_code == 200
        # Other accounts are untouched.
        assert post_login(Client(), "consumer_user", personas.password, ip="192.0.2.54").status_code == 302


def test_the_throttle_shows_minutes_for_long_waits(personas):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _spread_failures("operator", 10)
        for count in range(10, 16):
            traveller.shift(login_security.required_delay(count))
            assert fail(Client(), "operator", ip=f"192.0.2.{count}").status_code == 200
        # 16 failures: 128 seconds to wait, shown rounded up to minutes.
        assert "请 3 分钟后再试" in page(fail(Client(), "operator", ip="192.0.2.99"))


def test_a_browser_that_signed_in_before_is_not_throttled(personas):
    """The OWASP device-cookie pattern: an attacker cannot lock the administrator out of the account."""
    owner = Client()
    assert post_login(owner, "operator", personas.password, ip="10.1.1.1").status_code == 302
    assert login_security.DEVICE_COOKIE in owner.cookies
    owner.post("/accounts/logout/")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _spread_failures("operator", 14, traveller)
        stranger = Client()
        refused = login_with_captcha(stranger, "operator", personas.password, ip="10.1.1.2")
        assert refused.status_code == 429 and "_auth_user_id" not in stranger.session
        assert login_with_captcha(owner, "operator", personas.password, ip="10.1.1.1").status_code == 302


def test_a_forged_or_foreign_device_cookie_does_not_exempt(personas):
    colleague = Client()
    assert post_login(colleague, "consumer_user", personas.password, ip="10.1.1.3").status_code == 302
    foreign_cookie = colleague.cookies[login_security.DEVICE_COOKIE].value
    forged = signing.dumps({"accounts": ["operator"]}, salt="another-salt")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _spread_failures("operator", 12, traveller)
        for value in (foreign_cookie, forged, "garbage"):
            client = Client()
            client.cookies[login_security.DEVICE_COOKIE] = value
            assert login_with_captcha(client, "operator", personas.password, ip="10.1.1.4").status_code == 429


def test_the_device_cookie_remembers_several_accounts(personas):
    client = Client()
    for username in ("consumer_user", "provider_admin"):
        assert post_login(client, username, personas.password).status_code == 302
        client.post("/accounts/logout/")
    request = RequestFactory().get(LOGIN)
    request.COOKIES[login_security.DEVICE_COOKIE] = client.cookies[login_security.DEVICE_COOKIE].value
    assert login_security.device_accounts(request) == ["provider_admin", "consumer_user"]


def test_failures_age_out_of_the_window(personas):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _spread_failures("consumer_user", 3)
        assert login_security.captcha_required("consumer_user")
        traveller.shift(timedelta(minutes=16))
        assert not login_security.captcha_required("consumer_user")
        assert post_login(Client(), "consumer_user", personas.password).status_code == 302


# --- The page itself ----------------------------------------------------------------------------------------------


def test_the_demo_box_shows_only_in_demo_mode(db):
    with override_settings(DEMO_MODE=True):
        assert 'data-testid="demo-box"' in page(Client().get(LOGIN))
    with override_settings(DEMO_MODE=False):
        body = page(Client().get(LOGIN))
        assert 'data-testid="demo-box"' not in body and "Huarong@2026" not in body


def test_the_login_page_needs_no_outside_resource(personas):
    _spread_failures("consumer_user", 3)
    response = Client().get(LOGIN, {"username": "consumer_user"})
    body = page(response)
    assert "img-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in body and "http://" not in body.replace("http://www.w3.org", "")
    assert 'src="/static/accounts/login.js"' in body and 'data-captcha-refresh="/captcha/refresh/"' in body
    # Without JavaScript, "new picture" reloads the page for the same account.
    assert 'href="/accounts/login/?username=consumer_user"' in body


def test_an_unknown_account_is_counted_like_any_other(db):
    for n in range(3):
        fail(Client(), "nobody", ip=f"10.0.3.{n}")
    assert login_security.captcha_required("nobody")
    assert AuditEntry.objects.filter(action="login.failed", actor__isnull=True).count() == 3
