"""Importing a department catalog: all or nothing, every error placed, through the workflow's draft services."""

from __future__ import annotations

import pytest

from tongshu.catalog.choices import OpenType, ShareType, VersionState
from tongshu.catalog.exchange import export, importer
from tongshu.catalog.exchange.columns import ITEM_SHEET, RESOURCE_SHEET
from tongshu.catalog.models import BusinessSystem, InfoItem, Resource, ResourceVersion
from tongshu.catalog.services.drafts import version_as_dict
from tongshu.catalog.tests.factories import make_resource
from tongshu.security.models import AuditEntry
from tongshu.standards.tests.factories import make_category, make_code_set, make_data_element

from .exchange_fixtures import item_row, items_for, resource_row, valid_workbook, workbook_bytes


@pytest.fixture
def standards(db):
    make_category("101", "人口")
    make_category("102", "法人单位")
    sex = make_code_set("gb-t-2261.1-sex", {"1": "男", "2": "女"}, name="人的性别代码")
    make_data_element("公民身份号码", identifier="DE00001", length="C18", english_name="citizen id number")
    make_data_element("性别", identifier="DE00002", length="C1", english_name="sex", code_set=sex)


def run(personas, data: bytes, user=None):
    return importer.import_department_catalog(
        user or personas.provider_admin, personas.provider_org, data, filename="目录.xlsx"
    )


def rejected(personas, data: bytes) -> list[dict]:
    before = (Resource.objects.count(), ResourceVersion.objects.count(), InfoItem.objects.count())
    with pytest.raises(importer.ImportRejected) as raised:
        run(personas, data)
    assert (Resource.objects.count(), ResourceVersion.objects.count(), InfoItem.objects.count()) == before
    assert raised.value.status == 400
    return raised.value.details


def test_import_creates_drafts_through_the_workflow(standards, personas) -> None:
    outcome = run(personas, valid_workbook(2))
    assert len(outcome.created) == 2 and not outcome.revised and not outcome.warnings
    first = outcome.created[0]
    assert first.state == VersionState.DRAFT and first.number == 1
    assert first.resource.provider == personas.provider_org and first.resource.code is None
    assert first.name == "导入测试资源1" and first.share_type == ShareType.UNCONDITIONAL
    assert first.usage_methods == ["1", "2"] and first.share_method == "12"
    assert [item.name for item in first.items.order_by("position")] == ["公民身份号码", "姓名", "出生日期"]
    assert all(item.field_name for item in first.items.all())  # identities assigned by the catalog service
    entry = AuditEntry.objects.get(action="catalog.imported")
    assert entry.actor == personas.provider_admin and entry.details["created"] == [
        v.pk for v in outcome.created
    ]
    assert AuditEntry.objects.filter(action="catalog.draft_created").count() == 2


def test_one_bad_row_saves_nothing_and_names_the_row(standards, personas) -> None:
    resources = [resource_row(1), resource_row(2, 共享类型="随便共享"), resource_row(3)]
    items = [*items_for(1), *items_for(2), *items_for(3)]
    details = rejected(personas, workbook_bytes(resources, items))
    assert details == [
        {
            "sheet": "信息资源",
            "row": 3,
            "column": "共享类型",
            "reason": "“随便共享”不是有效的共享类型，可选：无条件共享、有条件共享、不予共享",
        }
    ]
    assert AuditEntry.objects.get(action="catalog.import_rejected").details["errors"] == 1


def test_item_pointing_at_missing_resource_serial(standards, personas) -> None:
    details = rejected(personas, workbook_bytes([resource_row(1)], [*items_for(1), item_row(5, 1, "孤儿项")]))
    assert details == [
        {"sheet": ITEM_SHEET, "row": 5, "column": "资源序号", "reason": "资源序号 5 在“信息资源”表中不存在"}
    ]


