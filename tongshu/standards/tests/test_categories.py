"""The category tree: code widths, importing the city master catalog framework, export round trip, the department
branch."""

from __future__ import annotations

import json

import pytest

from tongshu.accounts.models import Organization
from tongshu.accounts.tests.factories import make_organization
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.security.models import AuditEntry
from tongshu.standards.categories import code_problem, department_code, level_of, parent_code_of
from tongshu.standards.models import ResourceCategory
from tongshu.standards.services import (
    category_tree,
    export_categories,
    import_categories,
    sync_department_branch,
)
from tongshu.standards.tabular import read_table

from .factories import make_category
from .helpers import xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = ["分类代码", "分类名称", "上级分类代码"]
CITY = [
    HEADER,
    ["1", "基础信息资源", ""],
    ["101", "人口", "1"],
    ["101001", "户籍人口", "101"],
    ["1010011", "户籍登记", "101001"],
    ["2", "主题信息资源", ""],
    ["215", "乡村振兴", "2"],
]


def _import(user, content, filename="总目录.xlsx", mode="extend"):
    return import_categories(user, content=content, filename=filename, mode=mode)


def test_codes_follow_the_configured_widths(settings):
    assert [level_of(code) for code in ("1", "101", "101001", "1010011", "10")] == [1, 2, 3, 4, None]
    assert (
        parent_code_of("1010011") == "101001" and parent_code_of("101") == "1" and parent_code_of("1") == ""
    )
    assert code_problem("10a") == "分类代码只能由数字组成"
    assert "位数" in code_problem("10")
    assert department_code(7) == "307" and department_code(101) is None
    settings.CATALOG_CATEGORY_WIDTHS = (2, 2, 3)
    assert level_of("0101") == 2 and code_problem("1") is not None
    assert department_code(7) == "0307"


def test_city_master_catalog_import_extends_the_tree(personas):
    population = make_category("101", "人口")  # with its class 1, from the platform
    counts = _import(personas.operator, xlsx_bytes(CITY))
    assert counts == {"created": 4, "updated": 2, "deactivated": 0}
    population.refresh_from_db()
    assert population.source == "city"
    detail = ResourceCategory.objects.get(code="1010011")
    assert (detail.level, detail.parent.code, detail.source) == (4, "101001", "city")
    assert ResourceCategory.objects.get(code="215").parent.code == "2"
    entry = AuditEntry.objects.get(action="category.imported")
    assert entry.details["created"] == 4 and entry.details["mode"] == "extend"


def test_a_file_with_bad_rows_changes_nothing_and_lists_every_error(personas):
    make_category("101", "人口")
    rows = [
        HEADER,
        ["1", "基础信息资源（改）", ""],
        ["10", "两位的类", ""],
        ["102", "法人", "2"],
        ["301001", "某科室", ""],
        ["1", "重复", ""],
        ["103", "", "1"],
        ["1a1", "字母", "1"],
    ]
    with pytest.raises(ValidationFailed) as caught:
        _import(personas.operator, xlsx_bytes(rows))
    errors = caught.value.details
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "分类代码"),
        (4, "上级分类代码"),
        (5, "上级分类代码"),
        (6, "分类代码"),
        (7, "分类名称"),
        (8, "分类代码"),
    ]
    assert errors[1]["reason"] == "上级分类代码应为“1”"
    assert errors[2]["reason"] == "上级分类“301”不存在"
    assert errors[3]["reason"] == "分类代码“1”与第 2 行重复"
    assert ResourceCategory.objects.get(code="1").name == "基础信息资源"
    assert not ResourceCategory.objects.filter(code="102").exists()
    assert not AuditEntry.objects.filter(action="category.imported").exists()


def test_export_and_import_round_trip_in_both_formats(personas):
    _import(personas.operator, xlsx_bytes(CITY))
    before = list(ResourceCategory.objects.values_list("code", "name", "parent__code", "level"))

    content, content_type, filename = export_categories("json")
    assert content_type.startswith("application/json") and filename.endswith(".json")
    exported = json.loads(content)
    assert {"code": "1010011", "name": "户籍登记", "parent": "101001"} in exported

    content_xlsx, _, filename_xlsx = export_categories("xlsx")
    table = read_table(content_xlsx, filename_xlsx)
    assert table.header == HEADER
    assert ["101001", "户籍人口", "101"] in [row for _, row in table.rows]

    for content_, name in ((content, "tree.json"), (content_xlsx, "tree.xlsx")):
        counts = _import(personas.operator, content_, filename=name, mode="replace")
        assert counts == {"created": 0, "updated": 0, "deactivated": 0}
        assert list(ResourceCategory.objects.values_list("code", "name", "parent__code", "level")) == before
    with pytest.raises(ValidationFailed):
        export_categories("pdf")


def test_replace_mode_retires_categories_the_city_does_not_list(personas):
    make_category("105", "电子证照")
    counts = _import(
        personas.operator,
        json.dumps([{"code": "1", "name": "基础"}, {"code": "101", "name": "人口", "parent": "1"}]).encode(),
        filename="city.json",
        mode="replace",
    )
    assert counts["deactivated"] == 1
    assert not ResourceCategory.objects.get(code="105").is_active
    assert [node["category"].code for node in category_tree()[0]["children"]] == ["101"]
    with pytest.raises(ValidationFailed):  # in replace mode a parent must be in the file itself
        _import(
            personas.operator,
            json.dumps([{"code": "102", "name": "法人"}]).encode(),
            filename="c.json",
            mode="replace",
        )


def test_bad_json_is_refused(personas):
    with pytest.raises(ValidationFailed, match="JSON"):
        _import(personas.operator, b"[{", filename="c.json")
    with pytest.raises(ValidationFailed, match="列表"):
        _import(personas.operator, b'{"code": "1"}', filename="c.json")


def test_department_branch_has_one_item_per_numbered_department(personas):
    Organization.objects.update(sequence=None)
    Organization.objects.filter(pk=personas.provider_org.pk).update(sequence=4)
    Organization.objects.filter(pk=personas.consumer_org.pk).update(sequence=5)
    Organization.objects.filter(pk=personas.township.pk).update(sequence=111)
    result = sync_department_branch(personas.operator)
    assert (result.created, result.linked) == (2, 0)
    assert result.skipped == ["华容县章华镇人民政府：编号 111 超出“项”的代码位数"]
    assert ResourceCategory.objects.get(organization=personas.provider_org).code == "304"
    assert ResourceCategory.objects.get(code="3").name == "部门信息资源"
    new_department = make_organization("华容县林业局", sequence=21)
    again = sync_department_branch(personas.operator)
    assert again.created == 1
    assert ResourceCategory.objects.get(code="321").organization == new_department
    assert AuditEntry.objects.filter(action="category.department_branch_synced").count() == 2


def test_only_the_operator_imports_categories_or_syncs_the_branch(personas):
    for persona in ("provider_cdo", "authority", "consumer_user", "citizen"):
        user = getattr(personas, persona)
        with pytest.raises(PermissionDenied):
            _import(user, xlsx_bytes(CITY))
        with pytest.raises(PermissionDenied):
            sync_department_branch(user)
    assert not ResourceCategory.objects.exists()
