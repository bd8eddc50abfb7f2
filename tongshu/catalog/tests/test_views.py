"""Catalog pages: the editor (grid actions with and without htmx), the journey through pages, denials, systems."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tongshu.catalog.models import BusinessSystem, Resource, ResourceVersion
from tongshu.catalog.services import create_draft, submit
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import ELEMENTS, make_elements, plain_items, valid_fields
from tongshu.catalog.tests.search_helpers import publish as publish_indexed
from tongshu.core.models import Message

pytestmark = pytest.mark.django_db


def editor_post(fields, rows, action="save"):
    data = {key: value for key, value in fields.items() if not isinstance(value, list)}
    for key in ("provision_methods", "usage_methods", "open_methods"):
        if fields.get(key):
            data[key] = fields[key]
    data["related_codes"] = "; ".join(fields.get("related_codes", []))
    data["item_key"] = []
    for index, row in enumerate(rows):
        key = f"k{index}"
        data["item_key"].append(key)
        for name, value in row.items():
            if isinstance(value, bool):
                if value:
                    data[f"items-{key}-{name}"] = "on"
            else:
                data[f"items-{key}-{name}"] = value
    data["action"] = action
    return data


def element_rows(elements):
    rows = []
    for element, spec in zip(elements, ELEMENTS, strict=False):
        name, _english, _type, _length, key, queryable, sensitive, level = spec
        rows.append(
            {
                "name": name,
                "element": element.identifier,
                "is_key": key,
                "is_queryable": queryable,
                "is_sensitive": sensitive,
                "security_level": level,
            }
        )
    return rows


def test_journey_through_the_pages(personas, client_for):
    elements = make_elements()
    admin = client_for(personas.provider_admin)
    page = admin.get(reverse("catalog:new_draft"))
    assert page.status_code == 200 and "信息项" in page.content.decode()

    # A first save with errors: shown beside the fields, in Chinese, nothing stored.
    bad = editor_post(valid_fields(name="", share_conditions=""), element_rows(elements))
    response = admin.post(reverse("catalog:new_draft"), bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写信息资源名称" in html and "有条件共享的信息资源须填写共享条件" in html
    assert not Resource.objects.exists()

    response = admin.post(reverse("catalog:new_draft"), editor_post(valid_fields(), element_rows(elements)))
    assert response.status_code == 302
    version = ResourceVersion.objects.get()
    assert version.items.count() == 10 and version.items.filter(data_element__isnull=False).count() == 10
    detail = admin.get(response["Location"])
    assert "户籍人口基本信息" in detail.content.decode()

    cdo = client_for(personas.provider_cdo)
    assert (
        client_for(personas.provider_admin).post(reverse("catalog:submit", args=[version.pk])).status_code
        == 403
    )
    cdo.post(reverse("catalog:submit", args=[version.pk]))
    version.refresh_from_db()
    assert version.state == "submitted"

    authority = client_for(personas.authority)
    queue = authority.get(reverse("catalog:review_queue")).content.decode()
    assert "户籍人口基本信息" in queue
    review = authority.get(reverse("catalog:review_detail", args=[version.pk]))
    assert review.status_code == 200
    authority.post(reverse("catalog:return", args=[version.pk]), {"reason": "请补充联系人"})
    version.refresh_from_db()
    assert version.state == "returned" and version.review_comment == "请补充联系人"
    detail = admin.get(reverse("catalog:resource_detail", args=[version.resource_id])).content.decode()
    assert "请补充联系人" in detail

    edit = admin.get(reverse("catalog:edit_version", args=[version.pk]))
    assert edit.status_code == 200
    fixed = editor_post(valid_fields(contact_name="李四"), element_rows(elements))
    rows_uids = list(version.items.order_by("position").values_list("uid", flat=True))
    for index, uid in enumerate(rows_uids):
        fixed[f"items-k{index}-uid"] = uid
    assert admin.post(reverse("catalog:edit_version", args=[version.pk]), fixed).status_code == 302
    assert list(version.items.order_by("position").values_list("uid", flat=True)) == rows_uids
    cdo.post(reverse("catalog:submit", args=[version.pk]))
    authority.post(reverse("catalog:publish", args=[version.pk]), {"comment": "同意"})
    resource = Resource.objects.get()
    assert resource.code == "101/000001"
    page = client_for(personas.consumer_user).get(reverse("catalog:resource_detail", args=[resource.pk]))
    assert page.status_code == 200 and "101/000001" in page.content.decode()
    assert not Message.objects.filter(kind="todo", done_at__isnull=True).exists()


def test_grid_actions_without_javascript_and_with_htmx(personas, client_for):
    client = client_for(personas.provider_admin)
    rows = [
        {"name": "甲", "data_type": "C", "length": "C..5"},
        {"name": "乙", "data_type": "C", "length": "C..5"},
    ]
    fields = valid_fields()
    response = client.post(reverse("catalog:new_draft"), editor_post(fields, rows, "add"))
    assert response.status_code == 200 and response.content.decode().count('name="item_key"') == 3
    response = client.post(
        reverse("catalog:new_draft"), editor_post(fields, rows, "down:k0"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" not in html and html.index('value="乙"') < html.index('value="甲"')
    response = client.post(
        reverse("catalog:new_draft"), editor_post(fields, rows, "remove:k1"), HTTP_HX_REQUEST="true"
    )
    assert 'value="乙"' not in response.content.decode()
    assert not Resource.objects.exists()
    row = client.get(reverse("catalog:item_row"), HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and 'name="item_key"' in row.content.decode()


def test_data_element_picker_fills_type_length_and_code_set(personas, client_for):
    elements = make_elements()
    client = client_for(personas.provider_admin)
    found = client.get(reverse("catalog:element_search"), {"q": "性别", "key": "abc"})
    assert elements[2].identifier in found.content.decode()
    response = client.post(
        reverse("catalog:bind_element"),
        {
            "item_key": ["first", "abc"],
            "items-first-name": "别的",
            "items-abc-name": "",
            "element_id": elements[2].pk,
            "row_key": "abc",
        },
    )
    html = response.content.decode()
    assert f'value="{elements[2].identifier}"' in html and 'value="C1"' in html and 'value="性别"' in html
    assert 'id="row-abc"' in html and "别的" not in html
    assert f'<option value="{elements[2].code_set_id}" selected>' in html


def test_editor_duplicate_panel(personas, client_for):
    publish_indexed(personas.outsider_org, "户籍人口基本信息表")  # published and announced, so it is indexed
    client = client_for(personas.provider_admin)
    response = client.post(reverse("catalog:editor_similar"), {"name": "户籍人口基本信息", "item_key": []})
    assert "户籍人口基本信息表" in response.content.decode()


def test_other_department_cannot_edit_or_submit(personas, client_for):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    outsider = client_for(personas.outsider)
    assert outsider.get(reverse("catalog:edit_version", args=[version.pk])).status_code == 404
    assert outsider.post(reverse("catalog:submit", args=[version.pk])).status_code == 404
    assert outsider.get(reverse("catalog:resource_detail", args=[version.resource_id])).status_code == 404
    published = make_resource(personas.provider_org)
    response = outsider.get(reverse("catalog:edit_version", args=[published.published_version_id]))
    assert response.status_code == 403
    assert (
        outsider.post(reverse("catalog:start_revision", args=[published.pk]), {"reason": "x"}).status_code
        == 403
    )
    assert (
        client_for(personas.provider_cdo)
        .get(reverse("catalog:edit_version", args=[published.published_version_id]))
        .status_code
        == 403
    )
    assert outsider.get(reverse("catalog:department_of", args=[personas.provider_org.pk])).status_code == 403


def test_department_page_shows_states_completeness_and_missing_cdo(personas, client_for):
    make_resource(personas.provider_org, name="已发布资源")
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    submit(personas.provider_cdo, version)
    html = client_for(personas.provider_admin).get(reverse("catalog:department")).content.decode()
    assert "已发布资源" in html and "户籍人口基本信息" in html
    assert 'data-state="published"' in html and 'data-state="submitted"' in html and "%" in html
    assert 'data-testid="missing-cdo"' not in html
    from tongshu.accounts.tests.factories import make_user

    lonely = make_user("lonely", "data_admin", organization=personas.township)
    html = client_for(lonely).get(reverse("catalog:department")).content.decode()
    assert 'data-testid="missing-cdo"' in html


def test_business_system_pages(personas, client_for):
    admin = client_for(personas.provider_admin)
    response = admin.post(
        reverse("catalog:system_new"),
        {"name": "", "status": "online", "network": "extranet", "holds_data": "on"},
    )
    assert response.status_code == 400 and "请填写系统名称" in response.content.decode()
    response = admin.post(
        reverse("catalog:system_new"),
        {"name": "人口管理系统", "status": "online", "network": "extranet", "holds_data": "on"},
    )
    assert response.status_code == 302
    system = BusinessSystem.objects.get()
    assert (
        client_for(personas.outsider).get(reverse("catalog:system_edit", args=[system.pk])).status_code == 404
    )
    report = client_for(personas.authority).get(reverse("catalog:systems_report")).content.decode()
    assert "人口管理系统" in report and "未提供共享接口" in report
    assert admin.get(reverse("catalog:systems_report")).status_code == 403


def test_settings_page(personas, client_for):
    assert client_for(personas.authority).get(reverse("catalog:settings")).status_code == 403
    client = client_for(personas.operator)
    response = client.post(
        reverse("catalog:settings"), {"open_max_security_level": "core", "code_sequence_width": 6}
    )
    assert "核心数据不得开放" in response.content.decode()
    client.post(
        reverse("catalog:settings"), {"open_max_security_level": "general-3", "code_sequence_width": 6}
    )
    from tongshu.catalog.models import CatalogSettings

    assert CatalogSettings.current().open_max_security_level == "general-3"


def test_home_panels(personas, client_for):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    submit(personas.provider_cdo, version)
    html = client_for(personas.authority).get("/").content.decode()
    assert 'data-testid="panel-catalog-review"' in html and "户籍人口基本信息" in html
    html = client_for(personas.provider_cdo).get("/").content.decode()
    assert 'data-testid="panel-catalog-department"' in html
    menu = client_for(personas.authority).get("/").content.decode()
    assert reverse("catalog:review_queue") in menu


def test_return_without_reason_shows_the_error_beside_the_field(personas, client_for):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    submit(personas.provider_cdo, version)
    response = client_for(personas.authority).post(
        reverse("catalog:return", args=[version.pk]), {"reason": " "}
    )
    assert response.status_code == 400 and "退回时须说明原因" in response.content.decode()
    version.refresh_from_db()
    assert version.state == "submitted"
