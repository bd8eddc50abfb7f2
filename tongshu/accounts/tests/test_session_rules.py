"""Forced password change, password expiry, idle timeout and absolute session lifetime, through the test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from tongshu.accounts import services

from .factories import make_user
from .loginkit import actions, page, post_login

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Fresh-Passw0rd-2026"


def _change_password(client: Client, old: str, new: str = NEW_PASSWORD, next_url: str = "/") -> object:
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password": new, "new_password_again": new, "next": next_url},
    )


def test_an_admin_created_account_must_change_its_password_at_first_login(personas, settings):
    from tongshu import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # the real hasher for the real flow
    user, temporary = services.create_user(
        personas.operator, username="newclerk", full_name="新职员", organization=personas.consumer_org
    )
    client = Client()
    response = post_login(client, "newclerk", temporary)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/password/")
    # Every other page sends the person back to the password page, the API refuses with a reason.
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/accounts/password/?next=%2F"
    api = client.get("/api/v1/messages")
    assert api.status_code == 403 and api.json()["code"] == "account_setup_required"
    form = client.get(home["Location"])
    assert "请先设置您自己的密码" in page(form)
    # A weak or mistyped new password is refused beside its field, and nothing changes.
    weak = _change_password(client, temporary, "abcdefghij")
    assert weak.status_code == 200 and "至少包含" in page(weak)
    wrong_old = _change_password(client, "not-the-password")
    assert "原密码不正确" in page(wrong_old)
    user.refresh_from_db()
    assert user.must_change_password and user.check_password(temporary)
    done = _change_password(client, temporary)
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert not user.must_change_password and user.password.startswith("argon2")
    assert actions(actor=user) == [
        "login.succeeded",
        "password.change_failed",
        "password.changed",
    ]


def test_an_expired_password_must_be_changed(personas):
    user = personas.consumer_user
    with time_machine.travel(timezone.now() + timedelta(days=89)):
        client = Client()
        assert post_login(client, "consumer_user", personas.password).status_code == 302
        assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        client = Client()
        response = post_login(client, "consumer_user", personas.password)
        assert response["Location"].startswith("/accounts/password/")
        assert "您的密码已过期" in page(client.get(response["Location"]))
        assert _change_password(client, personas.password).status_code == 302
        assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@override_settings(PASSWORD_EXPIRY_DAYS=30)
def test_password_expiry_is_configurable(personas):
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        client = Client()
        assert post_login(client, "consumer_user", personas.password)["Location"].startswith(
            "/accounts/password/"
        )


@override_settings(PASSWORD_EXPIRY_DAYS=0)
def test_password_expiry_can_be_turned_off(personas):
    with time_machine.travel(timezone.now() + timedelta(days=900)):
        client = Client()
        assert post_login(client, "consumer_user", personas.password)["Location"] == "/"


def test_a_session_ends_after_thirty_idle_minutes(personas):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert post_login(client, "consumer_user", personas.password).status_code == 302
        traveller.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get("/")
        assert response.status_code == 302 and response["Location"] == "/accounts/login/?expired=idle"
        assert "会话已超时" in page(client.get(response["Location"]))
        assert client.get("/").status_code == 302  # logged out for good


def test_an_idle_api_or_htmx_request_gets_401_json(personas):
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        client = Client()
        with time_machine.travel(timezone.now(), tick=False) as traveller:
            post_login(client, "consumer_user", personas.password)
            traveller.shift(timedelta(minutes=31))
            response = client.get("/api/v1/messages" if not headers else "/messages/", **headers)
        assert response.status_code == 401
        assert response.json()["code"] == "session_expired" and "超时" in response.json()["message"]
        if headers:
            assert response["HX-Redirect"] == "/accounts/login/?expired=idle"


@override_settings(SESSION_IDLE_MINUTES=5)
def test_the_idle_timeout_is_configurable(personas):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, "consumer_user", personas.password)
        traveller.shift(timedelta(minutes=6))
        assert client.get("/")["Location"] == "/accounts/login/?expired=idle"


def test_a_busy_session_still_ends_at_its_absolute_lifetime(personas):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, "consumer_user", personas.password)
        for _ in range(12 * 3 - 1):  # a request every 20 minutes for 11 h 40 min
            traveller.shift(timedelta(minutes=20))
            assert client.get("/").status_code == 200
        traveller.shift(timedelta(minutes=21))
        response = client.get("/")
        assert response["Location"] == "/accounts/login/?expired=lifetime"
        assert "会话已达到最长有效期" in page(client.get(response["Location"]))
    entry_reasons = [details["reason"] for details in _audit_details("logout", personas.consumer_user)]
    assert entry_reasons == ["lifetime"]


def test_logout_is_audited_and_ends_the_session(personas):
    client = Client()
    post_login(client, "consumer_user", personas.password)
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert "您已安全退出" in page(client.get("/accounts/login/"))
    assert client.get("/").status_code == 302
    assert [d["reason"] for d in _audit_details("logout", personas.consumer_user)] == ["user"]
    assert client.get("/accounts/logout/").status_code == 405


def test_an_idle_logout_is_audited_with_its_reason(personas):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, "consumer_user", personas.password)
        traveller.shift(timedelta(minutes=31))
        client.get("/")
    assert [d["reason"] for d in _audit_details("logout", personas.consumer_user)] == ["idle"]


def test_an_inactive_account_cannot_log_in(personas):
    user = make_user("gone", organization=personas.consumer_org, is_active=False)
    response = post_login(Client(), user.username, personas.password)
    assert response.status_code == 200 and "用户名或密码错误" in page(response)


def _audit_details(action: str, user: object) -> list[dict]:
    from tongshu.security.models import AuditEntry

    return list(
        AuditEntry.objects.filter(action=action, actor=user).order_by("id").values_list("details", flat=True)
    )
