from __future__ import annotations

import pytest

from tongshu.core.services import notify

pytestmark = pytest.mark.django_db


def test_healthz_reports_both_databases_and_processes(anonymous):
    body = anonymous.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok" and body["data_store"]["status"] == "ok"
    assert body["worker"]["status"] in {"not_seen", "ok", "stale"}


def test_home_requires_login(anonymous):
    response = anonymous.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_message_centre_shows_only_own_messages(personas, client_for):
    [message] = notify([personas.provider_admin], "请审核共享申请", kind="todo")
    other = client_for(personas.outsider)
    assert other.get(f"/messages/{message.pk}/").status_code == 404
    mine = client_for(personas.provider_admin)
    page = mine.get("/messages/?show=todo").content.decode()
    assert "请审核共享申请" in page
    assert mine.get(f"/messages/{message.pk}/").status_code == 302
    message.refresh_from_db()
    assert message.read_at is not None
    assert other.get("/api/v1/messages").json() == []
