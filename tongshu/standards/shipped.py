"""The code sets shipped with the platform (`standards/data/`), by identifier. Other apps name sets by these constants.

Each set's version is named after its standard's year (or, for the division codes, the data year of the National
Bureau of Statistics' snapshot), so running `load_standards` after an upgrade that ships newer data adds a version
instead of rewriting the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CODESETS_DIR = DATA_DIR / "codesets"
DIVISIONS_DIR = DATA_DIR / "divisions"

SEX = "sex"
MARITAL_STATUS = "marital-status"
ETHNIC_GROUP = "ethnic-group"
EDUCATION = "education"
INDUSTRY_SECTION = "industry-section"
DIVISION = "division"
TOWNSHIP = "township"
ITEM_DATA_TYPE = "item-data-type"
RESOURCE_FORMAT_CLASS = "resource-format-class"
UPDATE_CYCLE = "update-cycle"
SHARE_METHOD = "share-method"
SHARE_TYPE = "share-type"
OPEN_TYPE = "open-type"
PROVISION_METHOD = "provision-method"
USAGE_METHOD = "usage-method"
OPEN_METHOD = "open-method"
SECURITY_LEVEL = "security-level"
BASE_LIBRARY = "base-library"

GUIDE = "《政务信息资源目录编制指南（试行）》"
REGULATION = "《华容县政务信息资源管理暂行办法》"


@dataclass(frozen=True)
class ShippedSet:
    identifier: str
    name: str
    standard: str
    version: str
    file: str  # under codesets/; empty for the division sets, built from divisions/
    description: str = ""
    is_hierarchical: bool = False


SHIPPED_SETS: list[ShippedSet] = [
    ShippedSet(SEX, "人的性别代码", "GB/T 2261.1-2003", "2003", "gb-t-2261.1-sex.csv"),
    ShippedSet(MARITAL_STATUS, "婚姻状况代码", "GB/T 2261.2-2003", "2003", "gb-t-2261.2-marital-status.csv"),
    ShippedSet(
        ETHNIC_GROUP,
        "民族代码",
        "GB/T 3304-1991",
        "1991",
        "gb-t-3304-ethnic-group.csv",
        "中国各民族名称的数字代码，收录 56 个民族；标准中“其他未识别民族”“外国血统中国籍人士”两个代码未收录。",
    ),
    ShippedSet(
        EDUCATION,
        "学历代码",
        "GB/T 4658-2006",
        "2006",
        "gb-t-4658-education.csv",
        "收录各学历组代码和毕业代码，结业、肄业代码未收录。",
    ),
    ShippedSet(
        INDUSTRY_SECTION,
        "国民经济行业分类（门类）",
        "GB/T 4754-2017",
        "2017",
        "gb-t-4754-industry-section.csv",
        "国民经济行业分类的 20 个门类。",
    ),
    ShippedSet(
        DIVISION,
        "县级及以上行政区划代码",
        "GB/T 2260",
        "2023",
        "",
        "省、地、县三级六位行政区划代码，来自国家统计局 2023 年统计用区划代码（2024-11-28 快照），"
        "省级、地级代码按 GB/T 2260 补足六位。",
        is_hierarchical=True,
    ),
    ShippedSet(
        TOWNSHIP,
        "乡级区划代码",
        "国家统计局统计用区划代码",
        "2023",
        "",
        "乡、镇、街道的九位统计用区划代码，上级为所属县级行政区划（2023 年数据，2024-11-28 快照）。",
        is_hierarchical=True,
    ),
    ShippedSet(ITEM_DATA_TYPE, "信息项数据类型", GUIDE, "2017", "item-data-type.csv"),
    ShippedSet(RESOURCE_FORMAT_CLASS, "信息资源格式分类", GUIDE, "2017", "resource-format-class.csv"),
    ShippedSet(UPDATE_CYCLE, "更新周期", GUIDE, "2017", "update-cycle.csv"),
    ShippedSet(SHARE_METHOD, "共享方式", GUIDE, "2017", "share-method.csv"),
    ShippedSet(SHARE_TYPE, "共享类型", f"{REGULATION}第十七条", "2021", "share-type.csv"),
    ShippedSet(OPEN_TYPE, "开放类型", f"{REGULATION}第二十五条", "2021", "open-type.csv"),
    ShippedSet(PROVISION_METHOD, "提供方式", f"{REGULATION}第十九条", "2021", "provision-method.csv"),
    ShippedSet(USAGE_METHOD, "使用方式", f"{REGULATION}第二十条", "2021", "usage-method.csv"),
    ShippedSet(OPEN_METHOD, "开放方式", f"{REGULATION}第二十七条", "2021", "open-method.csv"),
    ShippedSet(
        SECURITY_LEVEL,
        "数据安全级别",
        "GB/T 43697-2024",
        "2024",
        "security-level.csv",
        "核心数据、重要数据、一般数据，一般数据按本地做法再分四级。",
    ),
    ShippedSet(BASE_LIBRARY, "基础信息库", f"{REGULATION}第十四条", "2021", "base-library.csv"),
]

CATEGORY_FILE = CODESETS_DIR / "resource-category.csv"
DATA_ELEMENTS_FILE = DATA_DIR / "data-elements.csv"
