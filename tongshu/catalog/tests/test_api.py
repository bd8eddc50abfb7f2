"""The catalog API: the review journey, denials, validation details, the refused direct type change, systems."""

from __future__ import annotations

import json

import pytest

from tongshu.assessment.models import Violation
from tongshu.catalog.models import BusinessSystem, Resource, ResourceVersion
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import items_for, make_elements, plain_items, valid_fields
from tongshu.catalog.tests.search_helpers import publish as publish_indexed
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db
BASE = "/api/v1/catalog"


def send(client, method, url, data=None):
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")


def test_api_review_journey(personas, client_for, django_capture_on_commit_callbacks):
    admin, cdo, authority = (
        client_for(p) for p in (personas.provider_admin, personas.provider_cdo, personas.authority)
    )
    elements = make_elements()
    response = send(admin, "post", f"{BASE}/resources", {**valid_fields(), "items": items_for(elements)})
    assert response.status_code == 201, response.content
    version = response.json()
    assert version["state"] == "draft" and len(version["items"]) == 10
    assert version["items"][0]["data_element_identifier"] == elements[0].identifier
    vid = version["id"]
    assert send(admin, "post", f"{BASE}/versions/{vid}/submit").status_code == 403
    assert send(cdo, "post", f"{BASE}/versions/{vid}/submit").status_code == 200
    queue = authority.get(f"{BASE}/review-queue").json()
    assert [entry["version"]["id"] for entry in queue] == [vid]
    response = send(authority, "post", f"{BASE}/versions/{vid}/return", {"reason": ""})
    assert response.status_code == 400 and response.json()["code"] == "reason_required"
    response = send(authority, "post", f"{BASE}/versions/{vid}/return", {"reason": "请补充业务解读"})
    assert response.json()["state"] == "returned" and response.json()["review_comment"] == "请补充业务解读"
    response = send(
        admin, "patch", f"{BASE}/versions/{vid}", {"business_interpretation": "户籍登记业务形成的数据"}
    )
    assert response.status_code == 200, response.content
    assert send(cdo, "post", f"{BASE}/versions/{vid}/submit").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # resource_published goes out after the commit
        response = send(authority, "post", f"{BASE}/versions/{vid}/publish", {"comment": "同意"})
    assert response.status_code == 200
    resource_id = response.json()["resource_id"]
    detail = authority.get(f"{BASE}/resources/{resource_id}").json()
    assert detail["code"] == "101/000001" and detail["published"]["id"] == vid
    listing = client_for(personas.consumer_user).get(f"{BASE}/resources?q=户籍").json()
    assert listing["count"] == 1 and listing["items"][0]["code"] == "101/000001"
    # Found by a partial Chinese query with the right facets (the search index follows publication).
    found = (
        client_for(personas.consumer_user)
        .get(
            f"{BASE}/search",
            {
                "q": "人口",
                "provider": personas.provider_org.pk,
                "share_type": "conditional",
                "update_cycle": "02",
            },
        )
        .json()
    )
    assert [hit["code"] for hit in found["results"]] == ["101/000001"]
    assert {v["value"]: v["count"] for v in found["facets"]["share_type"]}["conditional"] == 1
    # Another department cannot edit it; a direct share-type change is refused and logged.
    outsider = client_for(personas.outsider)
    assert (
        send(outsider, "post", f"{BASE}/resources/{resource_id}/revisions", {"reason": "改"}).status_code
        == 403
    )
    response = send(cdo, "patch", f"{BASE}/resources/{resource_id}", {"share_type": "unconditional"})
    assert response.status_code == 409 and response.json()["code"] == "type_change_requires_review"
    assert Violation.objects.filter(organization=personas.provider_org, article="第三十五条(一)").count() == 1


