"""The §7 spreadsheet: the template's layout and drop-down lists, safe reading, and the parser's error reports."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tongshu.accounts.tests.factories import make_organization
from tongshu.catalog.exchange.columns import (
    CODES_SHEET,
    HELP_SHEET,
    ITEM_COLUMNS,
    ITEM_SHEET,
    RESOURCE_COLUMNS,
    RESOURCE_SHEET,
)
from tongshu.catalog.exchange.export import template_workbook
from tongshu.catalog.exchange.parse import parse_catalog
from tongshu.catalog.exchange.vocab import Vocabularies
from tongshu.catalog.exchange.xlsx_read import check_xlsx, read_sheets
from tongshu.core.errors import TooLarge, ValidationFailed
from tongshu.standards.tests.factories import make_category, make_code_set, make_data_element

from .exchange_fixtures import (
    ITEM_HEADERS,
    RESOURCE_HEADERS,
    item_row,
    items_for,
    resource_row,
    valid_workbook,
    workbook_bytes,
    zip_bomb,
)

SECTION_7_RESOURCE = [
    "序号",
    "信息资源分类",
    "信息资源名称",
    "信息资源代码",
    "信息资源提供方",
    "信息资源提供方代码",
    "信息资源摘要",
    "信息资源格式分类",
    "信息资源格式类型",
    "共享类型",
    "共享条件",
    "不予共享依据",
    "共享方式",
    "提供方式",
    "使用方式",
    "是否向社会开放",
    "开放条件",
    "开放方式",
    "更新周期",
    "所属业务系统",
    "安全级别",
    "关键字",
    "使用要求",
    "业务解读",
    "关联资源代码",
    "联系人",
    "联系电话",
]
SECTION_7_ITEMS = [
    "资源序号",
    "信息项序号",
    "信息项名称",
    "数据类型",
    "数据长度",
    "数据元标识符",
    "代码集",
    "是否主键",
    "是否可查询",
    "是否敏感",
    "安全级别",
    "说明",
]


@pytest.fixture
def standards(db):
    make_category("101", "人口")
    make_category("102", "法人单位")
    make_code_set("gb-t-2261.1-sex", {"1": "男", "2": "女"}, name="人的性别代码")
    make_data_element("公民身份号码", identifier="DE00001", length="C18")


@pytest.fixture
def provider(db):
    return make_organization("华容县公安局", code="P-GAJ")


def _parse(data: bytes, provider):
    check_xlsx(data)
    sheets = read_sheets(data, [RESOURCE_SHEET, ITEM_SHEET])
    return parse_catalog(sheets, provider=provider, vocabularies=Vocabularies())


def test_columns_are_the_standards_in_order() -> None:
    assert [c.header for c in RESOURCE_COLUMNS] == SECTION_7_RESOURCE
    assert [c.header for c in ITEM_COLUMNS] == SECTION_7_ITEMS


def test_template_has_headers_drop_downs_and_instructions(standards) -> None:
    workbook = load_workbook(io.BytesIO(template_workbook()))
    assert workbook.sheetnames[:2] == [RESOURCE_SHEET, ITEM_SHEET]
    assert HELP_SHEET in workbook.sheetnames
    assert workbook[CODES_SHEET].sheet_state == "hidden"
    resources, items = workbook[RESOURCE_SHEET], workbook[ITEM_SHEET]
    assert [cell.value for cell in resources[1]] == SECTION_7_RESOURCE
    assert [cell.value for cell in items[1]] == SECTION_7_ITEMS
    assert resources.freeze_panes == "A2" and items.freeze_panes == "A2"
    assert resources.column_dimensions["C"].width >= 20

    def lists(ws, headers):
        found = {}
        for validation in ws.data_validations.dataValidation:
            assert validation.type == "list"
            column = str(validation.sqref).split(":")[0].rstrip("0123456789")
            index = ord(column) - ord("A")
            found[headers[index]] = validation.formula1
        return found

    resource_lists = lists(resources, SECTION_7_RESOURCE)
    for header in (
        "信息资源分类",
        "信息资源格式分类",
        "共享类型",
        "共享方式",
        "提供方式",
        "是否向社会开放",
        "开放方式",
        "更新周期",
        "安全级别",
    ):
        assert header in resource_lists, header
        assert resource_lists[header].startswith("list_")  # a defined name, no leading "="
    item_lists = lists(items, SECTION_7_ITEMS)
    for header in ("数据类型", "代码集", "是否主键", "是否可查询", "是否敏感", "安全级别"):
        assert header in item_lists, header

    def values(name):
        [(sheet, ref)] = list(workbook.defined_names[name].destinations)
        assert sheet == CODES_SHEET
        return [cell.value for row in workbook[sheet][ref.replace("$", "")] for cell in row]

    assert values(resource_lists["共享类型"]) == ["无条件共享", "有条件共享", "不予共享"]
    assert values(resource_lists["信息资源分类"]) == ["1", "101", "102"]
    assert values(item_lists["代码集"]) == ["gb-t-2261.1-sex"]
    assert values(item_lists["是否主键"]) == ["是", "否"]
    assert "每半年" in values(resource_lists["更新周期"])


def test_valid_workbook_parses_to_records(standards, provider) -> None:
    data = workbook_bytes(
        [resource_row(1, 使用方式="查询服务；验证服务", 更新周期="02", 共享类型="1")],
        [
            *items_for(1),
            item_row(
                1, None, "性别", 数据类型="C", 代码集="人的性别代码", 数据元标识符="de00001", 是否主键="N"
            ),
        ],
    )
    parsed, errors = _parse(data, provider)
    assert errors == []
    [resource] = parsed
    assert resource.row == 2 and resource.code == ""
    assert resource.fields["usage_methods"] == ["1", "2"]
    assert resource.fields["update_cycle"] == "02"
    assert resource.fields["share_type"] == "unconditional"
    assert resource.fields["security_level"] == "general-2"
    assert [item.values["name"] for item in resource.items] == ["公民身份号码", "姓名", "出生日期", "性别"]
    sex = resource.items[-1].values
    assert sex["position"] == 4 and sex["code_set"] == "gb-t-2261.1-sex" and sex["data_element"] == "DE00001"
    assert sex["is_key"] is False and resource.items[0].values["is_key"] is True


def test_every_bad_cell_is_reported_with_sheet_row_column(standards, provider) -> None:
    data = workbook_bytes(
        [
            resource_row(1),
            resource_row(2, 共享类型="随便共享", 更新周期=None, 信息资源分类="999"),
            resource_row(2, 信息资源名称="重复序号"),
            resource_row(3, 信息资源提供方="华容县水利局"),
        ],
        [
            *items_for(1),
            item_row(2, 1, "甲", 是否主键="也许", 数据类型="X型"),
            item_row(7, 1, "乙"),
            item_row(1, 1, "公民身份号码2"),
            *items_for(3),
        ],
    )
    parsed, errors = _parse(data, provider)
    found = {(e.sheet, e.row, e.column) for e in errors}
    assert (RESOURCE_SHEET, 3, "共享类型") in found
    assert (RESOURCE_SHEET, 3, "更新周期") in found
    assert (RESOURCE_SHEET, 3, "信息资源分类") in found
    assert (RESOURCE_SHEET, 4, "序号") in found
    assert (RESOURCE_SHEET, 5, "信息资源提供方") in found
    assert (ITEM_SHEET, 5, "是否主键") in found
    assert (ITEM_SHEET, 5, "数据类型") in found
    assert (ITEM_SHEET, 6, "资源序号") in found
    assert (ITEM_SHEET, 7, "信息项序号") in found
    reasons = {(e.row, e.column): e.reason for e in errors}
    assert "随便共享" in reasons[(3, "共享类型")] and "无条件共享" in reasons[(3, "共享类型")]
    assert reasons[(3, "更新周期")] == "必填项未填写"
    assert "资源序号 7" in reasons[(6, "资源序号")]
    assert all(e.reason for e in errors)


def test_missing_sheet_or_column_is_reported(standards, provider) -> None:
    data = workbook_bytes([resource_row(1)], items_for(1), sheets=("信息资源", "Sheet2"))
    _parsed, errors = _parse(data, provider)
    assert [(e.sheet, e.reason) for e in errors] == [(ITEM_SHEET, "缺少工作表“信息项”（请使用平台模板）")]
    headers = [h for h in RESOURCE_HEADERS if h != "更新周期"]
    data = workbook_bytes(
        [resource_row(1)], items_for(1), resource_headers=headers, item_headers=ITEM_HEADERS
    )
    _parsed, errors = _parse(data, provider)
    assert [(e.sheet, e.row, e.column) for e in errors] == [(RESOURCE_SHEET, 1, "更新周期")]


def test_resource_without_items_and_empty_file(standards, provider) -> None:
    _parsed, errors = _parse(workbook_bytes([resource_row(1), resource_row(2)], items_for(1)), provider)
    assert [(e.row, e.reason) for e in errors] == [(3, "该资源没有任何信息项")]
    _parsed, errors = _parse(workbook_bytes([], []), provider)
    assert [e.reason for e in errors] == ["文件中没有信息资源"]


@pytest.mark.parametrize(
    "data, code",
    [
        ("序号,信息资源名称\n1,人口库\n".encode("gbk"), "not_xlsx"),
        (b"\x00\x01garbage" * 100, "not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "not_xlsx"),
        (b"PK\x03\x04 not really a zip", "not_xlsx"),
    ],
    ids=["gbk-csv", "garbage", "xls", "broken-zip"],
)
def test_non_xlsx_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_xlsx(data)
    assert raised.value.code == code and raised.value.status == 400


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(ValidationFailed):
        check_xlsx(buffer.getvalue())


def test_zip_bomb_is_refused() -> None:
    with pytest.raises(TooLarge) as raised:
        check_xlsx(zip_bomb())
    assert raised.value.status == 413


def test_oversize_is_refused(settings) -> None:
    settings.CATALOG_IMPORT_MAX_MB = 1
    with pytest.raises(TooLarge) as raised:
        check_xlsx(b"PK" + b"\0" * (1024 * 1024))
    assert "1 MB" in raised.value.message


def test_formula_cells_are_read_as_values_never_run(standards, provider) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    ws = workbook.active
    ws.title = RESOURCE_SHEET
    ws.append(RESOURCE_HEADERS)
    ws.append([resource_row(1).get(h) for h in RESOURCE_HEADERS])
    ws["C2"] = '=HYPERLINK("http://evil.example","x")'
    items = workbook.create_sheet(ITEM_SHEET)
    items.append(ITEM_HEADERS)
    for row in items_for(1):
        items.append([row.get(h) for h in ITEM_HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed, errors = _parse(buffer.getvalue(), provider)
    # openpyxl stores no cached value, so the formula reads as an empty (missing) name: nothing was evaluated.
    assert (RESOURCE_SHEET, 2, "信息资源名称") in {(e.sheet, e.row, e.column) for e in errors}


def test_valid_workbook_helper_is_clean(standards, provider) -> None:
    parsed, errors = _parse(valid_workbook(3), provider)
    assert errors == [] and len(parsed) == 3


def test_template_offers_a_department_only_its_own_branch_of_categories(standards, provider) -> None:
    from tongshu.accounts.tests.factories import make_organization as make_org
    from tongshu.standards.models import CategoryLevel, ResourceCategory

    other = make_org("华容县水利局", code="P-SLJ")
    root = make_category("3", "部门信息资源")
    ResourceCategory.objects.create(
        code="301", name="公安局", parent=root, level=CategoryLevel.ITEM, organization=provider
    )
    ResourceCategory.objects.create(
        code="302", name="水利局", parent=root, level=CategoryLevel.ITEM, organization=other
    )
    workbook = load_workbook(io.BytesIO(template_workbook(provider)))
    codes = [row[0].value for row in workbook[CODES_SHEET].iter_rows(min_row=2) if row[0].value]
    assert "301" in codes and "302" not in codes and "101" in codes


def test_operator_renamed_values_are_offered_and_old_names_still_accepted(db) -> None:
    make_code_set("share-type", {"1": "无条件共享（直接获取）", "2": "有条件共享", "3": "不予共享"})
    make_code_set("update-cycle", {"01": "实时更新", "02": "每日"})
    vocabularies = Vocabularies()
    share = vocabularies["share_type"]
    assert share.names == ["无条件共享（直接获取）", "有条件共享", "不予共享"]
    for spelling in ("无条件共享（直接获取）", "无条件共享", "1", "unconditional", " 无条件共享 "):
        assert share.lookup(spelling) == "unconditional", spelling
    assert vocabularies.name_of("update_cycle", "01") == "实时更新"
    assert (
        vocabularies["update_cycle"].lookup("实时") == "01"
        and vocabularies["update_cycle"].lookup("2") == "02"
    )
    assert share.lookup("随便") is None
