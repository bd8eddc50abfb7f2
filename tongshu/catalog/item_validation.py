"""Checks of info items (信息项), mixed into the validator of `validation.py`.

Items bound to a data element follow it (第九条): the item's type must be the element's, its length must fit within
the element's, and it takes the element's code set. Each item keeps a stable `uid` and `field_name` across versions.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db.models import Model

from tongshu.standards.formats import LengthNotationError, LengthSpec, parse_length
from tongshu.standards.levels import SecurityLevel, rank
from tongshu.standards.models import CodeSet, DataElement, DataType

from .choices import FormatClass, OpenType, ShareMethod, ShareType
from .models import InfoItem, MaskingMethod

# Types whose values carry no length of their own (a date is a date) need none written; a length may still be.
LENGTH_REQUIRED_TYPES = frozenset({"C", "N"})

ITEM_FIELDS = (
    "name",
    "data_type",
    "length",
    "data_element",
    "code_set",
    "is_key",
    "is_queryable",
    "is_sensitive",
    "is_required",
    "security_level",
    "open_masking",
    "description",
)
BOOLEAN_ITEM_FIELDS = frozenset({"is_key", "is_queryable", "is_sensitive", "is_required"})
ITEM_LABELS = {
    "name": "信息项名称",
    "data_type": "数据类型",
    "length": "数据长度",
    "data_element": "数据元",
    "code_set": "代码集",
    "security_level": "安全级别",
    "open_masking": "开放脱敏方式",
    "description": "说明",
    "field_name": "字段名",
}
KEYED_SHARE_METHODS = frozenset({ShareMethod.TABLE, ShareMethod.INTERFACE})
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "是", "y"}
    return bool(value)


def as_pk(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class ItemChecks:
    """Expects `self.fields`, `self.raw_items`, `self.items`, `self.resource`, `self.settings` and `self.error`."""

    fields: dict[str, Any]
    raw_items: list[dict[str, Any]]
    items: list[dict[str, Any]]
    resource: Any
    settings: Any

    def error(self, field_name: str, code: str, message: str, item_index: int | None = None) -> None:
        raise NotImplementedError

    def check_items(self) -> None:
        if not self.raw_items:
            self.error("items", "items_required", "信息资源至少需要一个信息项")
            return
        element_ids = {as_pk(item.get("data_element")) for item in self.raw_items} - {None}
        code_set_ids = {as_pk(item.get("code_set")) for item in self.raw_items} - {None}
        elements = DataElement.objects.select_related("code_set").in_bulk(
            [pk for pk in element_ids if isinstance(pk, int)]
        )
        code_sets = CodeSet.objects.in_bulk([pk for pk in code_set_ids if isinstance(pk, int)])
        known_names = self.known_field_names()
        seen_names: dict[str, int] = {}
        for index, raw in enumerate(self.raw_items):
            item = self.clean_item(index, raw, elements, code_sets)
            if item["name"]:
                if item["name"] in seen_names:
                    self.error("name", "duplicate_item_name", f"信息项名称“{item['name']}”重复", index)
                seen_names.setdefault(item["name"], index)
            self.items.append(item)
        self.assign_identities(known_names)
        needs_key = self.fields["format_class"] == FormatClass.DATABASE or (
            self.fields["share_method"] in KEYED_SHARE_METHODS and self.fields["share_type"] != ShareType.NONE
        )
        if needs_key and not any(item["is_key"] for item in self.items):
            self.error("items", "key_required", "数据库或库表、接口方式共享的信息资源至少需要一个主键信息项")

    def clean_item(
        self, index: int, raw: dict[str, Any], elements: dict[int, DataElement], code_sets: dict[int, CodeSet]
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "position": index + 1,
            "uid": text(raw.get("uid")),
            "field_name": text(raw.get("field_name")).lower(),
        }
        for name in ITEM_FIELDS:
            value = raw.get(name)
            if name in BOOLEAN_ITEM_FIELDS:
                item[name] = as_bool(value)
            elif name in ("data_element", "code_set"):
                item[name] = as_pk(value)
            else:
                item[name] = text(value)
        item["data_type"] = item["data_type"].upper()
        if not item["security_level"]:
            item["security_level"] = SecurityLevel.GENERAL_1
        if not item["name"]:
            self.error("name", "required", "请填写信息项名称", index)
        elif len(item["name"]) > 100:
            self.error("name", "too_long", "信息项名称不能超过 100 个字符", index)
        if len(item["description"]) > 300:
            self.error("description", "too_long", "说明不能超过 300 个字符", index)
        element = None
        if item["data_element"] is not None:
            element = elements.get(item["data_element"]) if isinstance(item["data_element"], int) else None
            if element is None or not element.is_active:
                self.error("data_element", "unknown_element", "数据元不存在或已停用", index)
                item["data_element"] = None
                element = None
        if element is not None:
            # A bound item takes what it leaves empty from its data element (第九条: follow the standard).
            item["data_type"] = item["data_type"] or element.data_type
            item["length"] = item["length"] or element.length
            if item["code_set"] is None and element.code_set_id:
                item["code_set"] = element.code_set_id
        if not item["data_type"]:
            self.error("data_type", "required", "请选择数据类型", index)
        elif item["data_type"] not in DataType.values:
            self.error("data_type", "invalid_choice", f"数据类型“{item['data_type']}”无效", index)
        length = self.check_item_length(index, item)
        if element is not None:
            self.check_binding(index, item, element, length)
        if item["code_set"] is not None:
            code_set = code_sets.get(item["code_set"]) if isinstance(item["code_set"], int) else None
            if code_set is None and element is not None and element.code_set_id == item["code_set"]:
                code_set = element.code_set
            if code_set is None:
                self.error("code_set", "unknown_code_set", "代码集不存在", index)
            item["code_set"] = code_set
        item["data_element"] = element
        if item["security_level"] not in SecurityLevel.values:
            self.error("security_level", "invalid_choice", "安全级别无效", index)
        if item["open_masking"] not in MaskingMethod.values:
            self.error("open_masking", "invalid_choice", "开放脱敏方式无效", index)
        return item

    def check_item_length(self, index: int, item: dict[str, Any]) -> LengthSpec | None:
        if not item["length"]:
            if item["data_type"] in LENGTH_REQUIRED_TYPES:
                self.error("length", "required", "字符型和数值型信息项须填写数据长度", index)
            return None
        if item["data_type"] not in DataType.values:
            return None
        try:
            length = parse_length(item["length"], item["data_type"])
        except LengthNotationError:
            self.error(
                "length",
                "invalid_length",
                f"数据长度“{item['length']}”格式不正确（应如 C18、C..50、N8,2，且与数据类型一致）",
                index,
            )
            return None
        item["length"] = length.notation
        return length

    def check_binding(
        self, index: int, item: dict[str, Any], element: DataElement, length: LengthSpec | None
    ) -> None:
        if item["data_type"] and item["data_type"] != element.data_type:
            self.error(
                "data_type",
                "element_type_mismatch",
                f"数据类型与数据元“{element.name}”的类型（{element.data_type}）不一致",
                index,
            )
            return
        if length is None or not element.length:
            return
        try:
            element_length = parse_length(element.length, element.data_type)
        except LengthNotationError:
            return  # the element's own notation is the standards app's to validate
        if not length.fits_within(element_length):
            self.error(
                "length",
                "element_length_mismatch",
                f"数据长度超出数据元“{element.name}”的长度 {element_length.notation}",
                index,
            )
        if element.code_set_id and item["code_set"] not in (None, element.code_set_id):
            self.error(
                "code_set", "element_code_set_mismatch", "绑定数据元的信息项须使用数据元的代码集", index
            )

    def known_field_names(self) -> dict[str, str]:
        """uid → field_name of every item any version of this resource ever had."""
        if self.resource is None or not self.resource.pk:
            return {}
        return dict(
            InfoItem.objects.filter(version__resource=self.resource)
            .order_by("version__number")
            .values_list("uid", "field_name")
        )

    def assign_identities(self, known: dict[str, str]) -> None:
        used = set(known.values())
        taken_in_version: set[str] = set()
        for index, item in enumerate(self.items):
            uid = item["uid"]
            if uid and uid in known:
                if item["field_name"] and item["field_name"] != known[uid]:
                    self.error("field_name", "field_name_fixed", "已有信息项的字段名不能修改", index)
                item["field_name"] = known[uid]
            else:
                item["uid"] = uid if uid and len(uid) <= 16 else secrets.token_hex(6)
                if item["field_name"]:
                    if not FIELD_NAME.match(item["field_name"]):
                        self.error(
                            "field_name",
                            "invalid_field_name",
                            "字段名只能由小写字母、数字和下划线组成，并以字母开头",
                            index,
                        )
                    elif item["field_name"] in used:
                        self.error("field_name", "field_name_used", "字段名已被本资源的其他信息项使用", index)
                    used.add(item["field_name"])
            if item["field_name"] in taken_in_version:
                self.error("field_name", "duplicate_field_name", "字段名重复", index)
            if item["field_name"]:
                taken_in_version.add(item["field_name"])
        for item in self.items:
            if not item["field_name"]:
                item["field_name"] = _new_field_name(item, used | taken_in_version)
                used.add(item["field_name"])
        uids = [item["uid"] for item in self.items]
        for index, uid in enumerate(uids):
            if uids.index(uid) != index:
                self.error("uid", "duplicate_uid", "信息项标识重复", index)

    # -- levels and type changes ---------------------------------------------------------------------------------
    def check_levels(self) -> None:
        if not self.items:
            return
        item_levels = [item["security_level"] for item in self.items]
        top = max(item_levels, key=rank)
        level = self.fields["security_level"]
        if level in SecurityLevel.values and rank(level) < rank(top):
            self.error(
                "security_level",
                "level_below_items",
                f"资源安全级别不能低于其信息项的最高级别（{SecurityLevel(top).label}）",
            )
        if self.fields["open_type"] not in (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL):
            return
        open_max = self.settings.open_max_security_level
        for index, item in enumerate(self.items):
            if item["security_level"] == SecurityLevel.CORE and item["open_masking"] != MaskingMethod.DROP:
                self.error(
                    "open_masking", "core_item_open", "核心数据信息项不得开放，须在开放数据中移除", index
                )
            elif rank(item["security_level"]) > rank(open_max) and not item["open_masking"]:
                self.error(
                    "open_masking",
                    "level_above_open",
                    f"信息项级别高于开放数据允许的最高级别（{SecurityLevel(open_max).label}），"
                    "开放时须指定脱敏方式",
                    index,
                )


def _new_field_name(item: dict[str, Any], used: set[str]) -> str:
    element = item.get("data_element")
    base = ""
    if isinstance(element, DataElement) and element.english_name:
        base = re.sub(r"[^a-z0-9]+", "_", element.english_name.lower()).strip("_")[:50]
        if base and not base[0].isalpha():
            base = f"f_{base}"
    if not base:
        base = f"item_{item['position']}"
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}_{n}"
        n += 1
    return candidate
