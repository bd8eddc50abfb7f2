"""Organization and user management pages: what the operator can do, what the others see, and refusals beside the
fields. (Who may open which page is proven in test_permission_matrix.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tongshu.accounts.models import Organization, OrganizationKind, RoleAssignment, User
from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import make_organization, make_user
from tongshu.core.checksums import make_uscc
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return response.content.decode()


# --- Organizations --------------------------------------------------------------------------------------------------


def test_organization_list_flags_departments_and_townships_without_cdo(personas, client_for):
    client = client_for(personas.operator)
    page = text(client.get(reverse("accounts:organizations")))
    # The provider department shows its CDO's name; the township and the outsider's department have none.
    assert personas.provider_cdo.display_name in page
    assert "未指定首席数据官" in page
    filtered = text(client.get(reverse("accounts:organizations"), {"without_cdo": "on"}))
    assert personas.township.name in filtered and personas.outsider_org.name in filtered
    assert personas.provider_org.name not in filtered


def test_organization_filters_by_type_and_search(personas, client_for):
    client = client_for(personas.operator)
    page = text(client.get(reverse("accounts:organizations"), {"kind": OrganizationKind.TOWNSHIP}))
    assert personas.township.name in page and personas.provider_org.name not in page
    page = text(client.get(reverse("accounts:organizations"), {"q": "P-GAJ"}))
    assert personas.provider_org.name in page and personas.consumer_org.name not in page


def test_organization_rows_come_back_as_an_htmx_fragment(personas, client_for):
    response = client_for(personas.operator).get(
        reverse("accounts:organizations"), {"q": "水利"}, HTTP_HX_REQUEST="true"
    )
    body = text(response)
    assert body.lstrip().startswith('<div id="organization-rows">')
    assert personas.outsider_org.name in body and "<html" not in body


def test_operator_creates_an_organization(personas, client_for):
    client = client_for(personas.operator)
    credit = make_uscc("1", "1", "430623", "44009999")
    response = client.post(
        reverse("accounts:organization_create"),
        {
            "code": "430623-XZJ",
            "name": "华容县乡村振兴局",
            "short_name": "县乡村振兴局",
            "kind": OrganizationKind.DEPARTMENT,
            "division_code": "430623",
            "credit_code": credit,
            "parent": "",
        },
    )
    organization = Organization.objects.get(code="430623-XZJ")
    assert response.status_code == 302 and response["Location"] == reverse(
        "accounts:organization_detail", kwargs={"pk": organization.pk}
    )
    assert organization.credit_code == credit
    assert AuditEntry.objects.filter(action="organization.created", object_id=str(organization.pk)).exists()


def test_bad_organization_input_is_shown_beside_the_field_and_nothing_changes(personas, client_for):
    client = client_for(personas.operator)
    before = Organization.objects.count()
    response = client.post(
        reverse("accounts:organization_create"),
        {
            "code": "X-1",
            "name": personas.provider_org.name,
            "kind": OrganizationKind.DEPARTMENT,
            "division_code": "430623",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["机构名称已被使用"]
    response = client.post(
        reverse("accounts:organization_create"),
        {
            "code": "X-2",
            "name": "某机构",
            "kind": OrganizationKind.DEPARTMENT,
            "division_code": "430623",
            "credit_code": "91430623MA4L00000X",
        },
    )
    assert "校验位" in response.context["form"].errors["credit_code"][0]
    response = client.post(
        reverse("accounts:organization_create"),
        {"code": "X-3", "name": "某机构", "kind": OrganizationKind.DEPARTMENT, "division_code": "4306"},
    )
    assert "行政区划代码" in response.context["form"].errors["division_code"][0]
    assert Organization.objects.count() == before


def test_edit_refuses_a_parent_cycle(personas, client_for):
    child = make_organization("华容县公安局交警大队", parent=personas.provider_org)
    response = client_for(personas.operator).post(
        reverse("accounts:organization_edit", kwargs={"pk": personas.provider_org.pk}),
        {
            "name": personas.provider_org.name,
            "kind": OrganizationKind.DEPARTMENT,
            "division_code": "430623",
            "parent": child.pk,
        },
    )
    assert response.status_code == 200
    assert "上级机构不能是本机构或其下级" in response.context["form"].errors["parent"][0]
    personas.provider_org.refresh_from_db()
    assert personas.provider_org.parent is None


def test_organization_detail_lists_its_accounts_and_roles(personas, client_for):
    page = text(
        client_for(personas.operator).get(
            reverse("accounts:organization_detail", kwargs={"pk": personas.provider_org.pk})
        )
    )
    assert "provider_cdo" in page and "provider_admin" in page
    assert "首席数据官" in page and "部门数据管理员" in page


def test_an_organization_with_accounts_cannot_be_deactivated(personas, client_for):
    client = client_for(personas.operator)
    url = reverse("accounts:organization_active", kwargs={"pk": personas.provider_org.pk})
    response = client.post(url, {"active": "0"}, follow=True)
    assert "仍有 2 个启用的账号" in text(response)
    personas.provider_org.refresh_from_db()
    assert personas.provider_org.is_active
    empty = make_organization("华容县已撤并机构")
    client.post(reverse("accounts:organization_active", kwargs={"pk": empty.pk}), {"active": "0"})
    empty.refresh_from_db()
    assert not empty.is_active
    assert AuditEntry.objects.filter(action="organization.deactivated", object_id=str(empty.pk)).exists()


# --- Users ----------------------------------------------------------------------------------------------------------


def test_operator_creates_a_user_and_sees_the_temporary_password_once(personas, client_for):
    client = client_for(personas.operator)
    response = client.post(
        reverse("accounts:user_create"),
        {"username": "li.si", "full_name": "李四", "organization": personas.consumer_org.pk, "phone": ""},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = response.context["password"]
    assert password in text(response) and "只显示这一次" in text(response)
    user = User.objects.get(username="li.si")
    assert user.must_change_password and user.check_password(password)
    assert password not in user.password
    # The detail page never shows it again.
    assert password not in text(client.get(reverse("accounts:user_detail", kwargs={"pk": user.pk})))


def test_user_creation_errors_are_shown_beside_the_field(personas, client_for):
    client = client_for(personas.operator)
    response = client.post(
        reverse("accounts:user_create"),
        {"username": "Provider_Admin", "full_name": "重名", "organization": personas.consumer_org.pk},
    )
    assert response.context["form"].errors["username"] == ["用户名已被使用"]
    response = client.post(
        reverse("accounts:user_create"), {"username": "bad name!", "full_name": "x", "organization": ""}
    )
    assert "organization" in response.context["form"].errors
    assert not User.objects.filter(full_name="重名").exists()


def test_operator_edits_deactivates_and_resets(personas, client_for):
    client = client_for(personas.operator)
    target = personas.consumer_user
    client.post(
        reverse("accounts:user_edit", kwargs={"pk": target.pk}),
        {"full_name": "刘洋洋", "organization": personas.consumer_org.pk, "phone": "13800000000"},
    )
    target.refresh_from_db()
    assert target.full_name == "刘洋洋" and target.phone == "13800000000"
    client.post(reverse("accounts:user_active", kwargs={"pk": target.pk}), {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active
    response = client.post(reverse("accounts:user_reset_password", kwargs={"pk": target.pk}))
    target.refresh_from_db()
    assert target.must_change_password and target.check_password(response.context["password"])
    assert AuditEntry.objects.filter(action="user.password_reset", object_id=str(target.pk)).exists()


def test_operator_cannot_deactivate_self(personas, client_for):
    client = client_for(personas.operator)
    response = client.post(
        reverse("accounts:user_active", kwargs={"pk": personas.operator.pk}), {"active": "0"}, follow=True
    )
    assert "不能停用自己的账号" in text(response)
    personas.operator.refresh_from_db()
    assert personas.operator.is_active


def test_moving_a_cdo_into_an_organization_that_has_one_is_refused(personas, client_for):
    response = client_for(personas.operator).post(
        reverse("accounts:user_edit", kwargs={"pk": personas.consumer_cdo.pk}),
        {"full_name": "x", "organization": personas.provider_org.pk},
    )
    assert "每个机构只能有一名首席数据官" in response.context["form"].errors["organization"][0]
    personas.consumer_cdo.refresh_from_db()
    assert personas.consumer_cdo.organization == personas.consumer_org


def test_cdo_sees_only_own_organization_read_only(personas, client_for):
    client = client_for(personas.provider_cdo)
    page = text(client.get(reverse("accounts:users")))
    assert ">provider_admin</a>" in page
    assert ">consumer_user</a>" not in page and ">operator</a>" not in page
    assert reverse("accounts:user_create") not in page
    assert reverse("accounts:user_edit", kwargs={"pk": personas.provider_admin.pk}) not in page
    # Filtering by another organization does not widen the scope.
    page = text(client.get(reverse("accounts:users"), {"organization": personas.consumer_org.pk}))
    assert ">consumer_user</a>" not in page


def test_security_admin_sees_all_users_with_role_links_but_no_edit(personas, client_for):
    page = text(client_for(personas.security_admin).get(reverse("accounts:users")))
    assert "consumer_user" in page and "provider_admin" in page
    assert reverse("accounts:roles") in page
    assert reverse("accounts:user_create") not in page


def test_user_filters(personas, client_for):
    client = client_for(personas.operator)
    page = text(client.get(reverse("accounts:users"), {"role": Role.CDO}))
    assert "provider_cdo" in page and "consumer_cdo" in page and "consumer_user" not in page
    page = text(client.get(reverse("accounts:users"), {"organization": personas.consumer_org.pk}))
    assert "consumer_user" in page and "provider_cdo" not in page
    page = text(client.get(reverse("accounts:users"), {"q": "outsid"}))
    assert "outsider" in page and "consumer_user" not in page
    make_user("no_role", organization=personas.consumer_org)
    page = text(client.get(reverse("accounts:users"), {"role": "none"}))
    assert "no_role" in page and "consumer_user" not in page


def test_users_page_pages(personas, client_for):
    for n in range(25):
        make_user(f"bulk{n:02d}", Role.DEPT_USER, organization=personas.consumer_org)
    client = client_for(personas.operator)
    first = client.get(reverse("accounts:users"))
    assert first.context["page"].paginator.num_pages == 2
    assert len(first.context["page"].object_list) == 20
    second = client.get(reverse("accounts:users"), {"page": 2})
    assert second.context["page"].number == 2


def test_no_role_assignment_is_possible_from_the_users_pages(personas, client_for):
    """The operator manages accounts but never grants roles (三员分立)."""
    client_for(personas.operator).post(
        reverse("accounts:role_grant", kwargs={"pk": personas.consumer_user.pk}), {"role": "data_admin"}
    )
    assert not RoleAssignment.objects.filter(user=personas.consumer_user, role=Role.DATA_ADMIN).exists()
