"""Masking of sensitive items on the data pages and in downloads (第三十三条: personal information shown only to those
who need it).

An item is masked when the catalog marks it sensitive, or when its data element checks a resident ID number or a
phone number (those are personal whatever the flag says). How it is masked depends on what it holds:

- resident ID number: the first 6 (the birthplace) and the last 4 characters stay, `430623********1234`;
- phone number: 3 + `****` + 4, `138****5678`;
- a person's name: the first character and `*` for the rest, `张*` / `欧阳**`;
- anything else sensitive: the first and last quarter stay, the middle becomes `*`.
"""

from __future__ import annotations

from typing import Any

from .schema import Column, ResourceSchema

RESIDENT_ID, PHONE, NAME, GENERIC = "resident_id", "phone", "name", "generic"
NAME_LABELS = ("姓名", "法定代表人", "负责人", "联系人", "户主")


def mask_kind(column: Column) -> str | None:
    if column.check_rule == RESIDENT_ID:
        return RESIDENT_ID
    if column.check_rule == PHONE:
        return PHONE
    if not column.is_sensitive:
        return None
    if any(column.label.endswith(word) for word in NAME_LABELS):
        return NAME
    if "电话" in column.label or "手机" in column.label:
        return PHONE
    if "身份证" in column.label or "身份号码" in column.label:
        return RESIDENT_ID
    return GENERIC


def masked_fields(schema: ResourceSchema) -> dict[str, str]:
    """field name → how it is masked, for every item that is masked by default."""
    kinds = {column.field_name: mask_kind(column) for column in schema.columns}
    return {name: kind for name, kind in kinds.items() if kind}


def mask_value(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return value
    text = str(value)
    length = len(text)
    if kind == RESIDENT_ID and length > 10:
        return text[:6] + "*" * (length - 10) + text[-4:]
    if kind == PHONE and length >= 7:
        return text[:3] + "****" + text[-4:]
    if kind == NAME:
        return text[0] + "*" * max(length - 1, 1)
    if length <= 2:
        return text[0] + "*"
    keep = max(length // 4, 1)
    return text[:keep] + "*" * (length - 2 * keep) + text[-keep:]


def mask_row(row: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    if not kinds:
        return row
    return {name: mask_value(kinds[name], value) if name in kinds else value for name, value in row.items()}
