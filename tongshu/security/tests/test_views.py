"""The auditor's page, API and command; every other persona is refused (三员分立)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tongshu.accounts.services import create_api_key
from tongshu.core.models import Message
from tongshu.security.audit import record
from tongshu.security.chain import seal_pending
from tongshu.security.models import AuditEntry, AuditVerification

from .factories import sealed_log, sql

pytestmark = pytest.mark.django_db

NOT_AUDITORS = [
    "operator",
    "security_admin",
    "authority",
    "provider_cdo",
    "provider_admin",
    "consumer_cdo",
    "consumer_user",
    "outsider",
    "inspector",
    "citizen",
]
PAGES = [
    ("get", "/security/audit/"),
    ("get", "/security/audit/{entry}/"),
    ("post", "/security/audit/verify/"),
]
ENDPOINTS = ["/api/v1/security/audit", "/api/v1/security/audit/verify"]


@pytest.fixture
def entry(personas):
    return record("organization.created", actor=personas.operator, target=personas.provider_org)


def test_only_the_auditor_may_read_or_verify_the_log(personas, client_for, entry):
    for persona in NOT_AUDITORS:
        client = client_for(getattr(personas, persona))
        for method, url in PAGES:
            response = getattr(client, method)(url.format(entry=entry.pk))
            assert response.status_code == 403, (persona, url)
            assert "只有审计管理员" in response.content.decode()
        for url in ENDPOINTS:
            response = client.get(url)
            assert response.status_code == 403, (persona, url)
            assert response.json() == {"code": "forbidden", "message": "只有审计管理员可以查看和校验审计日志"}
    assert not AuditVerification.objects.exists()
    assert not AuditEntry.objects.filter(action="audit.verified").exists()


def test_anonymous_is_sent_to_login_and_refused_by_the_api(anonymous, entry):
    for method, url in PAGES:
        response = getattr(anonymous, method)(url.format(entry=entry.pk))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for url in ENDPOINTS:
        response = anonymous.get(url)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_an_application_key_cannot_read_the_log(personas, anonymous):
    _, token = create_api_key(personas.provider_admin, name="业务系统", organization=personas.provider_org)
    for url in ENDPOINTS:
        response = anonymous.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 403 and response.json()["code"] == "user_required"


def test_auditor_browses_the_log_with_filters_and_chain_status(personas, client_for):
    day = timezone.now() - timedelta(days=3)
    with time_machine.travel(day, tick=False):
        record(
            "role.granted",
            actor=personas.security_admin,
            target=personas.provider_admin,
            details={"role": "cdo"},
        )
    record("organization.created", actor=personas.operator, target=personas.provider_org)
    record("login.failed", actor_name="nobody", details={"username": "nobody"})
    client = client_for(personas.auditor)
    page = client.get("/security/audit/").content.decode()
    for text in (
        "审计日志",
        "链状态",
        "尚未校验",
        "最新签名检查点",
        "role.granted",
        "login.failed",
        "立即校验链",
    ):
        assert text in page, text
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()  # the page sealed what was pending

    def shown(query):
        html = client.get(f"/security/audit/?{query}").content.decode()
        return {
            action for action in ("role.granted", "organization.created", "login.failed") if action in html
        }

    assert shown("action=login.") == {"login.failed"}
    assert shown("actor=operator") == {"organization.created"}
    assert shown(f"organization={personas.operator_org.pk}") == {"role.granted", "organization.created"}
    assert shown("object=华容县公安局") == {"organization.created"}
    today = timezone.localdate()
    assert shown(f"date_from={today - timedelta(days=4)}&date_to={today - timedelta(days=2)}") == {
        "role.granted"
    }
    bad = client.get(
        f"/security/audit/?date_from={today}&date_to={today - timedelta(days=1)}"
    ).content.decode()
    assert "截止日期早于起始日期" in bad
    fragment = client.get("/security/audit/?action=login.", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="audit-entries"' in fragment and "<html" not in fragment


def test_the_log_pages_by_fifty_with_a_fixed_number_of_queries(
    personas, client_for, django_assert_max_num_queries
):
    for i in range(120):
        record("test.event", actor_name=f"user{i}")
    client = client_for(personas.auditor)
    client.get("/security/audit/")
    with django_assert_max_num_queries(17):  # baseline: session, menu, chain status, filter form, one page
        page = client.get("/security/audit/?page=2").content.decode()
    assert "2 / 3" in page


def test_auditor_sees_one_entry_with_its_hashes(personas, client_for, entry):
    seal_pending()
    entry = AuditEntry.objects.get(pk=entry.pk)
    page = client_for(personas.auditor).get(f"/security/audit/{entry.pk}/").content.decode()
    assert entry.entry_hash in page and entry.prev_hash in page and "SHA256" in page
    assert client_for(personas.auditor).get("/security/audit/999999/").status_code == 404


def test_auditor_verifies_from_the_page_and_the_check_is_audited(personas, client_for):
    client = client_for(personas.auditor)  # signing in is itself audited
    sealed_log(4)
    response = client.post("/security/audit/verify/", follow=True)
    html = response.content.decode()
    assert "完整" in html and "已校验" in html
    verification = AuditVerification.objects.get()
    assert verification.is_intact and verification.requested_by == "auditor" and verification.checked == 5
    assert AuditEntry.objects.filter(action="audit.verified", actor_name="auditor").exists()


def test_a_broken_chain_shows_on_the_page_and_alerts_every_auditor(personas, client_for):
    ids = sealed_log(6)
    sql("UPDATE {table} SET details = '{}' WHERE id = %s", [ids[3]])
    client = client_for(personas.auditor)
    html = client.post("/security/audit/verify/", follow=True).content.decode()
    assert "已被破坏" in html and "第 3 号记录" in html
    assert "第 3 号被破坏" in client.get("/security/audit/").content.decode()
    assert Message.objects.filter(recipient=personas.auditor, topic="security.audit_chain_broken").exists()
    assert not Message.objects.filter(topic="security.audit_chain_broken").exclude(recipient=personas.auditor)


def test_api_lists_with_filters_and_verifies(personas, client_for):
    client = client_for(personas.auditor)  # signing in is itself audited: entry 1
    record("organization.created", actor=personas.operator, target=personas.provider_org)
    record("login.failed", actor_name="nobody")
    body = client.get("/api/v1/security/audit?action=login.f").json()
    assert [item["action"] for item in body] == ["login.failed"]
    assert body[0]["seq"] == 3 and len(body[0]["entry_hash"]) == 64
    body = client.get(f"/api/v1/security/audit?organization={personas.operator_org.pk}&limit=1").json()
    assert [item["action"] for item in body] == ["organization.created"]
    verified = client.get("/api/v1/security/audit/verify").json()
    assert verified["intact"] is True and verified["checked"] == 3 and verified["first_problem"] is None
    assert verified["summary"].startswith("完整") and verified["last_checkpoint"]["seq"] == 3
    sql("DELETE FROM {table} WHERE seq = 1")
    verified = client.get("/api/v1/security/audit/verify").json()
    assert verified["intact"] is False
    assert verified["first_problem"]["code"] == "deleted" and verified["first_problem"]["seq"] == 1


def test_audit_verify_command_reports_intact_or_the_first_broken_entry(capsys):
    sealed_log(5)
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "完整" in out and "已校验 5 条记录" in out and "最新签名检查点：第 5 号" in out
    ids = dict(AuditEntry.objects.values_list("seq", "id"))
    sql("UPDATE {table} SET action = 'x' WHERE seq = 2")
    with pytest.raises(CommandError) as error:
        call_command("audit_verify", "--all")
    assert error.value.returncode == 1
    assert f"第 2 号记录（记录 ID {ids[2]}）" in str(error.value) and "被修改" in str(error.value)
    assert "[edited]" in capsys.readouterr().err
