"""The standards pages: readable by every staff role, changed only by the operator, errors shown in Chinese."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.models import CodeSet, DataElement, ResourceCategory

from .factories import make_category, make_code_set, make_data_element
from .helpers import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db):
    make_code_set("yes-no", {"1": "是", "0": "否"}, name="是否代码")
    make_data_element(
        identifier="DE0500", name="是否有效", code_set=CodeSet.objects.get(identifier="yes-no"), length="C1"
    )
    make_category("101", "人口")


READ_PAGES = [
    "/standards/code-sets/",
    "/standards/code-sets/yes-no/",
    "/standards/code-sets/yes-no/diff/",
    "/standards/data-elements/",
    "/standards/data-elements/DE0500/",
    "/standards/categories/",
    "/standards/categories/export/json/",
]
MANAGE_PAGES = [
    "/standards/code-sets/new/",
    "/standards/data-elements/new/",
    "/standards/data-elements/DE0500/edit/",
]
MANAGE_POSTS = [
    "/standards/code-sets/yes-no/upload/",
    "/standards/code-sets/yes-no/versions/1/current/",
    "/standards/data-elements/DE0500/active/",
    "/standards/data-elements/DE0500/delete/",
    "/standards/categories/import/",
    "/standards/categories/sync-departments/",
]


@pytest.mark.parametrize("url", READ_PAGES + MANAGE_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(data, anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", READ_PAGES)
def test_every_staff_role_reads_the_standards(data, personas, client_for, url):
    for persona in ("consumer_user", "provider_admin", "auditor", "inspector", "operator"):
        response = client_for(getattr(personas, persona)).get(url)
        assert response.status_code == 200, (persona, url)


@pytest.mark.parametrize("url", MANAGE_PAGES + MANAGE_POSTS)
def test_only_the_operator_reaches_the_management_pages(data, personas, client_for, url):
    for persona in ("consumer_user", "provider_cdo", "security_admin", "authority"):
        client = client_for(getattr(personas, persona))
        response = client.post(url) if url in MANAGE_POSTS else client.get(url)
        assert response.status_code == 403, (persona, url)
        assert "只有系统管理员" in response.content.decode()
    assert DataElement.objects.get(identifier="DE0500").is_active


def test_menu_shows_the_standards_section_to_staff(data, personas, client_for):
    page = client_for(personas.consumer_user).get("/standards/code-sets/").content.decode()
    for label in ("标准规范", "代码集", "数据元", "资源分类"):
        assert label in page
    assert "导入代码集" not in page  # no import button for a reader
    assert "导入代码集" in client_for(personas.operator).get("/standards/code-sets/").content.decode()


def test_code_set_page_searches_and_pages_values(data, personas, client_for):
    client = client_for(personas.consumer_user)
    page = client.get("/standards/code-sets/yes-no/?q=否").content.decode()
    assert "否" in page and "<td>是</td>" not in page
    fragment = client.get("/standards/code-sets/yes-no/?q=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="values")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body and "<td>是</td>" in body


def test_upload_with_a_bad_row_lists_the_row_and_saves_nothing(data, personas, client_for):
    client = client_for(personas.operator)
    rows = [["code", "name"], ["1", "是"], ["1", "又是"]]
    file = SimpleUploadedFile("v2.csv", csv_bytes(rows, "gbk"))
    response = client.post(
        "/standards/code-sets/yes-no/upload/", {"file": file, "version": "2", "make_current": "on"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "未导入任何数据" in body and "代码“1”与第 2 行重复" in body
    assert CodeSet.objects.get(identifier="yes-no").versions.count() == 1


def test_upload_of_a_good_version_makes_it_current_and_the_diff_page_shows_it(data, personas, client_for):
    client = client_for(personas.operator)
    file = SimpleUploadedFile("v2.xlsx", xlsx_bytes([["code", "name"], ["1", "是"], ["9", "未知"]]))
    response = client.post(
        "/standards/code-sets/yes-no/upload/", {"file": file, "version": "2", "make_current": "on"}
    )
    assert response.status_code == 302
    assert CodeSet.objects.get(identifier="yes-no").current_version.version == "2"
    diff = client.get("/standards/code-sets/yes-no/diff/?from=1&to=2").content.decode()
    assert "未知" in diff and "否" in diff
    response = client.post("/standards/code-sets/yes-no/versions/1/current/")
    assert response.status_code == 302
    assert CodeSet.objects.get(identifier="yes-no").current_version.version == "1"


def test_new_code_set_page(data, personas, client_for):
    client = client_for(personas.operator)
    file = SimpleUploadedFile("road.csv", csv_bytes([["代码", "名称"], ["1", "高速公路"]]))
    fields = {"identifier": "road-class", "name": "公路技术等级", "standard": "", "file": file}
    response = client.post("/standards/code-sets/new/", fields)
    assert response.status_code == 302 and response["Location"] == "/standards/code-sets/road-class/"
    again = client.post(
        "/standards/code-sets/new/", {**fields, "file": SimpleUploadedFile("r.csv", b"code,name\n1,x")}
    )
    assert again.status_code == 400 and "该标识已被使用" in again.content.decode()


def test_data_element_form_shows_errors_beside_fields(data, personas, client_for):
    client = client_for(personas.operator)
    fields = {
        "identifier": "",
        "name": "道路等级",
        "definition": "道路的技术等级。",
        "data_type": "N",
        "length": "C1",
    }
    response = client.post("/standards/data-elements/new/", fields)
    assert response.status_code == 400 and "与数据类型 N 不一致" in response.content.decode()
    response = client.post(
        "/standards/data-elements/new/", {**fields, "data_type": "C", "code_set": "yes-no"}
    )
    assert response.status_code == 302
    element = DataElement.objects.get(name="道路等级")
    assert element.code_set.identifier == "yes-no" and element.identifier == "DE0501"
    response = client.post(
        f"/standards/data-elements/{element.identifier}/edit/", {**fields, "data_type": "C", "length": "C2"}
    )
    assert response.status_code == 302
    element.refresh_from_db()
    assert element.length == "C2" and element.code_set is None


def test_data_element_in_use_can_be_deactivated_but_not_deleted_from_its_page(data, personas, client_for):
    client = client_for(personas.operator)
    element = DataElement.objects.get(identifier="DE0500")
    item = make_resource(personas.provider_org, state="draft").versions.get().items.first()
    item.data_element = element
    item.save()
    page = client.get("/standards/data-elements/DE0500/").content.decode()
    assert "1 个信息项" in page and "删除</button>" not in page
    response = client.post("/standards/data-elements/DE0500/delete/", follow=True)
    assert "不能删除，只能停用" in response.content.decode()
    client.post("/standards/data-elements/DE0500/active/", {"active": "0"})
    element.refresh_from_db()
    assert not element.is_active


def test_category_page_imports_and_shows_the_tree(data, personas, client_for):
    client = client_for(personas.operator)
    rows = [["分类代码", "分类名称", "上级分类代码"], ["2", "主题信息资源", ""], ["215", "乡村振兴", "2"]]
    response = client.post(
        "/standards/categories/import/",
        {"file": SimpleUploadedFile("city.xlsx", xlsx_bytes(rows)), "mode": "extend"},
    )
    assert response.status_code == 302
    page = client.get("/standards/categories/").content.decode()
    assert "乡村振兴" in page and "市级总目录" in page
    bad = [["分类代码", "分类名称", "上级分类代码"], ["21", "两位", ""]]
    response = client.post(
        "/standards/categories/import/",
        {"file": SimpleUploadedFile("bad.xlsx", xlsx_bytes(bad)), "mode": "extend"},
    )
    assert response.status_code == 400 and "分类代码位数不符合分类层级" in response.content.decode()
    assert not ResourceCategory.objects.filter(code="21").exists()
    export = client.get("/standards/categories/export/xlsx/")
    assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
