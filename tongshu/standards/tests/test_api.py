"""`/api/v1/standards`: everyone signed in (and application keys) reads; only the operator writes."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongshu.accounts.services import create_api_key
from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.models import CodeSet, DataElement, ResourceCategory

from .factories import make_category, make_code_set, make_data_element
from .helpers import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db
BASE = "/api/v1/standards"
ROAD_CLASS = [["code", "name"], ["1", "高速公路"], ["2", "一级公路"]]


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def send(client, method: str, url: str, data=None):
    if method == "get":
        return client.get(url)
    if method == "multipart":
        return client.post(url, data)
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def standards_data(db):
    make_code_set("yes-no", {"1": "是", "0": "否"})
    make_data_element(identifier="DE0500", name="是否有效")
    make_category("101", "人口")


WRITES = [
    (
        "multipart",
        "/code-sets/import",
        lambda: {"file": upload("s.csv", csv_bytes(ROAD_CLASS)), "identifier": "road", "name": "公路"},
    ),
    ("post", "/code-sets/yes-no/versions/1/make-current", lambda: None),
    (
        "post",
        "/data-elements",
        lambda: {"name": "道路等级", "definition": "定义", "data_type": "C", "length": "C1"},
    ),
    ("patch", "/data-elements/DE0500", lambda: {"name": "改名"}),
    ("delete", "/data-elements/DE0500", lambda: None),
    ("multipart", "/categories/import", lambda: {"file": upload("c.json", b'[{"code": "2", "name": "x"}]')}),
    ("post", "/categories/sync-departments", lambda: None),
]
READS = [
    "/code-sets",
    "/code-sets/yes-no",
    "/code-sets/yes-no/values",
    "/data-elements",
    "/data-elements/DE0500",
    "/categories",
    "/categories/tree",
    "/categories/export?format=json",
    "/formats/length?notation=C..50",
]


@pytest.mark.parametrize("url", READS)
def test_reads_need_a_caller_and_are_open_to_every_signed_in_role(
    standards_data, personas, client_for, anonymous, url
):
    response = anonymous.get(BASE + url)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    for persona in ("consumer_user", "auditor", "inspector", "citizen", "operator"):
        assert client_for(getattr(personas, persona)).get(BASE + url).status_code == 200, persona


@pytest.mark.parametrize(("method", "url", "data"), WRITES, ids=[w[1] for w in WRITES])
def test_writes_are_refused_to_everyone_but_the_operator(
    standards_data, personas, client_for, anonymous, method, url, data
):
    assert send(anonymous, method, BASE + url, data()).status_code == 401
    for persona in (
        "provider_admin",
        "provider_cdo",
        "consumer_user",
        "security_admin",
        "authority",
        "citizen",
    ):
        response = send(client_for(getattr(personas, persona)), method, BASE + url, data())
        assert response.status_code == 403, (persona, response.content)
        assert response.json()["code"] == "forbidden"
        assert "系统管理员" in response.json()["message"]
    assert not CodeSet.objects.filter(identifier="road").exists()
    assert DataElement.objects.get(identifier="DE0500").name == "是否有效"
    assert not ResourceCategory.objects.filter(code="2").exists()


def test_application_keys_read_but_never_write(standards_data, personas, anonymous):
    _key, token = create_api_key(
        personas.provider_admin, name="人口库对接", organization=personas.provider_org
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    response = anonymous.get(f"{BASE}/code-sets/yes-no/values", **auth)
    assert response.status_code == 200
    assert response.json()["items"] == [
        {"code": "1", "name": "是", "parent_code": ""},
        {"code": "0", "name": "否", "parent_code": ""},
    ]
    refused = anonymous.post(f"{BASE}/categories/sync-departments", **auth)
    assert refused.status_code == 403 and refused.json()["code"] == "user_required"


def test_operator_imports_a_set_then_a_version_and_reads_the_diff(personas, client_for):
    client = client_for(personas.operator)
    first = client.post(
        f"{BASE}/code-sets/import",
        {
            "file": upload("road.csv", csv_bytes(ROAD_CLASS)),
            "identifier": "road",
            "name": "公路技术等级",
            "version": "2014",
        },
    )
    assert first.status_code == 201, first.content
    assert first.json()["version"] == "2014" and first.json()["is_current"]
    second = client.post(
        f"{BASE}/code-sets/import",
        {
            "file": upload("road.xlsx", xlsx_bytes([["code", "name"], ["1", "高速公路"], ["3", "二级公路"]])),
            "identifier": "road",
            "version": "2025",
        },
    )
    assert second.status_code == 201, second.content
    detail = client.get(f"{BASE}/code-sets/road").json()
    assert detail["current_version"] == "2025" and [v["version"] for v in detail["versions"]] == [
        "2025",
        "2014",
    ]
    diff = client.get(f"{BASE}/code-sets/road/diff").json()
    assert (diff["from_version"], diff["to_version"]) == ("2014", "2025")
    assert diff["added"] == [
        {
            "code": "3",
            "name": "二级公路",
            "old_name": None,
            "new_name": None,
            "old_parent": None,
            "new_parent": None,
        }
    ]
    assert [e["code"] for e in diff["removed"]] == ["2"]
    back = client.post(f"{BASE}/code-sets/road/versions/2014/make-current")
    assert back.status_code == 200 and back.json()["is_current"]
    values = client.get(f"{BASE}/code-sets/road/values?limit=1&offset=1").json()
    assert values == {
        "version": "2014",
        "count": 2,
        "items": [{"code": "2", "name": "一级公路", "parent_code": ""}],
    }


def test_a_bad_file_comes_back_with_every_row_error_in_chinese(personas, client_for):
    client = client_for(personas.operator)
    rows = [["code", "name"], ["1", "高速公路"], ["1", "重复"], ["", "空"]]
    response = client.post(
        f"{BASE}/code-sets/import",
        {"file": upload("r.csv", csv_bytes(rows, "gbk")), "identifier": "road", "name": "公路"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_file" and "未导入任何数据" in body["message"]
    assert [(e["row"], e["column"]) for e in body["details"]] == [(3, "code"), (4, "code")]
    assert not CodeSet.objects.filter(identifier="road").exists()


def test_data_element_crud_and_in_use_conflict(personas, client_for):
    client = client_for(personas.operator)
    make_code_set("road-class", {"1": "高速公路"})
    created = send(
        client,
        "post",
        f"{BASE}/data-elements",
        {
            "name": "道路等级",
            "definition": "道路的技术等级。",
            "data_type": "C",
            "length": "C1",
            "code_set": "road-class",
        },
    )
    assert created.status_code == 201, created.content
    identifier = created.json()["identifier"]
    assert created.json()["code_set"] == "road-class"
    bad = send(client, "patch", f"{BASE}/data-elements/{identifier}", {"length": "C..x"})
    assert bad.status_code == 400 and bad.json()["field"] == "length"
    assert "无法识别" in bad.json()["message"]
    patched = send(client, "patch", f"{BASE}/data-elements/{identifier}", {"length": "C2", "code_set": None})
    assert (
        patched.status_code == 200 and patched.json()["length"] == "C2" and patched.json()["code_set"] is None
    )
    found = client.get(f"{BASE}/data-elements?q=道路").json()
    assert found["count"] == 1 and found["items"][0]["identifier"] == identifier

    element = DataElement.objects.get(identifier=identifier)
    item = make_resource(personas.provider_org, state="draft").versions.get().items.first()
    item.data_element = element
    item.save()
    conflict = client.delete(f"{BASE}/data-elements/{identifier}")
    assert conflict.status_code == 409 and conflict.json()["code"] == "element_in_use"
    item.data_element = None
    item.save()
    assert client.delete(f"{BASE}/data-elements/{identifier}").status_code == 204
    assert client.get(f"{BASE}/data-elements/{identifier}").status_code == 404


def test_categories_import_export_and_tree(personas, client_for):
    client = client_for(personas.operator)
    rows = [["分类代码", "分类名称", "上级分类代码"], ["1", "基础信息资源", ""], ["101", "人口", "1"]]
    imported = client.post(
        f"{BASE}/categories/import", {"file": upload("city.xlsx", xlsx_bytes(rows)), "mode": "extend"}
    )
    assert imported.status_code == 200 and imported.json() == {"created": 2, "updated": 0, "deactivated": 0}
    tree = client.get(f"{BASE}/categories/tree").json()
    assert tree[0]["code"] == "1" and tree[0]["children"][0]["name"] == "人口"
    exported = client.get(f"{BASE}/categories/export?format=xlsx")
    assert exported.status_code == 200 and exported["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )
    flat = client.get(f"{BASE}/categories?level=2").json()
    assert [(c["code"], c["parent"]) for c in flat] == [("101", "1")]
    wrong = client.post(
        f"{BASE}/categories/import", {"file": upload("c.json", b'[{"code": "1001", "name": "x"}]')}
    )
    assert wrong.status_code == 400 and wrong.json()["details"][0]["row"] == 1


def test_length_notation_endpoint(personas, client_for):
    client = client_for(personas.consumer_user)
    assert client.get(f"{BASE}/formats/length?notation=N..18,2").json() == {
        "kind": "N",
        "min": 1,
        "max": 18,
        "scale": 2,
    }
    bad = client.get(f"{BASE}/formats/length?notation=Q1")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_length"


def test_the_operations_are_in_the_openapi_document(personas, client_for):
    paths = client_for(personas.consumer_user).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/standards/code-sets",
        "/api/v1/standards/code-sets/import",
        "/api/v1/standards/data-elements",
        "/api/v1/standards/categories/tree",
    ):
        assert path in paths


@pytest.mark.parametrize("url", ["/code-sets", "/data-elements", "/categories", "/categories/tree"])
def test_list_endpoints_do_not_grow_queries_with_rows(personas, client_for, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(personas.consumer_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(BASE + url).status_code == 200
        return len(captured)

    make_code_set("set-a")
    make_data_element(code_set=CodeSet.objects.get(identifier="set-a"))
    make_category("101001", "户籍人口")
    queries()  # the first request of a session also writes the session
    few = queries()
    for n in range(8):
        make_code_set(f"set-{n}")
        make_data_element(code_set=CodeSet.objects.get(identifier=f"set-{n}"))
        make_category(f"10{n + 2}", f"分类{n}")
    assert queries() == few
