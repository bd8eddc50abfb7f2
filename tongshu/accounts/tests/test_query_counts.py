"""Query budgets of the list pages and home pages, filled with enough rows that an N+1 would blow the budget.

The budgets include the fixed cost of every page (session, user, second-factor check, menu, unread count). Raise one
only for a new constant cost, never because a list now costs one query per row.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tongshu.accounts import services
from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import make_organization, make_user
from tongshu.core.services import notify
from tongshu.security.audit import record

pytestmark = pytest.mark.django_db

ROWS = 15


@pytest.fixture
def crowded(personas: Any) -> Any:
    """Fifteen more organizations, each with a CDO, a data administrator holding two roles and a key; fifteen keys
    and to-do items in the provider department; login failures for the security panels."""
    for n in range(ROWS):
        organization = make_organization(f"华容县测试机构{n}", parent=personas.operator_org)
        cdo = make_user(f"crowd_cdo{n}", Role.CDO, organization=organization)
        make_user(f"crowd_admin{n}", Role.DATA_ADMIN, Role.DEPT_USER, organization=organization)
        services.create_api_key(cdo, name=f"应用{n}", organization=organization)
        services.create_api_key(
            personas.provider_admin, name=f"公安应用{n}", organization=personas.provider_org
        )
        make_user(f"gaj{n}", Role.DEPT_USER, organization=personas.provider_org)
        record("login.failed", actor_name=f"crowd_cdo{n}")
        record("role.granted", actor=personas.security_admin, target=cdo)
    notify([personas.provider_admin, personas.provider_cdo] * ROWS, "待办", kind="todo")
    for n in range(ROWS):
        notify([personas.provider_admin], f"待办{n}", kind="todo")
    return personas


CASES = [
    ("operator", "accounts:organizations", {}, 12),
    ("operator", "accounts:organization_detail", {"pk": "provider_org"}, 14),
    ("operator", "accounts:users", {}, 13),
    ("security_admin", "accounts:users", {}, 13),
    ("provider_cdo", "accounts:users", {}, 11),
    ("security_admin", "accounts:roles", {}, 13),
    ("security_admin", "accounts:api_keys", {}, 13),
    ("provider_admin", "accounts:api_keys", {}, 11),
    ("operator", "core:home", {}, 15),
    ("security_admin", "core:home", {}, 17),
    ("auditor", "core:home", {}, 14),
    ("authority", "core:home", {}, 11),
    ("provider_cdo", "core:home", {}, 19),
    ("provider_admin", "core:home", {}, 17),
    ("consumer_user", "core:home", {}, 13),
    ("inspector", "core:home", {}, 13),
    ("citizen", "core:home", {}, 10),
]


@pytest.mark.parametrize(("persona", "name", "kwargs", "budget"), CASES, ids=lambda v: str(v))
def test_query_budget(
    persona: str,
    name: str,
    kwargs: dict[str, str],
    budget: int,
    crowded: Any,
    client_for: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_for(getattr(crowded, persona))
    url = reverse(name, kwargs={key: getattr(crowded, value).pk for key, value in kwargs.items()})
    client.get(url)  # warm the session
    with django_assert_max_num_queries(budget):
        response = client.get(url)
    assert response.status_code == 200


def test_role_panel_of_a_chosen_user_is_constant(
    crowded: Any, client_for: Any, django_assert_max_num_queries
):
    client = client_for(crowded.security_admin)
    url = f"{reverse('accounts:roles')}?user={crowded.provider_cdo.pk}"
    client.get(url)
    with django_assert_max_num_queries(16):
        assert client.get(url).status_code == 200
