"""The permission matrix of the accounts pages and API, and of the core pages (home, message centre), as NetBox does:
each row states once what every persona gets; one generic test walks every (row, persona) pair.

LOGIN means "302 to the login page". Anonymous callers get LOGIN on pages and 401 on the API; a wrong role gets 403;
another organization's objects are 404 where the persona may use the page at all (no hint that the object exists).
A URL pattern of the accounts namespace, or an operation of the accounts API router, without a row fails the suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import get_resolver, reverse

from tongshu.accounts import services
from tongshu.accounts.api import router as accounts_router
from tongshu.accounts.tests.factories import make_organization
from tongshu.core.services import notify

pytestmark = pytest.mark.django_db

PERSONAS = (
    "anonymous",
    "operator",
    "security_admin",
    "auditor",
    "authority",
    "provider_cdo",
    "provider_admin",
    "consumer_cdo",
    "consumer_user",
    "outsider",
    "inspector",
    "citizen",
)
LOGIN = "login"


def expect(default: Any, **statuses: Any) -> dict[str, Any]:
    unknown = set(statuses) - set(PERSONAS)
    assert not unknown, unknown
    return {persona: statuses.get(persona, default) for persona in PERSONAS}


def page(default: Any = 403, **statuses: Any) -> dict[str, Any]:
    return expect(default, **{"anonymous": LOGIN, **statuses})


def api(default: Any = 403, **statuses: Any) -> dict[str, Any]:
    return expect(default, **{"anonymous": 401, **statuses})


@dataclass(frozen=True)
class Row:
    name: str  # URL name for pages, "METHOD /path" (accounts router) for the API
    method: str
    url: Callable[[SimpleNamespace], str]
    expected: dict[str, Any]
    data: Callable[[SimpleNamespace], dict[str, Any]] = field(default=lambda p: {})

    @property
    def is_api(self) -> bool:
        return self.name.startswith(("GET ", "POST ", "PATCH ", "DELETE "))


def url(name: str, **kwargs: Callable[[SimpleNamespace], Any]) -> Callable[[SimpleNamespace], str]:
    return lambda p: reverse(name, kwargs={key: get(p) for key, get in kwargs.items()})


def provider_key(p: SimpleNamespace) -> int:
    key, _ = services.create_api_key(p.provider_admin, name="人口库对接", organization=p.provider_org)
    return key.pk


def message_for_provider_admin(p: SimpleNamespace) -> int:
    [message] = notify([p.provider_admin], "请答复共享申请", kind="todo")
    return message.pk


def empty_organization(p: SimpleNamespace) -> int:
    return make_organization("华容县待撤并机构").pk


MANAGERS = {"provider_cdo": 200, "provider_admin": 200, "consumer_cdo": 200, "outsider": 200}
KEY_HOLDERS = {**MANAGERS, "citizen": 200}

PAGES = [
    Row("core:home", "get", url("core:home"), page(200)),
    Row("core:messages", "get", url("core:messages"), page(200)),
    Row(
        "core:message_detail",
        "get",
        url("core:message_detail", message_id=message_for_provider_admin),
        page(404, provider_admin=302),
    ),
    Row("core:messages_read_all", "post", url("core:messages_read_all"), page(302)),
    Row("core:healthz", "get", url("core:healthz"), expect(200)),
    Row("accounts:login", "get", url("accounts:login"), expect(302, anonymous=200)),
    Row("accounts:logout", "post", url("accounts:logout"), expect(LOGIN)),
    Row("accounts:password_change", "get", url("accounts:password_change"), page(200)),
    Row("accounts:totp_setup", "get", url("accounts:totp_setup"), page(200)),
    # Nobody here has an unverified device, so the verify step sends everyone on.
    Row("accounts:totp_verify", "get", url("accounts:totp_verify"), page(302)),
    # Without a code: the three administrators (enrolled, and required to keep it) get the form back with an error.
    Row(
        "accounts:totp_disable",
        "post",
        url("accounts:totp_disable"),
        page(302, operator=400, security_admin=400, auditor=400),
    ),
    Row("accounts:organizations", "get", url("accounts:organizations"), page(operator=200)),
    Row("accounts:organization_create", "get", url("accounts:organization_create"), page(operator=200)),
    Row(
        "accounts:organization_detail",
        "get",
        url("accounts:organization_detail", pk=lambda p: p.provider_org.pk),
        page(operator=200),
    ),
    Row(
        "accounts:organization_edit",
        "get",
        url("accounts:organization_edit", pk=lambda p: p.provider_org.pk),
        page(operator=200),
    ),
    Row(
        "accounts:organization_active",
        "post",
        url("accounts:organization_active", pk=empty_organization),
        page(operator=302),
        data=lambda p: {"active": "0"},
    ),
    Row("accounts:users", "get", url("accounts:users"), page(operator=200, security_admin=200, **MANAGERS)),
    Row("accounts:user_create", "get", url("accounts:user_create"), page(operator=200)),
    Row(
        "accounts:user_detail",
        "get",
        url("accounts:user_detail", pk=lambda p: p.provider_admin.pk),
        page(
            operator=200,
            security_admin=200,
            provider_cdo=200,
            provider_admin=200,
            consumer_cdo=404,
            outsider=404,
        ),
    ),
    Row(
        "accounts:user_edit",
        "get",
        url("accounts:user_edit", pk=lambda p: p.consumer_user.pk),
        page(operator=200),
    ),
    Row(
        "accounts:user_active",
        "post",
        url("accounts:user_active", pk=lambda p: p.consumer_user.pk),
        page(operator=302),
        data=lambda p: {"active": "0"},
    ),
    Row(
        "accounts:user_reset_password",
        "post",
        url("accounts:user_reset_password", pk=lambda p: p.consumer_user.pk),
        page(operator=200),
    ),
    Row("accounts:roles", "get", url("accounts:roles"), page(security_admin=200)),
    Row(
        "accounts:role_grant",
        "post",
        url("accounts:role_grant", pk=lambda p: p.consumer_user.pk),
        page(security_admin=302),
        data=lambda p: {"role": "data_admin"},
    ),
    Row(
        "accounts:role_revoke",
        "post",
        url("accounts:role_revoke", pk=lambda p: p.consumer_user.pk),
        page(security_admin=302),
        data=lambda p: {"role": "dept_user"},
    ),
    Row("accounts:api_keys", "get", url("accounts:api_keys"), page(security_admin=200, **KEY_HOLDERS)),
    Row(
        "accounts:api_key_create",
        "post",
        url("accounts:api_key_create"),
        page(**KEY_HOLDERS),
        data=lambda p: {"name": "业务系统"},
    ),
    Row(
        "accounts:api_key_revoke",
        "post",
        url("accounts:api_key_revoke", pk=provider_key),
        page(
            security_admin=302,
            provider_cdo=302,
            provider_admin=302,
            consumer_cdo=404,
            outsider=404,
            citizen=404,
        ),
    ),
]

API = "/api/v1/accounts"
API_ROWS = [
    Row("GET /me", "get", lambda p: f"{API}/me", api(200)),
    Row("GET /organizations", "get", lambda p: f"{API}/organizations", api(200)),
    Row(
        "POST /organizations",
        "post",
        lambda p: f"{API}/organizations",
        api(operator=201),
        data=lambda p: {
            "code": "M-1",
            "name": "华容县新设机构",
            "kind": "department",
            "division_code": "430623",
        },
    ),
    Row(
        "PATCH /organizations/{org_id}",
        "patch",
        lambda p: f"{API}/organizations/{p.provider_org.pk}",
        api(operator=200),
        data=lambda p: {"short_name": "县公安"},
    ),
    Row("GET /users", "get", lambda p: f"{API}/users", api(200)),
    Row(
        "POST /users",
        "post",
        lambda p: f"{API}/users",
        api(operator=201),
        data=lambda p: {"username": "newcomer", "full_name": "新同事", "organization_id": p.consumer_org.pk},
    ),
    Row(
        "PATCH /users/{user_id}",
        "patch",
        lambda p: f"{API}/users/{p.consumer_user.pk}",
        api(operator=200),
        data=lambda p: {"phone": "0730-4221234"},
    ),
    Row(
        "POST /users/{user_id}/reset-password",
        "post",
        lambda p: f"{API}/users/{p.consumer_user.pk}/reset-password",
        api(operator=200),
    ),
    Row(
        "POST /users/{user_id}/roles",
        "post",
        lambda p: f"{API}/users/{p.consumer_user.pk}/roles",
        api(security_admin=201),
        data=lambda p: {"role": "data_admin"},
    ),
    Row(
        "DELETE /users/{user_id}/roles/{role}",
        "delete",
        lambda p: f"{API}/users/{p.consumer_user.pk}/roles/dept_user",
        api(security_admin=200),
    ),
    Row("GET /api-keys", "get", lambda p: f"{API}/api-keys", api(200)),
    Row(
        "POST /api-keys",
        "post",
        lambda p: f"{API}/api-keys",
        api(**{persona: 201 for persona in KEY_HOLDERS}),
        data=lambda p: {"name": "业务系统"},
    ),
    Row(
        "POST /api-keys/{key_id}/revoke",
        "post",
        lambda p: f"{API}/api-keys/{provider_key(p)}/revoke",
        api(404, security_admin=200, provider_cdo=200, provider_admin=200),
    ),
]

ROWS = PAGES + API_ROWS


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_permission_matrix(row: Row, persona: str, personas: Any, client_for: Any, anonymous: Any) -> None:
    client = anonymous if persona == "anonymous" else client_for(getattr(personas, persona))
    target = row.url(personas)
    data = row.data(personas)
    if row.is_api:
        body = json.dumps(data) if row.method != "get" else None
        kwargs = {"content_type": "application/json"} if body is not None else {}
        response = getattr(client, row.method)(target, body, **kwargs) if body else client.get(target)
    else:
        response = getattr(client, row.method)(target, data)
    expected = row.expected[persona]
    if expected == LOGIN:
        assert response.status_code == 302, (row.name, persona, response.status_code)
        assert response["Location"].startswith(reverse("accounts:login")), response["Location"]
    else:
        assert response.status_code == expected, (row.name, persona, response.status_code)
    if row.is_api and response.status_code >= 400:
        assert set(response.json()) >= {"code", "message"}
    elif not row.is_api and response.status_code in (403, 404):
        # Refused pages are the platform's Chinese error page, not a bare status.
        assert "core/error.html" in [t.name for t in response.templates]


def test_every_accounts_url_has_a_row() -> None:
    _, resolver = get_resolver().namespace_dict["accounts"]
    names = {f"accounts:{pattern.name}" for pattern in resolver.url_patterns if pattern.name}
    missing = names - {row.name for row in PAGES}
    assert not missing, f"accounts URL patterns without a row in the permission matrix: {sorted(missing)}"


def test_every_accounts_api_operation_has_a_row() -> None:
    operations = {
        f"{method} {path}"
        for path, view in accounts_router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    missing = operations - {row.name for row in API_ROWS}
    assert not missing, f"accounts API operations without a row in the permission matrix: {sorted(missing)}"


def test_matrix_rows_are_unique() -> None:
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))
