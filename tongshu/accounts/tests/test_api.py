"""The accounts API: who may manage organizations, users, roles and keys, and what everyone else gets."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tongshu.accounts.models import ApiKey, Organization, RoleAssignment
from tongshu.accounts.roles import Role
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_anonymous_gets_401_with_chinese_message(anonymous):
    response = anonymous.get("/api/v1/accounts/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert "未登录" in response.json()["message"]


def test_operator_creates_organization_others_cannot(personas, client_for):
    data = {"code": "NEW-1", "name": "华容县新机构", "kind": "department", "division_code": "430623"}
    for persona in ("security_admin", "auditor", "provider_cdo", "authority", "citizen"):
        response = post(client_for(getattr(personas, persona)), "/api/v1/accounts/organizations", data)
        assert response.status_code == 403, persona
        assert response.json()["code"] == "forbidden"
    assert not Organization.objects.filter(code="NEW-1").exists()
    response = post(client_for(personas.operator), "/api/v1/accounts/organizations", data)
    assert response.status_code == 201, response.content
    assert AuditEntry.objects.filter(action="organization.created").exists()


def test_bad_organization_input_is_refused_and_nothing_changes(personas, client_for):
    client = client_for(personas.operator)
    before = Organization.objects.count()
    response = post(
        client,
        "/api/v1/accounts/organizations",
        {"code": "X", "name": "华容县公安局", "kind": "department", "division_code": "430623"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_name"
    response = post(
        client,
        "/api/v1/accounts/organizations",
        {"code": "Y", "name": "某机构", "kind": "nonsense", "division_code": "4306"},
    )
    assert response.status_code == 400
    response = post(client, "/api/v1/accounts/organizations", {"code": "Y"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert Organization.objects.count() == before


def test_only_security_admin_grants_roles(personas, client_for):
    url = f"/api/v1/accounts/users/{personas.consumer_user.pk}/roles"
    for persona in ("operator", "auditor", "consumer_cdo", "authority"):
        assert post(client_for(getattr(personas, persona)), url, {"role": "data_admin"}).status_code == 403
    response = post(client_for(personas.security_admin), url, {"role": "data_admin"})
    assert response.status_code == 201
    assert "data_admin" in response.json()["roles"]


def test_separation_of_duties_is_enforced_and_audited(personas, client_for):
    client = client_for(personas.security_admin)
    response = post(client, f"/api/v1/accounts/users/{personas.auditor.pk}/roles", {"role": "operator_admin"})
    assert response.status_code == 400
    assert response.json()["code"] == "separation_of_duties"
    assert "三员分立" in response.json()["message"]
    assert not RoleAssignment.objects.filter(user=personas.auditor, role=Role.OPERATOR_ADMIN).exists()
    assert AuditEntry.objects.filter(action="role.grant_refused", object_id=str(personas.auditor.pk)).exists()


def test_one_cdo_per_organization(personas, client_for):
    response = post(
        client_for(personas.security_admin),
        f"/api/v1/accounts/users/{personas.provider_admin.pk}/roles",
        {"role": "cdo"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "cdo_exists"


def test_api_key_lifecycle_and_denials(personas, client_for, anonymous):
    admin = client_for(personas.provider_admin)
    response = post(admin, "/api/v1/accounts/api-keys", {"name": "人口库对接系统"})
    assert response.status_code == 201
    token = response.json()["token"]
    key = ApiKey.objects.get(pk=response.json()["key"]["id"])
    assert token not in key.key_hash and key.prefix in token
    # The key authenticates as Bearer only.
    me = anonymous.get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200 and me.json()["kind"] == "application"
    assert anonymous.get(f"/api/v1/accounts/me?token={token}").status_code == 401
    # A key cannot do a person's work.
    assert anonymous.get("/api/v1/accounts/users", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
    # Another department and a plain user cannot revoke it, and do not even see it.
    assert (
        post(client_for(personas.outsider), f"/api/v1/accounts/api-keys/{key.pk}/revoke", {}).status_code
        == 404
    )
    assert (
        post(client_for(personas.consumer_user), "/api/v1/accounts/api-keys", {"name": "x"}).status_code
        == 403
    )
    # Revoked keys are refused with their reason.
    assert post(admin, f"/api/v1/accounts/api-keys/{key.pk}/revoke", {}).status_code == 200
    refused = anonymous.get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401 and refused.json()["code"] == "key_revoked"
    assert "吊销" in refused.json()["message"]


def test_expired_key_is_refused(personas, client_for, anonymous):
    response = post(
        client_for(personas.provider_cdo),
        "/api/v1/accounts/api-keys",
        {"name": "临时应用", "expires_at": (timezone.now() + timedelta(days=1)).isoformat()},
    )
    token = response.json()["token"]
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        refused = anonymous.get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401 and refused.json()["code"] == "key_expired"


def test_garbage_bearer_token(anonymous):
    response = anonymous.get("/api/v1/accounts/me", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 401 and response.json()["code"] == "invalid_key"