def test_validation_errors_list_every_error_and_nothing_is_stored(personas, client_for):
    client = client_for(personas.provider_admin)
    response = send(
        client, "post", f"{BASE}/resources", {**valid_fields(name="", share_conditions=""), "items": []}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "有误" in body["message"]
    assert {d["field"] for d in body["details"]} >= {"name", "share_conditions", "items"}
    assert not Resource.objects.exists()


def test_another_department_cannot_see_drafts_or_edit_published(personas, client_for):
    draft = send(
        client_for(personas.provider_admin),
        "post",
        f"{BASE}/resources",
        {**valid_fields(), "items": plain_items()},
    ).json()
    outsider = client_for(personas.outsider)
    assert outsider.get(f"{BASE}/versions/{draft['id']}").status_code == 404
    assert send(outsider, "patch", f"{BASE}/versions/{draft['id']}", {"summary": "改"}).status_code == 404
    assert outsider.get(f"{BASE}/resources/{draft['resource_id']}").status_code == 404
    assert outsider.get(f"{BASE}/resources").json()["count"] == 0
    published = make_resource(personas.provider_org)
    assert outsider.get(f"{BASE}/resources/{published.pk}").status_code == 200
    response = send(outsider, "post", f"{BASE}/resources/{published.pk}/revisions", {"reason": "越权"})
    assert response.status_code == 403 and "数据管理员" in response.json()["message"]
    assert published.versions.count() == 1
    # The authority does not see a draft nobody submitted.
    assert client_for(personas.authority).get(f"{BASE}/versions/{draft['id']}").status_code == 404


def test_direct_share_type_change_through_the_api_is_refused_and_logged(personas, client_for):
    resource = make_resource(personas.provider_org, share_type="unconditional")
    client = client_for(personas.provider_cdo)
    for url in (f"{BASE}/resources/{resource.pk}", f"{BASE}/versions/{resource.published_version_id}"):
        response = send(client, "patch", url, {"share_type": "none", "share_basis": "保密"})
        assert response.status_code == 409
        assert response.json()["code"] == "type_change_requires_review"
        assert "审核" in response.json()["message"]
    assert (
        Violation.objects.filter(
            organization=personas.provider_org, kind="unauthorized_type_change", article="第三十五条(一)"
        ).count()
        == 2
    )
    assert AuditEntry.objects.filter(action="catalog.type_change_refused").count() == 2
    assert ResourceVersion.objects.get(pk=resource.published_version_id).share_type == "unconditional"
    response = send(client, "patch", f"{BASE}/resources/{resource.pk}", {"summary": "只改摘要"})
    assert response.status_code == 409 and response.json()["code"] == "published_immutable"
    assert Violation.objects.count() == 2


def test_diff_endpoint(personas, client_for):
    resource = make_resource(personas.provider_org, name="原名称")
    client = client_for(personas.provider_admin)
    revision = send(client, "post", f"{BASE}/resources/{resource.pk}/revisions", {"reason": "更名"}).json()
    items = revision["items"]
    items[0]["name"] = "身份证号"
    items.pop()
    send(client, "patch", f"{BASE}/versions/{revision['id']}", {"name": "新名称", "items": items})
    diff = client.get(f"{BASE}/versions/{revision['id']}/diff").json()
    assert {"field": "name", "label": "信息资源名称", "old": "原名称", "new": "新名称"}.items() <= diff[
        "fields"
    ][0].items()
    assert diff["items"]["renamed"] == [{"uid": "i001", "old": "公民身份号码", "new": "身份证号"}]
    assert [item["name"] for item in diff["items"]["removed"]] == ["出生日期"]


def test_similar_endpoint_finds_published_lookalikes(personas, client_for):
    publish_indexed(personas.outsider_org, "户籍人口基本信息表")  # published and announced, so it is indexed
    draft = send(
        client_for(personas.provider_admin),
        "post",
        f"{BASE}/resources",
        {**valid_fields(), "items": plain_items()},
    ).json()
    rows = client_for(personas.provider_admin).get(f"{BASE}/versions/{draft['id']}/similar").json()
    assert rows and rows[0]["name"] == "户籍人口基本信息表" and rows[0]["reasons"]


def test_business_systems_and_report(personas, client_for):
    admin = client_for(personas.provider_admin)
    response = send(admin, "post", f"{BASE}/systems", {"name": "人口管理系统", "has_share_interface": True})
    assert response.status_code == 201, response.content
    system_id = response.json()["id"]
    send(admin, "post", f"{BASE}/systems", {"name": "治安管理系统"})
    assert send(admin, "post", f"{BASE}/systems", {"name": "人口管理系统"}).status_code == 400
    outsider = client_for(personas.outsider)
    assert outsider.get(f"{BASE}/systems/{system_id}").status_code == 404
    assert send(outsider, "patch", f"{BASE}/systems/{system_id}", {"name": "x"}).status_code == 404
    assert outsider.get(f"{BASE}/systems/report").status_code == 403
    assert admin.get(f"{BASE}/systems/report").status_code == 403
    report = client_for(personas.authority).get(f"{BASE}/systems/report").json()
    by_name = {row["system"]["name"]: {p["code"] for p in row["problems"]} for row in report}
    assert by_name == {"人口管理系统": {"no_catalog"}, "治安管理系统": {"no_catalog", "no_share_interface"}}
    make_resource(personas.provider_org, business_system=BusinessSystem.objects.get(pk=system_id))
    report = client_for(personas.operator).get(f"{BASE}/systems/report").json()
    assert [row["system"]["name"] for row in report] == ["治安管理系统"]
    assert send(admin, "delete", f"{BASE}/systems/{system_id}").status_code == 409
    assert client_for(personas.authority).get(f"{BASE}/systems").status_code == 200


def test_settings(personas, client_for):
    assert (
        send(
            client_for(personas.authority), "patch", f"{BASE}/settings", {"code_sequence_width": 5}
        ).status_code
        == 403
    )
    response = send(
        client_for(personas.operator), "patch", f"{BASE}/settings", {"open_max_security_level": "core"}
    )
    assert response.status_code == 400
    response = send(client_for(personas.operator), "patch", f"{BASE}/settings", {"code_sequence_width": 5})
    assert response.json()["code_sequence_width"] == 5
    assert client_for(personas.provider_cdo).get(f"{BASE}/settings").json()["code_sequence_width"] == 5


def test_catalog_operations_are_in_the_openapi_document(personas, client_for):
    schema = client_for(personas.provider_admin).get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/catalog/resources",
        "/api/v1/catalog/versions/{version_id}/submit",
        "/api/v1/catalog/versions/{version_id}/diff",
        "/api/v1/catalog/systems/report",
        "/api/v1/catalog/settings",
    ):
        assert path in paths
