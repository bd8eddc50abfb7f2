"""The demo's data plane (issue 5 item 8): published resources of 县公安局, 县市场监督管理局, 县税务局 and 县自然资源局
filled with synthetic records; the 人口, 法人单位, 社会信用, 电子证照 and 自然资源和空间地理 base libraries and the
企业信用画像 thematic library of 县大数据中心 assembled from them; 90 days of history (`history`: weekly loads and
quality scores, resources left overdue); public collection tasks and example pull sources (`ways`).

Everything goes through the real services: catalog drafts by each department's CDO, submitted and published by the
authority; data through `submit_file` + `apply_batch`; libraries declared by the operator and refreshed through the
pipeline; scores by `quality.scoring.compute_score`. Deterministic from `SEED`; idempotent (see `history`).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from typing import Any

from tongshu.accounts.models import Organization, User
from tongshu.accounts.roles import Role
from tongshu.catalog import services as catalog
from tongshu.catalog.choices import FormatClass, OpenType, ShareMethod, ShareType, UpdateCycle, VersionState
from tongshu.catalog.models import ResourceVersion
from tongshu.dataplane import services
from tongshu.dataplane.models import Batch
from tongshu.standards.models import DataElement

log = logging.getLogger(__name__)
SEED = 20261125
PEOPLE, COMPANIES = 2000, 300


@dataclass(frozen=True)
class Item:
    label: str
    field: str
    element: str = ""  # the starter data element's name
    data_type: str = "C"
    length: str = ""
    key: bool = False
    queryable: bool = False
    sensitive: bool = False


def _items(*specs: tuple[Any, ...]) -> list[Item]:
    return [Item(*spec) for spec in specs]


PERSON = _items(
    ("公民身份号码", "resident_id", "居民身份证号码", "C", "C18", True, True, True),
    ("姓名", "name", "姓名", "C", "C..50", False, True, True),
    ("性别", "sex", "性别", "C", "C1"),
    ("出生日期", "birth_date", "出生日期", "D", "D8", False, True),
    ("民族", "ethnic_group", "民族", "C", "C2"),
    ("户籍地址", "address", "户籍地址", "C", "C..200", False, False, True),
    ("联系电话", "phone", "联系电话", "C", "C..20", False, False, True),
    ("乡镇（街道）代码", "township_code", "乡镇（街道）代码", "C", "C9"),
    ("所属乡镇", "township", "", "C", "C..20", False, True),
)
COMPANY = _items(
    ("统一社会信用代码", "credit_code", "统一社会信用代码", "C", "C18", True, True),
    ("单位名称", "name", "单位名称", "C", "C..100", False, True),
    ("法定代表人", "representative", "法定代表人", "C", "C..50", False, False, True),
    ("登记机关", "registrar", "登记机关", "C", "C..100"),
    ("成立日期", "founded", "成立日期", "D", "D8", False, True),
    ("注册资本", "capital", "注册资本", "Y", "Y..18,2"),
    ("住所", "domicile", "住所", "C", "C..200"),
    ("经营范围", "scope", "经营范围", "M"),
    ("行业门类", "industry", "行业门类", "C", "C1", False, True),
    ("企业类型", "kind", "企业类型", "C", "C..50"),
    ("经营状态", "status", "经营状态", "C", "C..20", False, True),
    ("所属乡镇", "township", "", "C", "C..20", False, True),
)
LICENSE = _items(
    ("证照编号", "number", "证照编号", "C", "C..64", True, True),
    ("证照名称", "title", "证照名称", "C", "C..100", False, True),
    ("持证主体", "holder", "单位名称", "C", "C..100", False, True),
    ("统一社会信用代码", "credit_code", "统一社会信用代码", "C", "C18", False, True),
    ("发证机关", "issuer", "发证机关", "C", "C..100"),
    ("发证日期", "issued", "发证日期", "D", "D8"),
    ("有效期至", "expires", "有效期至", "D", "D8"),
)
RATING = _items(
    ("统一社会信用代码", "credit_code", "统一社会信用代码", "C", "C18", True, True),
    ("纳税人名称", "name", "单位名称", "C", "C..100", False, True),
    ("评价年度", "year", "", "C", "C4", True, True),
    ("纳税信用等级", "level", "", "C", "C1", False, True),
    ("评价日期", "evaluated", "", "D", "D8"),
)
VOLUNTEER = _items(
    ("公民身份号码", "resident_id", "居民身份证号码", "C", "C18", True, True, True),
    ("姓名", "name", "姓名", "C", "C..50", False, True, True),
    ("性别", "sex", "性别", "C", "C1"),
    ("出生日期", "birth_date", "出生日期", "D", "D8"),
    ("联系电话", "phone", "联系电话", "C", "C..20", False, False, True),
    ("所属乡镇", "township", "", "C", "C..20", False, True),
    ("服务意向", "service", "", "C", "C..50"),
)
TOWNSHIP_AREA = _items(
    ("乡镇（街道）代码", "township_code", "乡镇（街道）代码", "C", "C9", True, True),
    ("乡镇名称", "name", "", "C", "C..20", False, True),
    ("类型", "kind", "", "C", "C..4"),
    ("驻地位置", "seat", "几何", "M"),
    ("行政区域范围（示意）", "area", "几何", "M"),
    ("数据说明", "note", "", "C", "C..200"),
)
LEGAL_ENTITY = [*COMPANY[:2], COMPANY[2], *COMPANY[4:7], COMPANY[8], COMPANY[10], COMPANY[11]] + _items(
    ("最近纳税信用等级", "tax_credit_level", "", "C", "C1", False, True)
)
CREDIT_PROFILE = [
    COMPANY[0],
    COMPANY[1],
    COMPANY[8],
    COMPANY[10],
    COMPANY[11],
    COMPANY[4],
    COMPANY[5],
] + _items(
    ("最近纳税信用等级", "tax_credit_level", "", "C", "C1", False, True),
    ("最近评价年度", "rating_year", "", "C", "C4"),
)

# key → (department code, name, items, summary, update cycle)
SOURCES: dict[str, tuple[Any, ...]] = {
    "people": (
        "GAJ",
        "户籍人口基本信息",
        PERSON,
        "全县户籍人口的身份、户籍地址和联系方式。",
        UpdateCycle.DAILY,
    ),
    "volunteers": (
        "GAJ",
        "平安志愿者登记信息",
        VOLUNTEER,
        "群众通过公开采集任务自愿报名、经县公安局审核的平安志愿者（义警）名册。",
        UpdateCycle.MONTHLY,
    ),
    "companies": (
        "SJJ",
        "市场主体登记信息",
        COMPANY,
        "在本县登记的企业等市场主体的登记信息。",
        UpdateCycle.DAILY,
    ),
    "licenses": (
        "SJJ",
        "电子证照信息",
        LICENSE,
        "本局颁发的营业执照、食品经营许可证等电子证照。",
        UpdateCycle.DAILY,
    ),
    "ratings": (
        "SWJ",
        "纳税信用等级评价结果",
        RATING,
        "本县纳税人历年纳税信用等级评价结果。",
        UpdateCycle.YEARLY,
    ),
    "townships": (
        "ZRJ",
        "乡镇行政区域示意范围",
        TOWNSHIP_AREA,
        "全县 14 个乡镇的驻地位置和行政区域示意范围（GeoJSON，WGS 84；近似示意，非测绘成果）。",
        UpdateCycle.YEARLY,
    ),
}


@dataclass(frozen=True)
class LibrarySpec:
    key: str
    category: str
    name: str
    kind: str
    theme: str
    items: list[Item]
    summary: str
    cycle: str
    # (source key: a SOURCES or another library's key, mapping kind, {source field: library field}, join_on)
    mappings: list[tuple[str, str, dict[str, str], dict[str, str]]]


def _same(items: list[Item], *skip: str) -> dict[str, str]:
    return {item.field: item.field for item in items if item.field not in skip}


LIBRARIES = [
    LibrarySpec(
        "population", "101", "人口基础信息库", "base", "population", PERSON[:7] + PERSON[8:],
        "全县人口基础信息，汇聚自户籍人口信息。", UpdateCycle.DAILY,
        [("people", "union", _same(PERSON, "township_code"), {})],
    ),
    LibrarySpec(
        "legal_entities", "102", "法人单位基础信息库", "base", "legal_entity", LEGAL_ENTITY,
        "全县法人单位基础信息，汇聚自市场主体登记和纳税信用评价。", UpdateCycle.DAILY,
        [("companies", "union", _same(LEGAL_ENTITY[:-1]), {}),
         ("ratings", "join", {"level": "tax_credit_level"}, {"credit_code": "credit_code"})],
    ),
    LibrarySpec(
        "credit", "104", "社会信用基础信息库", "base", "credit", RATING,
        "全县法人和其他组织的信用信息，当前汇聚纳税信用评价结果。", UpdateCycle.YEARLY,
        [("ratings", "union", _same(RATING), {})],
    ),
    LibrarySpec(
        "license_library", "105", "电子证照基础信息库", "base", "license", LICENSE,
        "全县电子证照目录与照面信息。", UpdateCycle.DAILY,
        [("licenses", "union", _same(LICENSE), {})],
    ),
    LibrarySpec(
        "spatial", "103", "自然资源和空间地理基础信息库", "base", "spatial", TOWNSHIP_AREA,
        "全县乡镇驻地和行政区域范围等空间地理信息（GeoJSON 几何对象，示意数据）。", UpdateCycle.YEARLY,
        [("townships", "union", _same(TOWNSHIP_AREA), {})],
    ),
    LibrarySpec(
        "credit_profile", "208", "企业信用画像主题库", "thematic", "credit", CREDIT_PROFILE,
        "按企业汇集登记信息和纳税信用评价，服务信用分级分类监管；由法人单位和社会信用基础信息库关联生成。",
        UpdateCycle.DAILY,
        [("legal_entities", "union", _same(CREDIT_PROFILE, "rating_year"), {}),
         ("credit", "join", {"year": "rating_year"}, {"credit_code": "credit_code"})],
    ),
]  # fmt: skip


def cdo_of(org: Organization) -> User:
    user = org.chief_data_officer
    if user is None:
        user = User.objects.filter(organization=org, role_assignments__role=Role.CDO).first()
    if user is None:
        raise RuntimeError(f"{org.name} 没有首席数据官，无法编制演示目录")
    return user


def resource_fields(category: str, name: str, summary: str, cycle: str, conditional: bool) -> dict[str, Any]:
    return {
        "category": category,
        "name": name,
        "summary": summary,
        "format_class": FormatClass.DATABASE,
        "format_type": "PostgreSQL",
        "share_type": ShareType.CONDITIONAL if conditional else ShareType.UNCONDITIONAL,
        "share_conditions": "用于政务服务和行政管理中的身份与资格核验，不得用于其他目的。"
        if conditional
        else "",
        "share_method": ShareMethod.INTERFACE,
        "provision_methods": ["1"],
        "usage_methods": ["1", "2"],
        "open_type": OpenType.NONE,
        "update_cycle": cycle,
    }


def _item_rows(items: list[Item]) -> list[dict[str, Any]]:
    elements = dict(DataElement.objects.values_list("name", "pk"))
    return [
        {
            "name": item.label,
            "field_name": item.field,
            "data_type": item.data_type,
            "length": item.length,
            "data_element": elements.get(item.element) if item.element else None,
            "is_key": item.key,
            "is_queryable": item.queryable,
            "is_sensitive": item.sensitive,
            "is_required": item.key,
        }
        for item in items
    ]


def published(
    org: Organization, name: str, fields: dict[str, Any], items: list[Item], authority: User
) -> Any:
    """The department's published resource of that name: drafted, submitted and published if not yet."""
    version = (
        ResourceVersion.objects.filter(resource__provider=org, name=name)
        .exclude(state=VersionState.WITHDRAWN)
        .order_by("-number")
        .first()
    )
    cdo = cdo_of(org)
    if version is None:
        version = catalog.create_draft(cdo, provider=org, fields=fields, items=_item_rows(items))
    if version.state in (VersionState.DRAFT, VersionState.RETURNED):
        version = catalog.submit(cdo, version)
    if version.state == VersionState.SUBMITTED:
        version = catalog.publish(authority, version, comment="演示数据")
    version.resource.refresh_from_db()
    return version.resource