def test_catalog_validation_errors_are_placed_on_sheet_row_and_column(standards, personas) -> None:
    resources = [
        resource_row(1),
        resource_row(2, 共享类型="有条件共享"),  # no 共享条件
        resource_row(3, 是否向社会开放="无条件开放"),  # open without 开放方式
    ]
    items = [
        *items_for(1),
        item_row(2, 1, "编号", 数据长度="X18"),
        item_row(3, 1, "编号"),
        item_row(3, 2, "性别", 数据类型="数值型", 数据长度="N1", 数据元标识符="DE00002", 是否主键="否"),
    ]
    details = rejected(personas, workbook_bytes(resources, items))
    places = {(d["sheet"], d["row"], d["column"]): d["reason"] for d in details}
    assert places[(RESOURCE_SHEET, 3, "共享条件")] == "有条件共享的信息资源须填写共享条件"
    assert "开放方式" in places[(RESOURCE_SHEET, 4, "开放方式")]
    assert "格式不正确" in places[(ITEM_SHEET, 5, "数据长度")]
    assert "数据元" in places[(ITEM_SHEET, 7, "数据类型")]


def test_provider_columns_must_name_the_importing_department(standards, personas) -> None:
    details = rejected(
        personas,
        workbook_bytes(
            [resource_row(1, 信息资源提供方="华容县水利局", 信息资源提供方代码="P-SLJ")], items_for(1)
        ),
    )
    assert {d["column"] for d in details} == {"信息资源提供方", "信息资源提供方代码"}
    ok = workbook_bytes(
        [resource_row(1, 信息资源提供方="华容县公安局", 信息资源提供方代码="P-GAJ")], items_for(1)
    )
    assert len(run(personas, ok).created) == 1


def test_names_duplicated_in_the_file_or_in_the_catalog(standards, personas) -> None:
    make_resource(personas.provider_org, name="已有资源")
    data = workbook_bytes(
        [
            resource_row(1, 信息资源名称="已有资源"),
            resource_row(2, 信息资源名称="同名"),
            resource_row(3, 信息资源名称="同名"),
        ],
        [*items_for(1), *items_for(2), *items_for(3)],
    )
    places = {(d["row"], d["column"]): d["reason"] for d in rejected(personas, data)}
    assert "已有名为“已有资源”" in places[(2, "信息资源名称")]
    assert "与第 3 行的资源重名" in places[(4, "信息资源名称")]


def test_round_trip_into_a_fresh_catalog(standards, personas) -> None:
    system = BusinessSystem.objects.create(organization=personas.provider_org, name="人口信息管理系统")
    elsewhere = make_resource(personas.outsider_org, name="别的部门的资源")
    make_resource(personas.provider_org, name="户籍人口", business_system=system, keywords="户籍;人口")
    make_resource(
        personas.provider_org,
        name="企业登记",
        category=make_category("102", "法人单位"),
        share_type=ShareType.CONDITIONAL,
        share_conditions="依法履职需要",
        open_type=OpenType.CONDITIONAL,
        open_conditions="经申请同意",
        open_methods=["1", "2"],
        related_codes=[elsewhere.code],
        update_cycle="06",
        items=[
            ("统一社会信用代码", "C", "C18", True, True, False),
            ("名称", "C", "C..200", False, True, False),
        ],
    )
    make_resource(personas.provider_org, name="草稿不导出", state=VersionState.DRAFT)
    published = ResourceVersion.objects.filter(
        resource__provider=personas.provider_org, state=VersionState.PUBLISHED
    )
    before = {version.name: version_as_dict(version) for version in published}
    data = export.export_department_catalog(personas.provider_cdo, personas.provider_org)

    # Same platform: every row is unchanged, nothing is created.
    outcome = run(personas, data)
    assert (len(outcome.created), len(outcome.revised), len(outcome.unchanged)) == (0, 0, 2)

    # A fresh catalog (the department's resources gone): the export imports back to the same catalog.
    Resource.objects.filter(provider=personas.provider_org).update(published_version=None)
    ResourceVersion.objects.filter(resource__provider=personas.provider_org).delete()
    Resource.objects.filter(provider=personas.provider_org).delete()
    outcome = run(personas, data)
    assert len(outcome.created) == 2 and {w.column for w in outcome.warnings} == {"信息资源代码"}
    after = {version.name: version_as_dict(version) for version in outcome.created}
    assert set(after) == set(before) == {"户籍人口", "企业登记"}

    def strip(pair):
        fields, items = pair
        fields = {k: v for k, v in fields.items() if k != "change_reason"}
        items = [{k: v for k, v in item.items() if k not in ("uid", "field_name")} for item in items]
        return fields, items

    for name in before:
        assert strip(after[name]) == strip(before[name]), name


