"""Home panels per role: each role lands on its own figures, computed from the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessFailureLog
from django.urls import reverse
from django.utils import timezone

from tongshu.accounts import services
from tongshu.accounts.roles import Role
from tongshu.core.models import Heartbeat
from tongshu.core.services import notify
from tongshu.security.audit import record

pytestmark = pytest.mark.django_db


def panels(client: Any) -> dict[str, dict[str, Any]]:
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    return {panel["name"]: panel for panel in response.context["panels"]}


def test_each_role_gets_its_own_panels(personas, client_for):
    expected = {
        "operator": {"accounts.operator"},
        "security_admin": {"accounts.security"},
        "auditor": {"accounts.auditor"},
        "authority": {"accounts.authority"},
        "provider_cdo": {"accounts.own_organization", "accounts.org_staff", "accounts.org_keys"},
        "provider_admin": {"accounts.own_organization", "accounts.org_keys"},
        "consumer_user": {"accounts.own_organization"},
        "inspector": {"accounts.inspector"},
        "citizen": {"accounts.public"},
    }
    for persona, names in expected.items():
        got = {
            name for name in panels(client_for(getattr(personas, persona))) if name.startswith("accounts.")
        }
        assert got == names, persona


def test_operator_panel_counts(personas, client_for):
    Heartbeat.objects.create(name="worker", last_seen=timezone.now())
    Heartbeat.objects.create(name="scheduler", last_seen=timezone.now() - timedelta(minutes=10))
    personas.consumer_user.is_active = False
    personas.consumer_user.save()
    panel = panels(client_for(personas.operator))["accounts.operator"]
    kinds = {kind["code"]: kind["count"] for kind in panel["kinds"]}
    assert kinds == {"department": 6, "township": 1, "upper_level": 0, "public_service": 0, "company": 0}
    assert panel["organization_total"] == 7
    assert panel["accounts"]["inactive"] == 1 and panel["accounts"]["active"] == 10
    without = {org.name for org in panel["without_cdo"]}
    # Departments and the township without an active CDO; the provider and consumer departments have one.
    assert personas.township.name in without and personas.outsider_org.name in without
    assert personas.provider_org.name not in without
    assert {p["name"]: p["status"] for p in panel["processes"]} == {"worker": "ok", "scheduler": "stale"}


def test_security_panel_counts(personas, client_for):
    services.create_api_key(personas.provider_cdo, name="a", organization=personas.provider_org)
    key, _ = services.create_api_key(personas.provider_cdo, name="b", organization=personas.provider_org)
    services.revoke_api_key(personas.security_admin, key)
    AccessFailureLog.objects.create(username="provider_admin", ip_address="10.0.0.9", locked_out=True)
    AccessFailureLog.objects.create(username="provider_admin", ip_address="10.0.0.9", locked_out=True)
    AccessFailureLog.objects.create(username="outsider", ip_address="10.0.0.8", locked_out=False)
    client = client_for(personas.security_admin)  # gives the security admin (only) a confirmed TOTP device
    panel = panels(client)["accounts.security"]
    assert panel["keys"]["active"] == 1 and panel["keys"]["revoked"] == 1
    assert panel["lockouts"] == 1
    roles = {row["code"]: row["count"] for row in panel["roles"]}
    assert roles[Role.CDO] == 2 and roles[Role.DATA_ADMIN] == 2
    without_totp = {user.username for user in panel["admins_without_totp"]}
    assert without_totp == {"operator", "auditor"}


def test_auditor_panel_counts_today(personas, client_for):
    record("login.failed", actor_name="nobody")
    record("login.failed", actor_name="nobody")
    services.grant_role(personas.security_admin, personas.consumer_user, Role.DATA_ADMIN)
    panel = panels(client_for(personas.auditor))["accounts.auditor"]
    assert panel["failures"] == 2 and panel["role_changes"] == 1
    assert panel["entries"] >= 3
    assert panel["recent"][0].action == "role.granted"


def test_own_organization_panel(personas, client_for):
    notify([personas.provider_admin], "请答复民政局的共享申请", kind="todo")
    services.create_api_key(personas.provider_cdo, name="a", organization=personas.provider_org)
    client = client_for(personas.provider_admin)
    panel = panels(client)["accounts.own_organization"]
    assert panel["organization"] == personas.provider_org
    assert panel["organization"].cdo_full_name == personas.provider_cdo.full_name
    assert panel["organization"].active_user_count == 2
    assert panel["keys"]["active"] == 1
    assert [todo.title for todo in panel["todos"]] == ["请答复民政局的共享申请"]
    page = client.get(reverse("core:home")).content.decode()
    assert "请答复民政局的共享申请" in page and personas.provider_cdo.full_name in page


def test_cdo_is_told_when_no_data_admin_exists(personas, client_for):
    panel = panels(client_for(personas.consumer_cdo))["accounts.org_staff"]
    assert panel["has_data_admin"] is False
    assert {m.username for m in panel["members"]} == {"consumer_cdo", "consumer_user"}


def test_authority_sees_departments_and_their_cdo(personas, client_for):
    panel = panels(client_for(personas.authority))["accounts.authority"]
    assert panel["total"] == 7
    assert {org.name for org in panel["missing"]} >= {personas.township.name, personas.outsider_org.name}
    assert panel["with_cdo"] == 2


def test_inspector_sees_failures_and_lockouts_of_the_week(personas, client_for):
    record("login.failed", actor_name="zhangsan")
    # The audit log is append-only: entries of other days are written on those days.
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        record("login.failed", actor_name="zhangsan")
    with time_machine.travel(timezone.now() - timedelta(days=9)):
        record("login.failed", actor_name="lisi")
    record("login.locked_out", actor_name="zhangsan")
    panel = panels(client_for(personas.inspector))["accounts.inspector"]
    assert panel["failures"] == 2 and panel["lockouts"] == 1
    assert panel["top_accounts"] == [{"actor_name": "zhangsan", "n": 2}]
    assert len(panel["days"]) == 7 and panel["days"][-1]["failures"] == 1


def test_public_panel_counts_own_keys(personas, client_for):
    services.create_api_key(personas.citizen, name="我的应用", organization=None)
    panel = panels(client_for(personas.citizen))["accounts.public"]
    assert panel["keys"]["active"] == 1