def as_csv(items: list[Item], rows: list[dict[str, Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([item.label for item in items])
    writer.writerows([[row.get(item.field, "") for item in items] for row in rows])
    return text.getvalue().encode()


def upload(actor: User, resource: Any, key: str, items: list[Item], rows: list[dict[str, Any]]) -> Batch:
    """One CSV batch through the pipeline; the idempotency key makes a second run return the same batch."""
    batch = services.submit_file(
        actor,
        resource,
        io.BytesIO(as_csv(items, rows)),
        file_name=f"{key}.csv",
        idempotency_key=f"demo-{key}",
    )
    batch = services.apply_batch(batch.pk)
    if batch.status != "applied":
        log.warning("demo batch %s of %s: %s %s", batch.pk, key, batch.message, batch.error_sample[:3])
    return batch


def is_loaded() -> bool:
    from tongshu.security.models import AuditEntry

    from .history import LOADED_ACTION

    return AuditEntry.objects.filter(action=LOADED_ACTION).exists()


def load_data_plane(
    orgs: dict[str, Organization], *, people: int = PEOPLE, companies: int = COMPANIES
) -> dict[str, int]:
    """Publish, fill, assemble and replay 90 days; returns the record count of each library (nothing is redone when
    loaded)."""
    if is_loaded():
        return {}
    from .history import Replay

    return Replay(orgs, people=people, companies=companies).run()
