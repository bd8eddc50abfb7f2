"""TOTP second factor: required for the three administrator roles, optional for others, skipped by demo accounts in
demo mode only (第三十三条(二))."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongshu.accounts import otp
from tongshu.accounts.roles import Role

from .factories import make_user
from .loginkit import actions, current_code, page, post_login

pytestmark = pytest.mark.django_db

SETUP = "/accounts/totp/"
VERIFY = "/accounts/totp/verify/"


def _start_of_step() -> datetime:
    """Now, moved back to one second into the current 30-second TOTP step, so a test's few seconds stay in it."""
    now = timezone.now()
    return now - timedelta(seconds=now.timestamp() % 30 - 1)


def _wrong(device: TOTPDevice) -> str:
    return "000000" if current_code(device) != "000000" else "111111"


def test_an_administrator_must_enrol_before_using_the_platform(personas):
    user = personas.operator
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        response = post_login(client, "operator", personas.password)
        assert response["Location"] == SETUP
        home = client.get("/")
        assert home.status_code == 302 and home["Location"] == f"{SETUP}?next=%2F"
        assert client.get("/api/v1/messages").status_code == 403
        setup = client.get(home["Location"])
        body = page(setup)
        device = TOTPDevice.objects.get(user=user)
        assert not device.confirmed
        assert "<svg" in body and 'data-testid="totp-qr"' in body and "您的角色必须使用双因素认证" in body
        assert otp.secret_base32(device) in body
        assert page(client.get(SETUP)).count(otp.secret_base32(device)) == 1  # a reload keeps the same key

        wrong = client.post(SETUP, {"token": _wrong(device), "next": "/"})
        assert wrong.status_code == 200 and "验证码错误" in page(wrong)
        device.refresh_from_db()
        assert not device.confirmed
        traveller.shift(2)  # django-otp makes the next try wait 1 s after a failure
        done = client.post(SETUP, {"token": current_code(device), "next": "/"})
        assert done.status_code == 302 and done["Location"] == "/"
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/").status_code == 200
    assert actions(actor=user) == ["login.succeeded", "totp.enrol_failed", "totp.enrolled"]


def test_an_enrolled_person_gives_a_code_at_every_login(personas):
    user = personas.operator
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    with time_machine.travel(_start_of_step(), tick=False) as traveller:
        response = post_login(client, "operator", personas.password, next="/messages/")
        assert response["Location"] == f"{VERIFY}?next=%2Fmessages%2F"
        # Until the code is given, the password alone opens nothing: not the platform, not the enrolment of
        # another device, not a password change.
        assert client.get("/")["Location"].startswith(VERIFY)
        assert client.get(SETUP)["Location"].startswith(VERIFY)
        assert client.get("/accounts/password/")["Location"].startswith(VERIFY)
        assert TOTPDevice.objects.filter(user=user).count() == 1

        wrong = client.post(VERIFY, {"token": _wrong(device), "next": "/messages/"})
        assert wrong.status_code == 200 and "验证码错误" in page(wrong)
        too_soon = client.post(VERIFY, {"token": current_code(device), "next": "/messages/"})
        assert "验证码错误次数过多" in page(too_soon)
        traveller.shift(3)
        right = client.post(VERIFY, {"token": current_code(device), "next": "/messages/"})
        assert right.status_code == 302 and right["Location"] == "/messages/"
        assert client.get("/messages/").status_code == 200
        # A used code cannot be replayed in a new session.
        replay = Client()
        post_login(replay, "operator", personas.password, ip="10.0.0.9")
        traveller.shift(2)
        assert replay.post(VERIFY, {"token": current_code(device)}).status_code == 200
    assert actions(actor=user, action__startswith="login.") == [
        "login.succeeded",
        "login.second_factor_failed",
        "login.second_factor_failed",
        "login.second_factor",
        "login.succeeded",
        "login.second_factor_failed",
    ]


def test_other_roles_may_turn_the_second_factor_on_and_off(personas):
    user = personas.consumer_user
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert post_login(client, "consumer_user", personas.password)["Location"] == "/"
        assert 'href="/accounts/totp/"' in page(client.get("/accounts/password/"))
        setup = client.get(SETUP)
        assert "<svg" in page(setup) and "您的角色必须使用双因素认证" not in page(setup)
        device = TOTPDevice.objects.get(user=user)
        assert client.post(SETUP, {"token": current_code(device)}).status_code == 302
        status = page(client.get(SETUP))
        assert "双因素认证已启用" in status and 'data-testid="totp-disable"' in status
        traveller.shift(31)
        refused = client.post("/accounts/totp/disable/", {"token": _wrong(device)})
        assert refused.status_code == 400 and TOTPDevice.objects.filter(user=user).exists()
        traveller.shift(2)
        assert client.post("/accounts/totp/disable/", {"token": current_code(device)}).status_code == 302
        assert not TOTPDevice.objects.filter(user=user).exists()
        assert client.get("/").status_code == 200
    assert actions(actor=user, action__startswith="totp.") == [
        "totp.enrolled",
        "totp.disable_failed",
        "totp.disabled",
    ]


def test_an_administrator_cannot_turn_the_second_factor_off(personas, client_for):
    client = client_for(personas.security_admin)
    device = TOTPDevice.objects.get(user=personas.security_admin)
    status = page(client.get(SETUP))
    assert "不能停用" in status and 'data-testid="totp-disable"' not in status
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        assert client.post("/accounts/totp/disable/", {"token": current_code(device)}).status_code == 400
    assert TOTPDevice.objects.filter(user=personas.security_admin, confirmed=True).exists()


def _demo_operator(organization):
    return make_user(
        "demo_operator",
        Role.OPERATOR_ADMIN,
        organization=organization,
        is_demo=True,
        must_change_password=True,
    )


@override_settings(DEMO_MODE=True)
def test_a_demo_account_in_demo_mode_skips_the_forced_change_and_the_second_factor(personas):
    _demo_operator(personas.operator_org)
    client = Client()
    assert post_login(client, "demo_operator", personas.password)["Location"] == "/"
    assert client.get("/").status_code == 200
    # The exemption is for demo accounts only: an ordinary administrator in demo mode still enrols.
    other = Client()
    assert post_login(other, "operator", personas.password)["Location"] == SETUP


@override_settings(DEMO_MODE=False)
def test_the_same_demo_account_outside_demo_mode_gets_no_exemption(personas):
    user = _demo_operator(personas.operator_org)
    client = Client()
    with time_machine.travel(timezone.now(), tick=False):
        assert post_login(client, "demo_operator", personas.password)["Location"] == "/accounts/password/"
        new = "Fresh-Passw0rd-2026"
        changed = client.post(
            "/accounts/password/",
            {"old_password": personas.password, "new_password": new, "new_password_again": new},
        )
        assert changed["Location"] == SETUP
        assert client.get("/")["Location"].startswith(SETUP)
    user.refresh_from_db()
    assert not user.must_change_password


def test_only_the_security_administrator_resets_a_lost_second_factor(personas):
    from tongshu.core.errors import PermissionDenied

    user = personas.auditor
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    for actor in (personas.operator, personas.auditor, personas.consumer_user):
        with pytest.raises(PermissionDenied):
            otp.reset(actor, user)
    assert TOTPDevice.objects.filter(user=user).exists()
    assert otp.reset(personas.security_admin, user) == 1
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert actions(action="totp.reset", actor=personas.security_admin) == ["totp.reset"]
    client = Client()
    assert post_login(client, "auditor", personas.password)["Location"] == SETUP
