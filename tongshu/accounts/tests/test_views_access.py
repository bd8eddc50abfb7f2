"""Role assignment and API-key pages: grants and refusals beside the control (audited), keys shown once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tongshu.accounts import services
from tongshu.accounts.models import ApiKey, RoleAssignment
from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import make_user
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return response.content.decode()


def grant_url(user: Any) -> str:
    return reverse("accounts:role_grant", kwargs={"pk": user.pk})


# --- Role assignment ------------------------------------------------------------------------------------------------


def test_role_page_finds_users_and_shows_the_chosen_one(personas, client_for):
    client = client_for(personas.security_admin)
    response = client.get(reverse("accounts:roles"), {"q": "consumer"})
    results = [user.username for user in response.context["page"]]
    assert set(results) == {"consumer_cdo", "consumer_user"}
    response = client.get(reverse("accounts:roles"), {"user": personas.consumer_user.pk})
    assert response.context["person"] == personas.consumer_user
    assert "部门用户" in text(response)
    # htmx asks for the panel alone.
    fragment = text(
        client.get(
            reverse("accounts:roles"),
            {"user": personas.consumer_user.pk},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="role-panel",
        )
    )
    assert fragment.lstrip().startswith('<div id="role-panel"') and "<html" not in fragment


def test_grant_with_htmx_returns_the_panel(personas, client_for):
    response = client_for(personas.security_admin).post(
        grant_url(personas.consumer_user), {"role": Role.DATA_ADMIN}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = text(response)
    assert 'id="role-panel"' in body and "已授予“部门数据管理员”角色" in body
    # The row in the user list is refreshed out of band.
    assert f'id="roles-of-{personas.consumer_user.pk}" hx-swap-oob="true"' in body
    assert RoleAssignment.objects.filter(user=personas.consumer_user, role=Role.DATA_ADMIN).exists()


def test_separation_of_duties_refusal_is_shown_beside_the_control_and_audited(personas, client_for):
    response = client_for(personas.security_admin).post(
        grant_url(personas.auditor), {"role": Role.OPERATOR_ADMIN}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "三员分立：该用户已是审计管理员，不能再担任系统管理员" in response.context["role_error"]
    assert 'data-testid="role-error"' in text(response)
    assert not RoleAssignment.objects.filter(user=personas.auditor, role=Role.OPERATOR_ADMIN).exists()
    entry = AuditEntry.objects.get(action="role.grant_refused", object_id=str(personas.auditor.pk))
    assert entry.details["reason"] == "separation_of_duties" and entry.actor == personas.security_admin


def test_second_cdo_refusal_is_shown_and_audited_without_javascript(personas, client_for):
    response = client_for(personas.security_admin).post(
        grant_url(personas.provider_admin), {"role": Role.CDO}
    )
    assert response.status_code == 200  # the whole page again, with the error beside the control
    assert "已指定首席数据官" in response.context["role_error"]
    assert "<html" in text(response) and 'data-testid="role-error"' in text(response)
    assert not RoleAssignment.objects.filter(user=personas.provider_admin, role=Role.CDO).exists()
    entry = AuditEntry.objects.get(action="role.grant_refused", object_id=str(personas.provider_admin.pk))
    assert entry.details["reason"] == "cdo_exists"


def test_revoke_and_grant_the_cdo_role_after_the_old_one_is_gone(personas, client_for):
    client = client_for(personas.security_admin)
    response = client.post(
        reverse("accounts:role_revoke", kwargs={"pk": personas.provider_cdo.pk}), {"role": Role.CDO}
    )
    assert response.status_code == 302
    client.post(grant_url(personas.provider_admin), {"role": Role.CDO})
    assert RoleAssignment.objects.filter(user=personas.provider_admin, role=Role.CDO).exists()
    assert AuditEntry.objects.filter(action="role.revoked").count() == 1


def test_security_admin_cannot_revoke_own_role(personas, client_for):
    response = client_for(personas.security_admin).post(
        reverse("accounts:role_revoke", kwargs={"pk": personas.security_admin.pk}),
        {"role": Role.SECURITY_ADMIN},
        HTTP_HX_REQUEST="true",
    )
    assert "不能撤销自己的安全管理员角色" in response.context["role_error"]
    assert personas.security_admin.role_assignments.filter(role=Role.SECURITY_ADMIN).exists()


def test_grant_offers_only_roles_not_held(personas, client_for):
    response = client_for(personas.security_admin).get(
        reverse("accounts:roles"), {"user": personas.consumer_user.pk}
    )
    choices = [code for code, _ in response.context["grant_form"].fields["role"].choices]
    assert Role.DEPT_USER not in choices and Role.DATA_ADMIN in choices


# --- API keys -------------------------------------------------------------------------------------------------------


def test_data_admin_creates_a_key_shown_once(personas, client_for):
    client = client_for(personas.provider_admin)
    expires = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = client.post(
        reverse("accounts:api_key_create"), {"name": "人口库对接系统", "expires_on": expires}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token in text(response) and "只显示这一次" in text(response)
    key = ApiKey.objects.get(name="人口库对接系统")
    assert key.organization == personas.provider_org and key.prefix in token
    assert token not in key.key_hash
    assert timezone.localtime(key.expires_at).date().isoformat() == expires
    listing = text(client.get(reverse("accounts:api_keys")))
    assert key.prefix in listing and token not in listing


def test_key_form_errors_are_shown_beside_the_field(personas, client_for):
    client = client_for(personas.provider_cdo)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(reverse("accounts:api_key_create"), {"name": "过期应用", "expires_on": yesterday})
    assert response.context["create_form"].errors["expires_on"] == ["到期时间必须晚于当前时间"]
    response = client.post(reverse("accounts:api_key_create"), {"name": ""})
    assert "name" in response.context["create_form"].errors
    assert not ApiKey.objects.exists()


def test_keys_are_listed_per_organization_and_revoked_with_audit(personas, client_for):
    mine, _ = services.create_api_key(
        personas.provider_cdo, name="户籍核验", organization=personas.provider_org
    )
    theirs, _ = services.create_api_key(
        personas.consumer_cdo, name="低保比对", organization=personas.consumer_org
    )
    client = client_for(personas.provider_admin)
    listing = text(client.get(reverse("accounts:api_keys")))
    assert "户籍核验" in listing and "低保比对" not in listing
    response = client.post(reverse("accounts:api_key_revoke", kwargs={"pk": mine.pk}))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None and mine.revoked_by == personas.provider_admin
    assert AuditEntry.objects.filter(action="api_key.revoked", object_id=str(mine.pk)).exists()
    # Revoking twice is refused with a message, nothing changes.
    again = client.post(reverse("accounts:api_key_revoke", kwargs={"pk": mine.pk}), follow=True)
    assert "该密钥已被吊销" in text(again)
    # The security administrator sees all keys and may revoke any.
    security = client_for(personas.security_admin)
    listing = text(security.get(reverse("accounts:api_keys")))
    assert "户籍核验" in listing and "低保比对" in listing
    assert "创建密钥" not in listing
    security.post(reverse("accounts:api_key_revoke", kwargs={"pk": theirs.pk}))
    theirs.refresh_from_db()
    assert theirs.revoked_by == personas.security_admin


def test_key_status_filter_and_counts(personas, client_for):
    services.create_api_key(personas.provider_cdo, name="长期应用", organization=personas.provider_org)
    services.create_api_key(
        personas.provider_cdo,
        name="短期应用",
        organization=personas.provider_org,
        expires_at=timezone.now() + timedelta(days=1),
    )
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        client = client_for(personas.provider_cdo)
        response = client.get(reverse("accounts:api_keys"), {"status": "expired"})
        assert [key.name for key in response.context["page"]] == ["短期应用"]
        assert response.context["counts"]["active"] == 1 and response.context["counts"]["expired"] == 1


def test_public_account_sees_only_its_own_keys(personas, client_for):
    other = make_user("other_citizen", Role.PUBLIC)
    services.create_api_key(other, name="别人的应用", organization=None)
    client = client_for(personas.citizen)
    response = client.post(reverse("accounts:api_key_create"), {"name": "我的小程序"})
    assert response.status_code == 200
    listing = text(client.get(reverse("accounts:api_keys")))
    assert "我的小程序" in listing and "别人的应用" not in listing
