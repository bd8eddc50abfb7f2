"""Resource rows as the data pages show them, the same on every page (browse, e-form records): sensitive items
masked by `masking` (the one masking style), a code shown with its name (`1 男`), dates in ISO form."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from .geojson import outline
from .masking import mask_row, masked_fields
from .schema import Column, ResourceSchema


def cell_value(column: Column, value: Any) -> Any:
    """One stored value as shown: a code with its name, a date or time in ISO form, anything else as it is."""
    if column.code_values and value is not None:
        name = dict(column.code_values).get(value)
        return f"{value} {name}" if name else value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def display_rows(
    schema: ResourceSchema,
    rows: Iterable[dict[str, Any]],
    *,
    columns: list[Column] | None = None,
    masked: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows as {"rid", "cells": [{"value", "masked"}]} for the listed columns (all by default), sensitive items masked
    unless the rows were masked already (`masked` given: the masking the caller applied)."""
    shown = columns if columns is not None else list(schema.columns)
    kinds = masked if masked is not None else masked_fields(schema)
    codes = {c.field_name: dict(c.code_values) for c in shown if c.code_values}
    result = []
    for row in rows:
        if masked is None:
            row = mask_row(row, kinds)
        cells = []
        for column in shown:
            value = row.get(column.field_name)
            names = codes.get(column.field_name)
            if names is None:
                value = cell_value(column, value)
            elif value in names:
                value = f"{value} {names[value]}"
            cell = {"value": value, "masked": column.field_name in kinds}
            if column.check_rule == "geojson" and column.field_name not in kinds:
                cell["shape"] = outline(value)  # drawn beside the text (None: the text alone)
            cells.append(cell)
        result.append({"rid": row.get("_rid"), "cells": cells, "has_masked": bool(kinds)})
    return result
