"""`/api/v1` authentication (tongshu/api.py): who is calling decides the answer before CSRF does.

Anonymous calls get 401 whatever the method (docs/api.md); a signed-in browser's unsafe call still needs the CSRF token
(403 `csrf_failed` without it); an application key needs none."""

from __future__ import annotations

import pytest
from django.test import Client

from tongshu.core.models import Message

pytestmark = pytest.mark.django_db


def test_anonymous_unsafe_call_is_401_not_a_csrf_refusal():
    client = Client(enforce_csrf_checks=True)
    for response in (
        client.post("/api/v1/messages/1/read"),
        client.post("/api/v1/accounts/api-keys", "{}", content_type="application/json"),
        client.get("/api/v1/messages"),
    ):
        assert response.status_code == 401
        assert response.json() == {"code": "unauthenticated", "message": "未登录或未提供有效的应用密钥"}


def test_signed_in_browser_still_needs_the_csrf_token(personas, settings):
    message = Message.objects.create(recipient=personas.provider_admin, title="通知")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.provider_admin)
    assert browser.get("/api/v1/messages").status_code == 200  # safe methods need no token
    refused = browser.post(f"/api/v1/messages/{message.pk}/read")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    message.refresh_from_db()
    assert message.read_at is None
    secret = "b" * 32
    browser.cookies[settings.CSRF_COOKIE_NAME] = secret
    accepted = browser.post(f"/api/v1/messages/{message.pk}/read", HTTP_X_CSRFTOKEN=secret)
    assert accepted.status_code == 200 and accepted.json()["read_at"]


def test_a_rejected_application_key_is_401_whatever_the_method():
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/messages/1/read", HTTP_AUTHORIZATION="Bearer ts_nope_nope"
    )
    assert response.status_code == 401 and response.json()["code"] != "csrf_failed"
