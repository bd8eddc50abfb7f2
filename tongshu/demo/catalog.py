"""A realistic department catalog for the demo: resources drafted by each department's CDO, submitted, and published
by the authority through the catalog services, so codes, versions, the search index and audit entries are real."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tongshu.accounts.models import Organization, User
from tongshu.accounts.roles import Role
from tongshu.catalog.models import Resource
from tongshu.catalog.services import drafts, review
from tongshu.standards.models import DataElement, ResourceCategory

from .organizations import COUNTY

# Item shorthand: a data element identifier, or (name, type, length).
PERSON = ["DE0001", "DE0002", "DE0003", "DE0004", "DE0008", "DE0009"]
ENTITY = ["DE0012", "DE0013", "DE0014", "DE0016", "DE0018"]

# (department code, name, summary, share type, open type, update cycle, format (class, type), keywords, items, key)
RESOURCES: list[tuple[Any, ...]] = [
    (
        "MZJ",
        "城乡低保对象名册",
        "全县城乡最低生活保障对象的家庭及成员信息，用于救助审批和动态管理。",
        "conditional",
        "none",
        "04",
        ("3", "MySQL"),
        "低保 救助 民政",
        [*PERSON, ("保障类别", "C", "C..10"), ("月保障金额", "Y", "Y..10,2"), ("所属乡镇", "C", "C..30")],
        "DE0001",
    ),
    (
        "MZJ",
        "社会组织登记信息",
        "在县民政局登记的社会团体、民办非企业单位的登记事项。",
        "unconditional",
        "unconditional",
        "04",
        ("3", "MySQL"),
        "社会组织 登记",
        [*ENTITY, ("组织类型", "C", "C..20"), ("业务主管单位", "C", "C..100")],
        "DE0012",
    ),
    (
        "MZJ",
        "婚姻登记信息",
        "结婚、离婚登记的当事人和登记事项。",
        "conditional",
        "none",
        "02",
        ("3", "Oracle"),
        "婚姻 登记",
        [
            "DE0001",
            "DE0002",
            "DE0006",
            ("登记类别", "C", "C..10"),
            ("登记日期", "D", "D8"),
            ("登记机关", "C", "C..100"),
        ],
        "DE0001",
    ),
    (
        "RSJ",
        "城乡居民养老保险参保信息",
        "城乡居民基本养老保险参保人员及缴费档次信息。",
        "conditional",
        "none",
        "04",
        ("3", "Oracle"),
        "养老保险 社保 参保",
        [*PERSON[:4], ("参保状态", "C", "C..10"), ("缴费档次", "N", "N..6"), ("参保日期", "D", "D8")],
        "DE0001",
    ),
    (
        "RSJ",
        "就业困难人员认定信息",
        "经认定的就业困难人员名单及帮扶措施。",
        "conditional",
        "none",
        "04",
        ("3", "MySQL"),
        "就业 帮扶",
        [*PERSON[:3], ("认定类别", "C", "C..20"), ("认定日期", "D", "D8")],
        "DE0001",
    ),
    (
        "RSJ",
        "人力资源服务机构名录",
        "经许可或备案的人力资源服务机构。",
        "unconditional",
        "unconditional",
        "05",
        ("2", "XLSX"),
        "人力资源 机构 名录",
        [*ENTITY[:3], ("许可证编号", "C", "C..40"), ("服务范围", "C", "C..200")],
        "DE0012",
    ),
    (
        "ZRJ",
        "不动产登记簿信息",
        "不动产权利人、坐落、面积和权利类型。",
        "conditional",
        "none",
        "01",
        ("3", "达梦"),
        "不动产 登记 房产",
        [
            ("不动产单元号", "C", "C28"),
            ("权利人", "C", "C..100"),
            ("坐落", "C", "C..200"),
            ("面积", "N", "N..12,2"),
            ("权利类型", "C", "C..20"),
        ],
        "不动产单元号",
    ),
    (
        "ZRJ",
        "国有建设用地供应信息",
        "招拍挂及划拨供地的地块、用途、面积和价款。",
        "unconditional",
        "unconditional",
        "04",
        ("2", "XLSX"),
        "土地 供地 建设用地",
        [
            ("宗地编号", "C", "C..30"),
            ("土地用途", "C", "C..30"),
            ("供地面积", "N", "N..12,2"),
            ("成交价款", "Y", "Y..14,2"),
            ("供地日期", "D", "D8"),
        ],
        "宗地编号",
    ),
    (
        "SJJ",
        "个体工商户登记信息",
        "个体工商户的登记注册事项。",
        "unconditional",
        "conditional",
        "02",
        ("3", "Oracle"),
        "个体户 登记 市场主体",
        [*ENTITY[:2], ("经营者姓名", "C", "C..50"), ("经营场所", "C", "C..200"), "DE0016"],
        "DE0012",
    ),
    (
        "SJJ",
        "食品经营许可信息",
        "食品经营许可证的持证主体、许可项目和有效期。",
        "unconditional",
        "unconditional",
        "02",
        ("3", "Oracle"),
        "食品 许可 证照",
        [*ENTITY[:2], "DE0023", "DE0026", "DE0027", ("经营项目", "C", "C..200")],
        "DE0023",
    ),
    (
        "SJJ",
        "特种设备登记信息",
        "电梯、锅炉、压力容器等特种设备的使用登记。",
        "conditional",
        "none",
        "03",
        ("3", "MySQL"),
        "特种设备 电梯 安全",
        [
            ("设备注册代码", "C", "C..30"),
            ("设备类别", "C", "C..20"),
            "DE0013",
            ("使用地点", "C", "C..200"),
            ("下次检验日期", "D", "D8"),
        ],
        "设备注册代码",
    ),
    (
        "WJJ",
        "医疗机构执业登记信息",
        "全县医疗机构的执业许可事项。",
        "unconditional",
        "unconditional",
        "05",
        ("3", "MySQL"),
        "医疗机构 卫生 许可",
        [*ENTITY[:2], ("机构类别", "C", "C..30"), ("床位数", "I", "I..6"), ("诊疗科目", "C", "C..300")],
        "DE0012",
    ),
    (
        "WJJ",
        "出生医学证明签发信息",
        "新生儿出生医学证明的签发记录。",
        "conditional",
        "none",
        "02",
        ("3", "MySQL"),
        "出生 医学证明 户籍",
        [
            ("出生医学证明编号", "C", "C..20"),
            ("新生儿姓名", "C", "C..50"),
            "DE0003",
            "DE0004",
            ("母亲身份证号码", "C", "C18"),
        ],
        "出生医学证明编号",
    ),
    (
        "JYJ",
        "中小学校基本信息",
        "全县中小学校的办学性质、地址和学生规模。",
        "unconditional",
        "unconditional",
        "07",
        ("2", "XLSX"),
        "学校 教育 中小学",
        [
            ("学校标识码", "C", "C10"),
            ("学校名称", "C", "C..100"),
            ("办学类型", "C", "C..20"),
            ("在校生数", "I", "I..6"),
            ("地址", "C", "C..200"),
        ],
        "学校标识码",
    ),
    (
        "JYJ",
        "学生资助发放信息",
        "家庭经济困难学生资助项目和金额。",
        "conditional",
        "none",
        "05",
        ("3", "MySQL"),
        "资助 学生 教育",
        [*PERSON[:3], ("资助项目", "C", "C..50"), ("资助金额", "Y", "Y..10,2")],
        "DE0001",
    ),
    (
        "ZJJ",
        "建筑工程施工许可信息",
        "房屋建筑和市政工程施工许可证核发信息。",
        "unconditional",
        "unconditional",
        "02",
        ("3", "MySQL"),
        "施工许可 建筑 工程",
        [
            ("施工许可证编号", "C", "C..30"),
            ("工程名称", "C", "C..200"),
            "DE0013",
            ("合同价格", "Y", "Y..14,2"),
            ("发证日期", "D", "D8"),
        ],
        "施工许可证编号",
    ),
    (
        "ZJJ",
        "住房公积金缴存信息",
        "单位和个人住房公积金缴存情况。",
        "none",
        "none",
        "04",
        ("3", "Oracle"),
        "公积金 住房",
        [*PERSON[:2], ("缴存基数", "Y", "Y..10,2"), ("缴存状态", "C", "C..10")],
        "DE0001",
    ),
    (
        "NYJ",
        "农业经营主体名录",
        "家庭农场、农民合作社等新型农业经营主体。",
        "unconditional",
        "unconditional",
        "05",
        ("2", "XLSX"),
        "农业 合作社 家庭农场",
        [*ENTITY[:3], ("主体类型", "C", "C..20"), ("经营规模（亩）", "N", "N..10,2")],
        "DE0012",
    ),
    (
        "NYJ",
        "耕地地力保护补贴发放信息",
        "耕地地力保护补贴的发放对象、面积和金额。",
        "conditional",
        "none",
        "07",
        ("3", "MySQL"),
        "补贴 耕地 惠农",
        [
            *PERSON[:2],
            ("补贴面积（亩）", "N", "N..10,2"),
            ("补贴金额", "Y", "Y..10,2"),
            ("所属乡镇", "C", "C..30"),
        ],
        "DE0001",
    ),
    (
        "SLJ",
        "水库基本信息",
        "全县水库的位置、库容和管理单位。",
        "unconditional",
        "unconditional",
        "07",
        ("2", "XLSX"),
        "水库 水利",
        [
            ("水库代码", "C", "C..20"),
            ("水库名称", "C", "C..50"),
            ("总库容（万立方米）", "N", "N..10,2"),
            ("所在乡镇", "C", "C..30"),
        ],
        "水库代码",
    ),
    (
        "SLJ",
        "取水许可信息",
        "取水许可证的取水单位、水源和许可水量。",
        "unconditional",
        "conditional",
        "04",
        ("3", "MySQL"),
        "取水 许可 水资源",
        [
            ("取水许可证编号", "C", "C..30"),
            "DE0013",
            ("水源类型", "C", "C..20"),
            ("许可水量（万立方米）", "N", "N..10,2"),
        ],
        "取水许可证编号",
    ),
    (
        "JTJ",
        "道路运输经营许可信息",
        "道路客货运输经营许可事项。",
        "unconditional",
        "unconditional",
        "04",
        ("3", "MySQL"),
        "运输 许可 交通",
        [*ENTITY[:2], ("许可证号", "C", "C..30"), ("经营范围", "C", "C..200"), "DE0027"],
        "许可证号",
    ),
    (
        "CZJ",
        "财政预决算公开信息",
        "县级一般公共预算和部门预决算。",
        "unconditional",
        "unconditional",
        "07",
        ("1", "PDF"),
        "预算 决算 财政",
        [
            ("年度", "C", "C4"),
            ("部门", "C", "C..100"),
            ("预算类别", "C", "C..30"),
            ("金额（万元）", "N", "N..14,2"),
        ],
        "",
    ),
    (
        "SWJ",
        "纳税信用A级纳税人名单",
        "年度纳税信用评价为A级的纳税人。",
        "unconditional",
        "unconditional",
        "07",
        ("2", "XLSX"),
        "纳税 信用 税务",
        [*ENTITY[:2], ("评价年度", "C", "C4")],
        "DE0012",
    ),
    (
        "YBJ",
        "医保定点医药机构信息",
        "医疗保障定点医疗机构和零售药店。",
        "unconditional",
        "unconditional",
        "05",
        ("3", "MySQL"),
        "医保 定点 药店",
        [*ENTITY[:2], ("机构类别", "C", "C..20"), ("协议有效期至", "D", "D8")],
        "DE0012",
    ),
    (
        "HJJ",
        "排污许可信息",
        "排污单位的许可证编号、行业和主要污染物。",
        "unconditional",
        "unconditional",
        "04",
        ("3", "MySQL"),
        "排污 许可 环保",
        [*ENTITY[:2], ("许可证编号", "C", "C..30"), "DE0020", ("主要污染物", "C", "C..200")],
        "许可证编号",
    ),
    (
        "YJJ",
        "安全生产许可信息",
        "危险化学品、非煤矿山等安全生产许可。",
        "conditional",
        "none",
        "04",
        ("3", "MySQL"),
        "安全生产 许可 应急",
        [*ENTITY[:2], ("许可证编号", "C", "C..30"), ("许可范围", "C", "C..200"), "DE0027"],
        "许可证编号",
    ),
    (
        "TJJ",
        "统计调查单位名录",
        "纳入统计调查的单位名录库。",
        "conditional",
        "none",
        "07",
        ("3", "MySQL"),
        "统计 名录 调查",
        [*ENTITY[:2], "DE0020", ("从业人员数", "I", "I..8")],
        "DE0012",
    ),
    (
        "GAJ",
        "机动车驾驶人信息",
        "驾驶人的准驾车型和驾驶证状态。",
        "conditional",
        "none",
        "02",
        ("3", "Oracle"),
        "驾驶证 交通 公安",
        [*PERSON[:2], ("准驾车型", "C", "C..10"), ("驾驶证状态", "C", "C..10"), "DE0027"],
        "DE0001",
    ),
]


def _item(spec: Any, elements: dict[str, DataElement], key: str) -> dict[str, Any]:
    if isinstance(spec, str):
        element = elements[spec]
        item = {
            "name": element.name,
            "data_type": element.data_type,
            "length": element.length,
            "data_element": element.pk,
            "code_set": element.code_set_id,
            "is_key": spec == key,
        }
        sensitive = spec in {"DE0001", "DE0002", "DE0008", "DE0009"}
    else:
        name, data_type, length = spec
        item = {"name": name, "data_type": data_type, "length": length, "is_key": name == key}
        sensitive = "身份证" in name or "姓名" in name or name == "权利人"
    item["is_queryable"] = item["is_key"]
    item["is_required"] = item["is_key"]
    item["is_sensitive"] = sensitive
    item["security_level"] = "general-3" if sensitive else "general-1"
    return item


def _fields(
    row: tuple[Any, ...],
    category: ResourceCategory,
    provider: Organization,
    contact: User,
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    _code, name, summary, share, open_type, cycle, (fmt_class, fmt_type), keywords, _specs, _key = row
    sensitive = any(item["is_sensitive"] for item in items)
    fields: dict[str, Any] = {
        "category": category.pk,
        "name": f"{provider.short_name or provider.name}{name}" if not name.startswith("华容") else name,
        "summary": summary,
        "format_class": fmt_class,
        "format_type": fmt_type,
        "share_type": share,
        "share_method": "13" if fmt_class in ("1", "2") else "12",
        "provision_methods": ["1"] if fmt_class == "3" else ["3"],
        "usage_methods": ["1", "2"] if fmt_class == "3" else ["2"],
        "open_type": open_type,
        "update_cycle": cycle,
        "security_level": "general-3" if sensitive else "general-1",
        "keywords": keywords,
        "contact_name": contact.display_name,
        "contact_phone": "0730-4221000",
        "usage_requirements": "仅限履行法定职责使用，不得用于其他用途。",
    }
    if share == "conditional":
        fields["share_conditions"] = "使用部门须说明法定依据和使用目的，仅共享履职所需的信息项。"
    if share == "none":
        fields["share_basis"] = "《住房公积金管理条例》规定缴存信息仅限本人及授权机构查询。"
    if open_type != "none":
        fields["open_methods"] = ["1", "3"]
    if open_type == "conditional":
        fields["open_conditions"] = "申请人须说明使用范围和用途，经提供部门审核同意。"
    return fields


def load_catalog() -> int:
    """Publish the demo catalog; idempotent (a resource already there by name is skipped)."""
    elements = {element.identifier: element for element in DataElement.objects.all()}
    authority = User.objects.filter(username="authority").first()
    if authority is None:
        return 0
    published = 0
    for row in RESOURCES:
        provider = Organization.objects.get(code=f"{COUNTY}-{row[0]}")
        cdo = provider.chief_data_officer
        if cdo is None or not cdo.has_role(Role.CDO):
            continue
        category = ResourceCategory.objects.filter(organization=provider).order_by("code").first()
        if category is None:
            continue
        items = [_item(spec, elements, row[9]) for spec in row[8]]
        if row[4] != "none":  # open resources publish personal items only masked
            for item in items:
                if item["is_sensitive"]:
                    item["open_masking"] = "mask"
        fields = _fields(row, category, provider, cdo, items)
        if Resource.objects.filter(provider=provider, versions__name=fields["name"]).exists():
            continue
        with transaction.atomic():
            version = drafts.create_draft(cdo, provider=provider, fields=fields, items=items)
            review.submit(cdo, version)
            review.publish(authority, version, comment="演示数据：目录审核通过")
        published += 1
    return published
