"""The value lists of the coded columns: what the template's drop-down lists offer and what an import accepts.

A coded cell takes the Chinese name or the code (§7). Names are the guide's and the Huarong regulation's terms (the
code sets shipped in `standards`); when the operator has loaded a code set of the same identifier into `standards`,
its current names are offered instead and the built-in ones are still accepted, so renaming a value never breaks an
old spreadsheet. Share and open types are stored as `unconditional` / `conditional` / `none`; their exchange numbers
(1 / 2 / 3) and those words are accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from tongshu.catalog.choices import (
    OPEN_TYPE_NUMBERS,
    SHARE_TYPE_NUMBERS,
    FormatClass,
    OpenMethod,
    OpenType,
    ProvisionMethod,
    ShareMethod,
    ShareType,
    UpdateCycle,
    UsageMethod,
)
from tongshu.standards.levels import SecurityLevel
from tongshu.standards.models import CodeSet, DataType, ResourceCategory

# (stored value, Chinese name), in the order of the lists; the names follow standards/data/codesets/*.csv.
BUILT_IN: dict[str, tuple[tuple[str, str], ...]] = {
    "format_class": (
        (FormatClass.DOCUMENT, "电子文件"),
        (FormatClass.SPREADSHEET, "电子表格"),
        (FormatClass.DATABASE, "数据库"),
        (FormatClass.IMAGE, "图形图像"),
        (FormatClass.STREAMING, "流媒体"),
        (FormatClass.SELF_DESCRIBING, "自描述格式"),
        (FormatClass.OTHER, "其他"),
    ),
    "share_type": (
        (ShareType.UNCONDITIONAL, "无条件共享"),
        (ShareType.CONDITIONAL, "有条件共享"),
        (ShareType.NONE, "不予共享"),
    ),
    "share_method": (
        (ShareMethod.TABLE, "共享平台方式-库表"),
        (ShareMethod.INTERFACE, "共享平台方式-接口"),
        (ShareMethod.FILE, "共享平台方式-文件"),
        (ShareMethod.MEDIA, "邮件或介质方式"),
    ),
    "provision_method": (
        (ProvisionMethod.SYSTEM, "系统对接"),
        (ProvisionMethod.INTERFACE, "数据下发接口"),
        (ProvisionMethod.EFORM, "电子表单"),
    ),
    "usage_method": (
        (UsageMethod.VERIFY, "验证服务"),
        (UsageMethod.QUERY, "查询服务"),
        (UsageMethod.PUSH, "数据推送"),
    ),
    "open_type": (
        (OpenType.UNCONDITIONAL, "无条件开放"),
        (OpenType.CONDITIONAL, "有条件开放"),
        (OpenType.NONE, "不予开放"),
    ),
    "open_method": (
        (OpenMethod.DOWNLOAD, "数据下载"),
        (OpenMethod.API, "数据调用接口"),
        (OpenMethod.PORTAL, "开放平台在线提供"),
        (OpenMethod.OTHER, "其他方式"),
    ),
    "update_cycle": (
        (UpdateCycle.REALTIME, "实时"),
        (UpdateCycle.DAILY, "每日"),
        (UpdateCycle.WEEKLY, "每周"),
        (UpdateCycle.MONTHLY, "每月"),
        (UpdateCycle.QUARTERLY, "每季度"),
        (UpdateCycle.HALF_YEARLY, "每半年"),
        (UpdateCycle.YEARLY, "每年"),
        (UpdateCycle.IRREGULAR, "不定期"),
    ),
    "security_level": (
        (SecurityLevel.GENERAL_1, "一般数据（一级）"),
        (SecurityLevel.GENERAL_2, "一般数据（二级）"),
        (SecurityLevel.GENERAL_3, "一般数据（三级）"),
        (SecurityLevel.GENERAL_4, "一般数据（四级）"),
        (SecurityLevel.IMPORTANT, "重要数据"),
        (SecurityLevel.CORE, "核心数据"),
    ),
    "data_type": (
        (DataType.CHAR, "字符型"),
        (DataType.NUMERIC, "数值型"),
        (DataType.CURRENCY, "货币型"),
        (DataType.DATE, "日期型"),
        (DataType.DATETIME, "日期时间型"),
        (DataType.LOGICAL, "逻辑型"),
        (DataType.MEMO, "备注型"),
        (DataType.GENERAL, "通用型"),
        (DataType.DOUBLE, "双精度型"),
        (DataType.INTEGER, "整型"),
        (DataType.FLOAT, "浮点型"),
    ),
    "boolean": (("1", "是"), ("0", "否")),
}

TITLES = {
    "category": "信息资源分类",
    "format_class": "信息资源格式分类",
    "share_type": "共享类型",
    "share_method": "共享方式",
    "provision_method": "提供方式",
    "usage_method": "使用方式",
    "open_type": "开放类型",
    "open_method": "开放方式",
    "update_cycle": "更新周期",
    "security_level": "安全级别",
    "data_type": "数据类型",
    "boolean": "是/否",
    "code_set": "代码集",
}

# The `standards` code set whose current names override the built-in ones, and how its codes map to stored values.
STANDARD_CODE_SETS = {
    "format_class": "resource-format-class",
    "share_type": "share-type",
    "share_method": "share-method",
    "provision_method": "provision-method",
    "usage_method": "usage-method",
    "open_type": "open-type",
    "open_method": "open-method",
    "update_cycle": "update-cycle",
    "security_level": "security-level",
    "data_type": "item-data-type",
}
_NUMBERED = {"share_type": SHARE_TYPE_NUMBERS, "open_type": OPEN_TYPE_NUMBERS}

EXTRA_ALIASES = {
    "boolean": {"y": "1", "yes": "1", "true": "1", "n": "0", "no": "0", "false": "0", "√": "1", "×": "0"},
}


def normalize(value: str) -> str:
    """Case-, width- and space-insensitive form of a cell used for matching."""
    value = value.replace("（", "(").replace("）", ")").replace("－", "-").replace("—", "-")
    return re.sub(r"\s+", "", value).lower()


@dataclass
class Vocabulary:
    key: str
    title: str
    entries: list[tuple[str, str]]  # (stored value, display name) in list order
    aliases: dict[str, str] = field(default_factory=dict)  # normalized spelling → stored value

    def __post_init__(self) -> None:
        self.entries = [(str(value), str(name)) for value, name in self.entries]
        self.aliases = {key: str(value) for key, value in self.aliases.items()}
        for value, name in self.entries:
            self.aliases.setdefault(normalize(value), value)
            self.aliases.setdefault(normalize(name), value)
            self.aliases.setdefault(normalize(f"{value} {name}"), value)

    def lookup(self, raw: str) -> str | None:
        """The stored value a cell means, or None. Digit codes also match without leading zeros (Excel drops them)."""
        key = normalize(raw)
        if key in self.aliases:
            return self.aliases[key]
        if key.isdigit():
            for value, _name in self.entries:
                if value.isdigit() and int(value) == int(key):
                    return value
        return None

    def name_of(self, value: str) -> str:
        for stored, name in self.entries:
            if stored == value:
                return name
        return value

    @property
    def names(self) -> list[str]:
        return [name for _value, name in self.entries]


def _standard_names(identifier: str) -> dict[str, str]:
    code_set = CodeSet.objects.filter(identifier=identifier).first()
    version = code_set.current_version if code_set else None
    if version is None:
        return {}
    return dict(version.values.values_list("code", "name"))


def _built_in(key: str) -> Vocabulary:
    entries = list(BUILT_IN[key])
    aliases: dict[str, str] = {}
    for value, name in entries:
        aliases[normalize(name)] = value
    numbers = _NUMBERED.get(key, {})
    for value, number in numbers.items():
        aliases[normalize(number)] = value
    aliases.update(EXTRA_ALIASES.get(key, {}))
    if key in STANDARD_CODE_SETS:
        overrides = _standard_names(STANDARD_CODE_SETS[key])
        reverse_numbers = {number: value for value, number in numbers.items()}
        for code, name in overrides.items():
            value = reverse_numbers.get(code, code)
            if any(stored == value for stored, _ in entries):
                aliases[normalize(name)] = value
                entries = [(stored, name if stored == value else old) for stored, old in entries]
    return Vocabulary(key, TITLES[key], entries, aliases)


def _categories(organization: Any = None) -> Vocabulary:
    categories = ResourceCategory.objects.filter(is_active=True)
    if organization is not None:
        # A department may file under the shared branches and its own branch of the 部门 class, not another's.
        categories = categories.filter(Q(organization__isnull=True) | Q(organization=organization))
    entries = list(categories.order_by("code").values_list("code", "name"))
    return _without_ambiguous_names(Vocabulary("category", TITLES["category"], entries))


def _code_sets() -> Vocabulary:
    entries = list(CodeSet.objects.order_by("identifier").values_list("identifier", "name"))
    return _without_ambiguous_names(Vocabulary("code_set", TITLES["code_set"], entries))


def _without_ambiguous_names(vocabulary: Vocabulary) -> Vocabulary:
    """A name alone is accepted only when no other entry bears it; codes always are."""
    counts: dict[str, int] = {}
    for _code, name in vocabulary.entries:
        counts[normalize(name)] = counts.get(normalize(name), 0) + 1
    codes = {normalize(code) for code, _name in vocabulary.entries}
    for _code, name in vocabulary.entries:
        if counts[normalize(name)] > 1 and normalize(name) not in codes:
            vocabulary.aliases.pop(normalize(name), None)
    return vocabulary


class Vocabularies:
    """Every list an import or export needs, read once from the database. With `organization`, the category list
    offers only the categories that department may use (drop-down lists of its template and exports)."""

    def __init__(self, organization: Any = None) -> None:
        self._lists: dict[str, Vocabulary] = {}
        self.organization = organization

    def __getitem__(self, key: str) -> Vocabulary:
        if key not in self._lists:
            if key == "category":
                self._lists[key] = _categories(self.organization)
            elif key == "code_set":
                self._lists[key] = _code_sets()
            else:
                self._lists[key] = _built_in(key)
        return self._lists[key]

    def name_of(self, key: str, value: Any) -> str:
        if value in (None, ""):
            return ""
        return self[key].name_of(str(value))
