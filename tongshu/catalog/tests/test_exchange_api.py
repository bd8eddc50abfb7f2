"""`/api/v1/catalog/exchange` and `/api/v1/catalog/dcat`: uploads, exports, the county catalog, the DCAT feed, and
who is refused."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import make_user
from tongshu.catalog.choices import OpenType, ShareType, VersionState
from tongshu.catalog.exchange.columns import ITEM_SHEET, RESOURCE_SHEET
from tongshu.catalog.models import InfoItem, Resource, ResourceVersion
from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.tests.factories import make_category

from .exchange_fixtures import items_for, resource_row, valid_workbook, workbook_bytes, zip_bomb

API = "/api/v1/catalog/exchange"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def categories(db):
    make_category("101", "人口")


def upload(client, data: bytes, name: str = "目录.xlsx"):
    return client.post(f"{API}/import", {"file": SimpleUploadedFile(name, data, content_type=XLSX)})


def counts() -> tuple[int, int, int]:
    return Resource.objects.count(), ResourceVersion.objects.count(), InfoItem.objects.count()


def sheet_rows(content: bytes, sheet: str) -> list[list]:
    ws = load_workbook(io.BytesIO(content))[sheet]
    return [[cell.value for cell in row] for row in ws.iter_rows(min_row=2)]


def test_import_success(categories, personas, client_for) -> None:
    response = upload(client_for(personas.provider_cdo), valid_workbook(2))
    assert response.status_code == 201, response.content
    body = response.json()
    assert [r["name"] for r in body["created"]] == ["导入测试资源1", "导入测试资源2"]
    assert {r["state"] for r in body["created"]} == {"draft"}
    assert counts()[0] == 2


def test_import_with_a_bad_row_is_400_with_every_error(categories, personas, client_for) -> None:
    data = workbook_bytes(
        [resource_row(1), resource_row(2, 更新周期="每十年")], [*items_for(1), *items_for(2)]
    )
    response = upload(client_for(personas.provider_admin), data)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "catalog_import_invalid" and "未保存" in body["message"]
    assert body["details"] == [
        {
            "sheet": RESOURCE_SHEET,
            "row": 3,
            "column": "更新周期",
            "reason": "“每十年”不是有效的更新周期，可选：实时、每日、每周、每月、每季度、每半年、每年、不定期",
        }
    ]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    "data, status, code",
    [
        ("序号,信息资源名称\n1,人口库\n".encode("gbk"), 400, "not_xlsx"),
        (bytes(range(256)) * 40, 400, "not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000, 400, "not_xlsx"),
    ],
    ids=["gbk-csv", "garbage", "old-xls"],
)
def test_non_xlsx_uploads_are_refused(categories, personas, client_for, data, status, code) -> None:
    response = upload(client_for(personas.provider_admin), data, name="目录.xlsx")
    assert response.status_code == status and response.json()["code"] == code
    assert "XLSX" in response.json()["message"]
    assert counts() == (0, 0, 0)


def test_zip_bomb_is_refused(categories, personas, client_for) -> None:
    response = upload(client_for(personas.provider_admin), zip_bomb())
    assert response.status_code == 413 and response.json()["code"] == "xlsx_too_large"
    assert counts() == (0, 0, 0)


def test_oversize_upload_is_413(categories, personas, client_for, settings) -> None:
    settings.CATALOG_IMPORT_MAX_MB = 1
    response = upload(client_for(personas.provider_admin), b"PK" + b"\0" * (1200 * 1024))
    assert response.status_code == 413
    assert response.json() == {"code": "upload_too_large", "message": "文件过大：上传的文件不能超过 1 MB"}
    assert counts() == (0, 0, 0)


def test_import_without_a_file(personas, client_for) -> None:
    response = client_for(personas.provider_admin).post(f"{API}/import", {})
    assert response.status_code == 400 and response.json()["code"] == "file_required"


@pytest.mark.parametrize("who", ["dept_user", "consumer_user", "authority", "operator", "citizen"])
def test_import_is_refused_to_others(categories, personas, client_for, who) -> None:
    user = (
        make_user("gaj_clerk", Role.DEPT_USER, organization=personas.provider_org)
        if who == "dept_user"
        else getattr(personas, who)
    )
    response = upload(client_for(user), valid_workbook(1))
    assert response.status_code == 403
    assert counts() == (0, 0, 0)


def test_import_anonymous_is_401(anonymous) -> None:
    assert upload(anonymous, b"x").status_code == 401


def test_template_download(personas, client_for, anonymous) -> None:
    response = client_for(personas.consumer_user).get(f"{API}/template")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert load_workbook(io.BytesIO(response.content)).sheetnames[:2] == [RESOURCE_SHEET, ITEM_SHEET]
    assert client_for(personas.citizen).get(f"{API}/template").status_code == 403
    assert anonymous.get(f"{API}/template").status_code == 401


def test_department_export_and_who_may(categories, personas, client_for, anonymous) -> None:
    published = make_resource(personas.provider_org, name="户籍人口")
    make_resource(personas.provider_org, name="编制中的资源", state=VersionState.DRAFT)
    url = f"{API}/departments/{personas.provider_org.pk}/export"
    clerk = make_user("gaj_clerk", Role.DEPT_USER, organization=personas.provider_org)
    for user in (personas.provider_admin, clerk, personas.authority, personas.operator):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
        rows = sheet_rows(response.content, RESOURCE_SHEET)
        assert [(row[2], row[3]) for row in rows] == [("户籍人口", published.code)]
    drafts = client_for(personas.provider_admin).get(f"{url}?drafts=true")
    assert [row[2] for row in sheet_rows(drafts.content, RESOURCE_SHEET)] == ["户籍人口", "编制中的资源"]
    for user in (personas.consumer_user, personas.outsider, personas.citizen):
        assert client_for(user).get(url).status_code == 403, user
    assert client_for(personas.authority).get(f"{url}?drafts=true").status_code == 403
    assert anonymous.get(url).status_code == 401
    assert client_for(personas.authority).get(f"{API}/departments/99999/export").status_code == 404


def test_county_catalog_has_every_published_department_catalog_and_no_drafts(
    categories, personas, client_for
) -> None:
    a = make_resource(personas.provider_org, name="户籍人口")
    b = make_resource(personas.consumer_org, name="低保对象")
    c = make_resource(personas.township, name="乡镇人口")
    make_resource(personas.outsider_org, name="草稿资源", state=VersionState.DRAFT)
    retired = make_resource(personas.outsider_org, name="已停用")
    Resource.objects.filter(pk=retired.pk).update(is_retired=True)
    client = client_for(personas.authority)

    xlsx = client.get(f"{API}/county.xlsx")
    assert xlsx.status_code == 200
    rows = sheet_rows(xlsx.content, RESOURCE_SHEET)
    assert sorted(row[3] for row in rows) == sorted([a.code, b.code, c.code])
    assert {row[4] for row in rows} == {"华容县公安局", "华容县民政局", "华容县章华镇人民政府"}
    assert len(sheet_rows(xlsx.content, ITEM_SHEET)) == 12

    body = json.loads(client.get(f"{API}/county.json").content)
    assert body["catalog"]["level"] == "分目录"
    assert body["catalog"]["county"] == "华容县" and body["catalog"]["division"] == "430623"
    assert body["catalog"]["exported_at"] and body["catalog"]["resource_count"] == 3
    names = {r["name"] for r in body["resources"]}
    assert names == {"户籍人口", "低保对象", "乡镇人口"}
    first = next(r for r in body["resources"] if r["code"] == a.code)
    assert first["share_type"] == {"code": "unconditional", "name": "无条件共享"}
    assert first["update_cycle"] == {"code": "02", "name": "每日"}
    assert first["category"] == {"code": "101", "name": "人口"}
    assert first["provider"]["name"] == "华容县公安局"
    assert (
        first["items"][0]["data_type"] == {"code": "C", "name": "字符型"}
        and first["items"][0]["is_key"] is True
    )
    assert client_for(personas.operator).get(f"{API}/county.json").status_code == 200


@pytest.mark.parametrize("who", ["provider_cdo", "consumer_user", "inspector", "auditor", "citizen"])
def test_county_export_is_refused_to_others(personas, client_for, who) -> None:
    client = client_for(getattr(personas, who))
    assert client.get(f"{API}/county.xlsx").status_code == 403
    assert client.get(f"{API}/county.json").status_code == 403


def test_county_export_anonymous_is_401(anonymous) -> None:
    assert anonymous.get(f"{API}/county.json").status_code == 401


def test_dcat_feed_lists_only_open_published_resources(categories, personas, anonymous) -> None:
    open_one = make_resource(
        personas.provider_org,
        name="公共厕所分布",
        open_type=OpenType.UNCONDITIONAL,
        open_methods=["1"],
        keywords="厕所;民生",
        update_cycle="04",
        contact_name="李四",
        contact_phone="0730-4281234",
        usage_requirements="引用时注明来源",
    )
    conditional = make_resource(
        personas.consumer_org,
        name="养老机构名录",
        share_type=ShareType.CONDITIONAL,
        share_conditions="履职需要",
        open_type=OpenType.CONDITIONAL,
        open_conditions="经申请同意",
        open_methods=["2"],
    )
    make_resource(personas.provider_org, name="不开放的资源")
    make_resource(
        personas.provider_org, name="开放草稿", state=VersionState.DRAFT, open_type=OpenType.UNCONDITIONAL
    )
    retired = make_resource(personas.provider_org, name="已停用开放", open_type=OpenType.UNCONDITIONAL)
    Resource.objects.filter(pk=retired.pk).update(is_retired=True)

    response = anonymous.get("/api/v1/catalog/dcat")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    feed = json.loads(response.content)
    context = feed["@context"]
    assert context["dcat"] == "http://www.w3.org/ns/dcat#" and context["dct"] == "http://purl.org/dc/terms/"
    assert {"foaf", "vcard"} <= set(context)
    assert "dcat:Catalog" in feed["@type"] and feed["hydra:totalItems"] == 2
    datasets = {d["dct:identifier"]: d for d in feed["dcat:dataset"]}
    assert set(datasets) == {open_one.code, conditional.code}
    required = {
        "@id", "@type", "dct:identifier", "dct:title", "dct:description", "dct:publisher", "dcat:keyword",
        "dct:issued", "dct:modified", "dcat:theme", "dct:accrualPeriodicity", "dcat:contactPoint",
        "dcat:distribution", "dct:accessRights",
    }  # fmt: skip
    for dataset in datasets.values():
        assert required <= set(dataset), required - set(dataset)
        assert dataset["@type"] == "dcat:Dataset"
    public = datasets[open_one.code]
    assert public["dct:title"] == {"@value": "公共厕所分布", "@language": "zh-Hans"}
    assert public["dct:publisher"]["foaf:name"]["@value"] == "华容县公安局"
    assert [k["@value"] for k in public["dcat:keyword"]] == ["厕所", "民生"]
    assert public["dct:accrualPeriodicity"]["@id"].endswith("/frequency/MONTHLY")
    assert public["dcat:theme"]["skos:notation"] == "101"
    assert public["dcat:contactPoint"]["vcard:hasTelephone"] == {"@id": "tel:0730-4281234"}
    assert public["dct:accessRights"]["@id"].endswith("/access-right/PUBLIC")
    assert public["dct:rights"]["rdfs:label"]["@value"] == "引用时注明来源"
    downloads = {d["dcat:downloadURL"]["@id"] for d in public["dcat:distribution"]}
    assert downloads == {
        f"http://testserver/open/datasets/{open_one.code}/download.{suffix}"
        for suffix in ("csv", "xlsx", "json")
    }
    restricted = datasets[conditional.code]
    assert restricted["dct:accessRights"]["@id"].endswith("/access-right/RESTRICTED")
    assert "经申请同意" in restricted["dct:accessRights"]["rdfs:label"]["@value"]
    assert all("dcat:downloadURL" not in d for d in restricted["dcat:distribution"])
    text = response.content.decode()
    assert "不开放的资源" not in text and "开放草稿" not in text and "已停用开放" not in text


def test_dcat_feed_pages(categories, personas, anonymous, monkeypatch) -> None:
    from tongshu.catalog.exchange import dcat

    for n in range(3):
        make_resource(
            personas.provider_org, name=f"开放资源{n}", open_type=OpenType.UNCONDITIONAL, open_methods=["1"]
        )
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    first = anonymous.get("/api/v1/catalog/dcat").json()
    assert len(first["dcat:dataset"]) == 2 and first["hydra:totalItems"] == 3
    assert first["hydra:view"]["hydra:next"] == {"@id": "http://testserver/api/v1/catalog/dcat?page=2"}
    assert "hydra:previous" not in first["hydra:view"]
    second = anonymous.get("/api/v1/catalog/dcat?page=2").json()
    assert len(second["dcat:dataset"]) == 1 and "hydra:next" not in second["hydra:view"]
    identifiers = {d["dct:identifier"] for d in first["dcat:dataset"] + second["dcat:dataset"]}
    assert len(identifiers) == 3


def test_dcat_jsonld_url_is_public(categories, personas, anonymous) -> None:
    make_resource(
        personas.provider_org, name="开放资源", open_type=OpenType.UNCONDITIONAL, open_methods=["1"]
    )
    response = anonymous.get("/catalog/dcat.jsonld")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/ld+json")
    feed = json.loads(response.content)
    assert feed["@id"] == "http://testserver/catalog/dcat.jsonld" and len(feed["dcat:dataset"]) == 1


def test_upload_just_over_the_limit_is_stopped_while_reading(
    categories, personas, client_for, settings
) -> None:
    """Content-Length alone lets it through (it allows for the multipart envelope); the counting handler stops it."""
    settings.CATALOG_IMPORT_MAX_MB = 1
    response = upload(client_for(personas.provider_admin), b"PK" + b"\0" * (1024 * 1024 + 10 * 1024))
    assert response.status_code == 413 and response.json()["code"] == "upload_too_large"
    assert counts() == (0, 0, 0)


def test_upload_limit_handler_counts_chunks() -> None:
    from django.core.files.uploadhandler import StopUpload

    from tongshu.catalog.exchange.uploads import UploadLimit

    handler = UploadLimit(None, limit=10)
    assert handler.receive_data_chunk(b"12345", 0) == b"12345"
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"123456", 5)
    assert handler.exceeded and handler.received == 11


def test_feed_and_county_export_queries_do_not_grow_with_the_catalog(
    categories, personas, client_for, anonymous
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def measure() -> tuple[int, int]:
        client = client_for(personas.authority)
        with CaptureQueriesContext(connection) as feed:
            anonymous.get("/api/v1/catalog/dcat")
        with CaptureQueriesContext(connection) as county:
            client.get(f"{API}/county.json")
        return len(feed), len(county)

    def add(count: int) -> None:
        for _ in range(count):
            make_resource(personas.provider_org, open_type=OpenType.UNCONDITIONAL, open_methods=["1"])

    add(2)
    small = measure()
    add(5)
    assert measure() == small
