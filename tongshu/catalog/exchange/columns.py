"""The two sheets of the department catalog spreadsheet (../shared/reference/catalog-standard.md §7), declared once.

Each column names the record key it carries (the model field name, see `records.py`), whether a cell is required,
how its cells are read (`kind`) and, for coded columns, the vocabulary that gives its drop-down list and accepted
values. The header texts and their order are the standard's; nothing else may rename them.
"""

from __future__ import annotations

from dataclasses import dataclass

RESOURCE_SHEET = "信息资源"
ITEM_SHEET = "信息项"
CODES_SHEET = "代码表"
HELP_SHEET = "填写说明"

# How a cell is read.
TEXT = "text"  # free text, stripped
CODED = "coded"  # one value of a vocabulary (its Chinese name or its code)
MULTI = "multi"  # several values of a vocabulary, separated by ; (also ；、,，)
LIST = "list"  # several free values separated by ;
BOOL = "bool"  # 是 / 否
INTEGER = "integer"  # a positive whole number


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str = TEXT
    required: bool = False
    vocabulary: str = ""
    width: int = 16
    max_length: int = 0
    note: str = ""


RESOURCE_COLUMNS: tuple[Column, ...] = (
    Column("序号", "serial", INTEGER, required=True, width=6, note="本表内唯一，信息项表的“资源序号”引用它"),
    Column(
        "信息资源分类",
        "category",
        CODED,
        required=True,
        vocabulary="category",
        width=14,
        note="分类代码（见代码表），如 101",
    ),
    Column("信息资源名称", "name", required=True, width=26, max_length=200),
    Column("信息资源代码", "code", width=20, note="新资源留空，发布时由平台赋码；修改已发布资源时填写其代码"),
    Column("信息资源提供方", "provider_name", width=20, note="留空或填写本单位名称"),
    Column(
        "信息资源提供方代码", "provider_code", width=22, note="留空或填写本单位统一社会信用代码（或机构代码）"
    ),
    Column("信息资源摘要", "summary", required=True, width=36),
    Column("信息资源格式分类", "format_class", CODED, required=True, vocabulary="format_class", width=14),
    Column("信息资源格式类型", "format_type", width=14, max_length=40, note="如 OFD、XLSX、达梦、MySQL"),
    Column("共享类型", "share_type", CODED, required=True, vocabulary="share_type", width=12),
    Column("共享条件", "share_conditions", width=24, note="有条件共享时必填"),
    Column("不予共享依据", "share_basis", width=24, note="不予共享时必填，写明法律法规或政策依据"),
    Column("共享方式", "share_method", CODED, vocabulary="share_method", width=20),
    Column(
        "提供方式",
        "provision_methods",
        MULTI,
        vocabulary="provision_method",
        width=14,
        note="可多选，用分号“;”分隔",
    ),
    Column(
        "使用方式", "usage_methods", MULTI, vocabulary="usage_method", width=16, note="可多选，用分号“;”分隔"
    ),
    Column(
        "是否向社会开放",
        "open_type",
        CODED,
        required=True,
        vocabulary="open_type",
        width=14,
        note="即开放类型：无条件开放、有条件开放或不予开放",
    ),
    Column("开放条件", "open_conditions", width=24, note="有条件开放时必填"),
    Column(
        "开放方式", "open_methods", MULTI, vocabulary="open_method", width=16, note="可多选，用分号“;”分隔"
    ),
    Column("更新周期", "update_cycle", CODED, required=True, vocabulary="update_cycle", width=10),
    Column("所属业务系统", "business_system", width=20, note="须为本单位已登记的业务系统名称"),
    Column(
        "安全级别",
        "security_level",
        CODED,
        vocabulary="security_level",
        width=16,
        note="留空为一般数据（一级）",
    ),
    Column("关键字", "keywords", width=16, max_length=300, note="多个用分号分隔"),
    Column("使用要求", "usage_requirements", width=20),
    Column("业务解读", "business_interpretation", width=20),
    Column("关联资源代码", "related_codes", LIST, width=20, note="多个用分号分隔"),
    Column("联系人", "contact_name", width=10, max_length=40),
    Column("联系电话", "contact_phone", width=14, max_length=30),
)

ITEM_COLUMNS: tuple[Column, ...] = (
    Column(
        "资源序号", "resource_serial", INTEGER, required=True, width=8, note="所属资源在“信息资源”表中的序号"
    ),
    Column("信息项序号", "position", INTEGER, width=8, note="资源内的顺序；留空按行序"),
    Column("信息项名称", "name", required=True, width=20, max_length=100),
    Column("数据类型", "data_type", CODED, required=True, vocabulary="data_type", width=12),
    Column("数据长度", "length", width=10, max_length=20, note="如 C18、C..50、N8,2"),
    Column("数据元标识符", "data_element", width=14, note="所遵循数据元的标识符"),
    Column("代码集", "code_set", CODED, vocabulary="code_set", width=18, note="代码集标识符或名称"),
    Column("是否主键", "is_key", BOOL, vocabulary="boolean", width=8),
    Column("是否可查询", "is_queryable", BOOL, vocabulary="boolean", width=10),
    Column("是否敏感", "is_sensitive", BOOL, vocabulary="boolean", width=8),
    Column(
        "安全级别",
        "security_level",
        CODED,
        vocabulary="security_level",
        width=16,
        note="留空为一般数据（一级）",
    ),
    Column("说明", "description", width=30, max_length=300),
)

SHEETS: dict[str, tuple[Column, ...]] = {RESOURCE_SHEET: RESOURCE_COLUMNS, ITEM_SHEET: ITEM_COLUMNS}

# Record key → column, per sheet (used to place errors reported by the catalog's validation).
RESOURCE_COLUMN_BY_KEY = {column.key: column for column in RESOURCE_COLUMNS}
ITEM_COLUMN_BY_KEY = {column.key: column for column in ITEM_COLUMNS}

# Multi-value cells: any of these separate values.
SEPARATORS = (";", "；", "、", ",", "，", "\n")