def _exported_rows(personas):
    """The department's export, read back as header → value rows for editing."""
    import io

    from openpyxl import load_workbook

    workbook = load_workbook(
        io.BytesIO(export.export_department_catalog(personas.provider_cdo, personas.provider_org))
    )

    def rows(name):
        ws = workbook[name]
        header = [cell.value for cell in ws[1]]
        return [
            dict(zip(header, [cell.value for cell in row], strict=True)) for row in ws.iter_rows(min_row=2)
        ]

    return rows(RESOURCE_SHEET), rows(ITEM_SHEET)


def test_changed_published_resource_becomes_a_new_draft_version(standards, personas) -> None:
    resource = make_resource(personas.provider_org, name="户籍人口")
    untouched = make_resource(personas.provider_org, name="不变的资源")
    resources, items = _exported_rows(personas)
    resources[0]["信息资源摘要"] = "修改后的摘要：记录户籍人口的基本信息。"
    items[1]["信息项名称"] = "姓名（更名）"  # a rename keeps the item's identity
    outcome = run(personas, workbook_bytes(resources, items))
    assert [v.resource for v in outcome.revised] == [resource] and outcome.unchanged == [untouched]
    revision = outcome.revised[0]
    assert revision.number == 2 and revision.state == VersionState.DRAFT
    assert revision.summary == "修改后的摘要：记录户籍人口的基本信息。"
    assert "目录导入" in revision.change_reason
    old = {item.position: (item.uid, item.field_name) for item in resource.published_version.items.all()}
    new = {item.position: (item.uid, item.field_name) for item in revision.items.all()}
    assert new == old
    resource.refresh_from_db()
    assert resource.published_version.number == 1  # the published version is untouched until review


def test_open_draft_is_updated_and_version_under_review_refused(standards, personas) -> None:
    resource = make_resource(personas.provider_org, name="户籍人口")
    resources, items = _exported_rows(personas)
    ResourceVersion.objects.create(
        resource=resource,
        number=2,
        state=VersionState.DRAFT,
        **{
            f: getattr(resource.published_version, f)
            for f in ("name", "summary", "format_class", "share_type", "update_cycle", "share_method")
        },
    )
    resources[0]["信息资源摘要"] = "新的摘要内容，说明资源记录的信息。"
    outcome = run(personas, workbook_bytes(resources, items))
    assert [(v.number, v.summary) for v in outcome.revised] == [(2, "新的摘要内容，说明资源记录的信息。")]
    assert resource.versions.count() == 2
    ResourceVersion.objects.filter(resource=resource, number=2).update(state=VersionState.SUBMITTED)
    details = rejected(personas, workbook_bytes(resources, items))
    assert details == [
        {
            "sheet": RESOURCE_SHEET,
            "row": 2,
            "column": "信息资源代码",
            "reason": "该资源有正在审核的版本，审核完成前不能导入修改",
        }
    ]


def test_share_type_change_needs_the_catalog_page(standards, personas) -> None:
    make_resource(personas.provider_org, name="户籍人口")
    resources, items = _exported_rows(personas)
    resources[0]["共享类型"] = "有条件共享"
    resources[0]["共享条件"] = "依法履职需要"
    [detail] = rejected(personas, workbook_bytes(resources, items))
    assert (detail["row"], detail["column"]) == (2, "共享类型")
    assert "变更原因" in detail["reason"]


def test_codes_of_other_departments_and_retired_resources_are_refused(standards, personas) -> None:
    other = make_resource(personas.outsider_org, name="水利资源")
    retired = make_resource(personas.provider_org, name="已停用资源")
    Resource.objects.filter(pk=retired.pk).update(is_retired=True)
    data = workbook_bytes(
        [resource_row(1, 信息资源代码=other.code), resource_row(2, 信息资源代码=retired.code)],
        [*items_for(1), *items_for(2)],
    )
    places = {(d["row"], d["column"]): d["reason"] for d in rejected(personas, data)}
    assert places == {
        (2, "信息资源代码"): "该代码属于其他单位的信息资源，不能导入修改",
        (3, "信息资源代码"): "该资源已停用，不能再修改",
    }


def test_only_the_departments_managers_import(standards, personas) -> None:
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_user
    from tongshu.core.errors import PermissionDenied

    clerk = make_user("gaj_clerk", Role.DEPT_USER, organization=personas.provider_org)
    for user in (clerk, personas.outsider, personas.authority, personas.operator):
        with pytest.raises(PermissionDenied):
            run(personas, valid_workbook(1), user=user)
    assert not Resource.objects.exists()
