"""The draft editor's info-item grid: rows posted by the page, the grid actions (add, remove, move up/down, bind a
data element) and the translation between rows and the items the draft services take.

Rows are keyed by a random token, so the page works with or without JavaScript: the whole form is posted, the server
applies the action and renders the grid again (the whole page, or only the grid for an htmx request).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import QueryDict

from tongshu.standards.models import CodeSet, DataElement

from .item_validation import BOOLEAN_ITEM_FIELDS

ROW_FIELDS = (
    "uid",
    "field_name",
    "name",
    "data_type",
    "length",
    "element",
    "code_set",
    "is_key",
    "is_queryable",
    "is_sensitive",
    "is_required",
    "security_level",
    "open_masking",
    "description",
)


def new_key() -> str:
    return secrets.token_hex(4)


def blank_row(key: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {name: "" for name in ROW_FIELDS}
    row.update(
        {name: False for name in BOOLEAN_ITEM_FIELDS}, key=key or new_key(), security_level="general-1"
    )
    row["errors"] = {}
    return row


def rows_from_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for the items of `version_as_dict` (data elements shown by identifier)."""
    element_ids = [item["data_element"] for item in items if item.get("data_element")]
    elements = DataElement.objects.in_bulk(element_ids)
    rows = []
    for item in items:
        row = blank_row()
        for name in ROW_FIELDS:
            if name in item:
                row[name] = item[name]
        element = elements.get(item.get("data_element"))
        row["element"] = element.identifier if element else ""
        row["code_set"] = str(item["code_set"]) if item.get("code_set") else ""
        rows.append(row)
    return rows


def rows_from_post(data: QueryDict) -> list[dict[str, Any]]:
    rows = []
    for key in data.getlist("item_key"):
        key = "".join(ch for ch in key if ch.isalnum())[:16]
        if not key:
            continue
        row = blank_row(key)
        for name in ROW_FIELDS:
            field = f"items-{key}-{name}"
            row[name] = field in data if name in BOOLEAN_ITEM_FIELDS else data.get(field, "").strip()
        rows.append(row)
    return rows


def apply_action(rows: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """`add`, `remove:<key>`, `up:<key>`, `down:<key>`; anything else leaves the rows as they are."""
    verb, _sep, key = action.partition(":")
    if verb == "add":
        return [*rows, blank_row()]
    keys = [row["key"] for row in rows]
    if key not in keys:
        return rows
    index = keys.index(key)
    rows = list(rows)
    if verb == "remove":
        rows.pop(index)
    elif verb == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb == "down" and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    return rows


def bind_element(row: dict[str, Any], element: DataElement) -> dict[str, Any]:
    """Fill a row from a picked data element: type, length and code set follow the element (第九条)."""
    row = dict(row)
    row["element"] = element.identifier
    row["data_type"] = element.data_type
    row["length"] = element.length
    row["code_set"] = str(element.code_set_id) if element.code_set_id else ""
    if not row["name"]:
        row["name"] = element.name
    return row


def service_items(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, dict[str, str]]]:
    """Items for the services, and errors the page finds itself (an unknown data element identifier)."""
    identifiers = {row["element"] for row in rows if row["element"]}
    elements = {e.identifier: e for e in DataElement.objects.filter(identifier__in=identifiers)}
    errors: dict[int, dict[str, str]] = {}
    items = []
    for index, row in enumerate(rows):
        element = elements.get(row["element"]) if row["element"] else None
        if row["element"] and element is None:
            errors.setdefault(index, {})["data_element"] = f"数据元“{row['element']}”不存在"
        code_set = int(row["code_set"]) if str(row["code_set"]).isdigit() else None
        items.append(
            {
                "uid": row["uid"],
                "field_name": row["field_name"],
                "name": row["name"],
                "data_type": row["data_type"],
                "length": row["length"],
                "data_element": element.pk if element else None,
                "code_set": code_set,
                **{name: row[name] for name in BOOLEAN_ITEM_FIELDS},
                "security_level": row["security_level"],
                "open_masking": row["open_masking"],
                "description": row["description"],
            }
        )
    return items, errors


def attach_errors(rows: list[dict[str, Any]], errors: list[dict[str, Any]]) -> list[str]:
    """Put item errors on their rows; return the errors about the items as a whole."""
    general = []
    for error in errors:
        index = error.get("item_index")
        if index is None:
            if error["field"] == "items":
                general.append(error["message"])
            continue
        if 0 <= index < len(rows):
            name = error["field"].rsplit(".", 1)[-1]
            rows[index]["errors"].setdefault("element" if name == "data_element" else name, error["message"])
    return general


def code_set_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in CodeSet.objects.order_by("identifier").values_list("pk", "name")]
