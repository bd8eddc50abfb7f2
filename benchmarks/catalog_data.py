"""Deterministic, realistic catalog data for the search benchmark and for screenshots of the search page.

`populate(n, seed)` builds `n` published resources of 华容县's departments (names such as 华容县户籍人口基本信息,
章华镇城乡低保对象名册, 企业登记注册信息), 5–30 info items each, keywords, and the category tree they sit in,
directly with bulk_create (no services, no audit: this is test data, not a workflow).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

# Department code (as in tongshu.demo.organizations) → (category code, subjects, item domain).
SUBJECTS: dict[str, tuple[str, list[str], str]] = {
    "GAJ": (
        "101",
        [
            "户籍人口",
            "流动人口",
            "暂住人口",
            "出生登记",
            "死亡注销",
            "机动车驾驶人",
            "机动车登记",
            "居民身份证办理",
            "出入境证件",
            "旅馆业住宿登记",
            "治安管理处罚",
            "道路交通事故",
        ],
        "person",
    ),
    "MZJ": (
        "201",
        [
            "城乡低保对象",
            "特困供养人员",
            "婚姻登记",
            "社会组织登记",
            "殡葬服务",
            "临时救助",
            "残疾人两项补贴",
            "农村留守儿童",
            "养老服务机构",
            "地名",
        ],
        "person",
    ),
    "RSJ": (
        "201",
        [
            "社会保险参保",
            "城乡居民养老保险",
            "就业登记",
            "失业登记",
            "职业技能鉴定",
            "劳动合同备案",
            "工伤认定",
            "人才引进",
        ],
        "person",
    ),
    "ZRJ": (
        "103",
        [
            "不动产登记",
            "国有土地使用权出让",
            "土地利用现状",
            "建设用地审批",
            "耕地保护",
            "矿业权",
            "地质灾害隐患点",
            "基础测绘成果",
        ],
        "geo",
    ),
    "SJJ": (
        "102",
        [
            "企业登记注册",
            "个体工商户登记",
            "企业年度报告",
            "市场监管行政处罚",
            "食品经营许可",
            "特种设备",
            "计量器具检定",
            "商标注册",
            "经营异常名录",
        ],
        "org",
    ),
    "WJJ": (
        "202",
        [
            "出生医学证明",
            "预防接种",
            "医疗机构执业登记",
            "医师执业注册",
            "传染病报告",
            "居民健康档案",
            "计划生育家庭奖励扶助",
            "母婴保健",
        ],
        "person",
    ),
    "JYJ": (
        "203",
        ["中小学学籍", "学校基本情况", "教师资格认定", "学生资助", "幼儿园办学许可", "义务教育招生"],
        "person",
    ),
    "ZJJ": (
        "206",
        [
            "建筑工程施工许可",
            "商品房预售许可",
            "房屋网签备案",
            "住房公积金缴存",
            "公共租赁住房保障",
            "建筑业企业资质",
            "燃气经营许可",
        ],
        "org",
    ),
    "NYJ": (
        "207",
        [
            "农村土地承包经营权",
            "家庭农场",
            "农民专业合作社",
            "动物防疫",
            "农机购置补贴",
            "耕地地力保护补贴",
            "农药经营许可",
            "高标准农田",
        ],
        "geo",
    ),
    "SLJ": (
        "103",
        ["取水许可", "水利工程", "河道采砂许可", "水土保持方案", "河长巡河", "农村饮水安全工程", "洪涝灾情"],
        "geo",
    ),
    "JTJ": (
        "208",
        ["道路运输经营许可", "营运车辆", "道路运输从业人员资格", "公路路况", "农村公路", "客运班线"],
        "org",
    ),
    "CZJ": (
        "209",
        ["财政预算执行", "政府采购", "行政事业单位国有资产", "惠民惠农补贴发放", "非税收入"],
        "org",
    ),
    "SWJ": ("209", ["纳税人登记", "税收缴纳", "发票开具", "纳税信用等级", "欠税公告"], "org"),
    "YBJ": (
        "201",
        ["医保参保", "医保定点医药机构", "医保基金结算", "门诊慢特病认定", "医疗救助", "异地就医备案"],
        "person",
    ),
    "HJJ": (
        "205",
        ["排污许可", "环境影响评价审批", "空气质量监测", "水环境质量监测", "环境行政处罚", "重点排污单位"],
        "org",
    ),
    "YJJ": (
        "210",
        [
            "安全生产许可",
            "危险化学品经营许可",
            "应急救援队伍",
            "应急物资储备",
            "自然灾害灾情",
            "生产安全事故",
        ],
        "org",
    ),
    "TJJ": (
        "209",
        ["国民经济主要指标", "人口抽样调查", "农业普查", "经济普查单位名录", "规模以上工业企业"],
        "org",
    ),
    "SPJ": ("105", ["政务服务事项", "行政许可办件", "政务服务好差评", "电子证照", "一件事一次办"], "org"),
    "DSJ": ("204", ["政务信息资源目录", "数据共享交换日志", "政务云资源"], "org"),
    "WXB": ("204", ["网络安全检查", "关键信息基础设施", "网站备案"], "org"),
}
CATEGORIES = [
    ("1", "基础信息资源"),
    ("101", "人口"),
    ("102", "法人"),
    ("103", "自然资源和空间地理"),
    ("104", "社会信用"),
    ("105", "电子证照"),
    ("2", "主题信息资源"),
    ("201", "社会保障"),
    ("202", "医疗卫生"),
    ("203", "教育"),
    ("204", "政务管理"),
    ("205", "生态环境"),
    ("206", "城乡建设"),
    ("207", "农业农村"),
    ("208", "交通运输"),
    ("209", "财税经济"),
    ("210", "应急管理"),
]
SUFFIXES = ["基本信息", "信息", "名册", "登记信息", "台账", "统计信息", "明细", "变更信息", "汇总表", "数据"]
ITEMS = {
    "person": [
        "姓名",
        "公民身份号码",
        "性别",
        "民族",
        "出生日期",
        "户籍地址",
        "现住址",
        "联系电话",
        "文化程度",
        "婚姻状况",
        "人员类别",
        "监护人姓名",
        "与户主关系",
        "户号",
        "银行账号",
        "开户银行",
        "救助金额",
        "参保状态",
        "缴费基数",
        "所属村（社区）",
    ],
    "org": [
        "统一社会信用代码",
        "单位名称",
        "法定代表人",
        "注册资本",
        "成立日期",
        "住所",
        "经营范围",
        "登记机关",
        "登记状态",
        "行业类别",
        "企业类型",
        "许可证编号",
        "许可事项",
        "许可机关",
        "处罚决定书文号",
        "处罚事由",
        "联系人",
        "联系电话",
        "从业人数",
        "营业收入",
    ],
    "geo": [
        "地块编号",
        "坐落",
        "面积",
        "用途",
        "权利人",
        "权利性质",
        "坐标系",
        "经度",
        "纬度",
        "图斑编号",
        "所在乡镇",
        "行政区划代码",
        "工程名称",
        "工程规模",
        "设计标准",
        "责任人",
    ],
}
COMMON_ITEMS = [
    "业务编号",
    "办理日期",
    "办理状态",
    "经办人",
    "经办机构",
    "所属乡镇",
    "备注",
    "数据更新时间",
    "审批结果",
    "证照编号",
    "有效期起始日期",
    "有效期截止日期",
    "金额",
    "发放日期",
    "年度",
    "数据来源",
]
PURPOSES = [
    "跨部门业务协同",
    "政务服务一网通办",
    "社会救助对象精准认定",
    "基层治理",
    "统计分析和决策支持",
    "信用监管",
    "民生服务",
]
SHARE = [("unconditional", 60), ("conditional", 35), ("none", 5)]
OPEN = [("none", 65), ("conditional", 20), ("unconditional", 15)]
CYCLES = [("01", 5), ("02", 25), ("03", 5), ("04", 25), ("05", 10), ("06", 5), ("07", 15), ("99", 10)]
FORMATS = [("3", 60), ("2", 20), ("1", 10), ("4", 4), ("6", 4), ("9", 2)]
LEVELS = [("general-1", 30), ("general-2", 35), ("general-3", 20), ("general-4", 10), ("important", 5)]
CYCLE_TEXT = {
    "01": "实时",
    "02": "每日",
    "03": "每周",
    "04": "每月",
    "05": "每季度",
    "06": "每半年",
    "07": "每年",
    "99": "不定期",
}


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _categories() -> dict[str, Any]:
    from tongshu.standards.models import CategoryLevel, ResourceCategory

    made: dict[str, Any] = {}
    for code, name in CATEGORIES:
        level = CategoryLevel.CLASS if len(code) == 1 else CategoryLevel.ITEM
        made[code], _ = ResourceCategory.objects.get_or_create(
            code=code,
            defaults={"name": name, "level": level, "parent": made.get(code[:1]) if len(code) > 1 else None},
        )
    return made


def _organizations() -> dict[str, Any]:
    from tongshu.accounts.models import Organization
    from tongshu.demo import organizations

    if not Organization.objects.filter(code__startswith=f"{organizations.COUNTY}-").exists():
        organizations.load_organizations()
    return {code: Organization.objects.get(code=f"{organizations.COUNTY}-{code}") for code in SUBJECTS}


def _townships() -> list[str]:
    from tongshu.demo import organizations

    return [row["name"] for row in organizations.townships()]


def populate(count: int, seed: int = 2026) -> int:
    """Create `count` published resources (in addition to any there); returns how many were created."""
    from django.db import transaction

    from tongshu.catalog.models import CodeSequence, InfoItem, Resource, ResourceVersion

    rng = random.Random(seed)
    categories = _categories()
    orgs = _organizations()
    townships = _townships()
    departments = list(SUBJECTS)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    sequences = {seq.prefix: seq for seq in CodeSequence.objects.all()}
    with transaction.atomic():
        resources, versions, item_lists = [], [], []
        for n in range(count):
            department = (
                departments[n % len(departments)] if n < len(departments) else rng.choice(departments)
            )
            category_code, subjects, domain = SUBJECTS[department]
            subject = rng.choice(subjects)
            suffix = rng.choice(SUFFIXES)
            where = rng.random()
            prefix = "华容县" if where < 0.5 else ("" if where < 0.7 else rng.choice(townships))
            year = f"（{rng.randint(2019, 2025)}年）" if rng.random() < 0.2 else ""
            name = f"{prefix}{subject}{suffix}{year}"
            sequence = sequences.get(category_code) or CodeSequence(prefix=category_code, last_value=0)
            sequences[category_code] = sequence
            sequence.last_value += 1
            org = orgs[department]
            resources.append(
                Resource(
                    provider=org,
                    category=categories[category_code],
                    code=f"{category_code}/{sequence.last_value:06d}",
                    code_prefix=category_code,
                    code_sequence=sequence.last_value,
                )
            )
            vocabulary = ITEMS[domain] + COMMON_ITEMS
            items = [f"{subject}编号", *rng.sample(vocabulary, rng.randint(4, min(29, len(vocabulary))))]
            item_lists.append(items)
            cycle = _weighted(rng, CYCLES)
            share = _weighted(rng, SHARE)
            published = start + timedelta(minutes=rng.randint(0, 5 * 365 * 24 * 60))
            keywords = [subject, org.short_name.removeprefix("县")]
            if len(subject) == 4:
                keywords += [subject[:2], subject[2:]]
            versions.append(
                ResourceVersion(
                    number=1,
                    state="published",
                    name=name,
                    summary=(
                        f"{org.short_name}在办理{subject}业务中形成的{suffix}，包括{'、'.join(items[1:4])}等信息项，"
                        f"{CYCLE_TEXT[cycle]}更新，主要用于{rng.choice(PURPOSES)}。"
                    ),
                    format_class=_weighted(rng, FORMATS),
                    format_type="",
                    share_type=share,
                    share_conditions="仅限用于本部门法定职责范围内的业务办理"
                    if share == "conditional"
                    else "",
                    share_basis="《中华人民共和国个人信息保护法》第十三条" if share == "none" else "",
                    share_method="12",
                    provision_methods=["1"],
                    usage_methods=["1", "2"],
                    open_type=_weighted(rng, OPEN),
                    update_cycle=cycle,
                    security_level=_weighted(rng, LEVELS),
                    keywords="，".join(keywords),
                    created_at=published - timedelta(days=7),
                    updated_at=published,
                    submitted_at=published - timedelta(days=3),
                    reviewed_at=published,
                    published_at=published,
                )
            )
        Resource.objects.bulk_create(resources, batch_size=1000)
        for resource, version in zip(resources, versions, strict=True):
            version.resource = resource
        ResourceVersion.objects.bulk_create(versions, batch_size=1000)
        for resource, version in zip(resources, versions, strict=True):
            resource.published_version = version
        Resource.objects.bulk_update(resources, ["published_version"], batch_size=1000)
        InfoItem.objects.bulk_create(
            (
                InfoItem(
                    version=version,
                    position=position,
                    uid=f"i{position:03d}",
                    field_name=f"f{position:03d}",
                    name=item,
                    data_type="C",
                    length="C..100",
                    is_key=position == 1,
                    is_queryable=position <= 3,
                )
                for version, items in zip(versions, item_lists, strict=True)
                for position, item in enumerate(items, 1)
            ),
            batch_size=2000,
        )
        for sequence in sequences.values():
            sequence.save()
    return count
