"""The shape of a resource's table, derived from its catalog version: one typed column per info item.

A `ResourceSchema` is a plain value: the store builds tables from it and the validation engine derives its rules from
it, so neither needs the ORM objects. `schema_for_version()` builds one from a catalog `ResourceVersion`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tongshu.standards import lookups

# Data types of the cataloguing guide grouped by how they are stored and checked.
TEXT_TYPES = frozenset({"C", "M", "G"})
INTEGER_TYPES = frozenset({"I"})
DECIMAL_TYPES = frozenset({"N", "Y"})
FLOAT_TYPES = frozenset({"F", "B"})
DATE_TYPES = frozenset({"D"})
DATETIME_TYPES = frozenset({"T"})
BOOLEAN_TYPES = frozenset({"L"})

_LENGTH = re.compile(r"^(?P<type>[A-Z])?(?P<range>\.\.)?(?P<max>\d+)?(?:,(?P<scale>\d+))?$")


@dataclass(frozen=True)
class Length:
    """A parsed length notation: `C18` (exactly 18), `C..50` (up to 50), `N8,2` (8 digits, 2 after the point)."""

    minimum: int | None = None
    maximum: int | None = None
    scale: int | None = None


def parse_length(notation: str) -> Length:
    notation = (notation or "").strip().upper()
    if not notation:
        return Length()
    match = _LENGTH.match(notation)
    if match is None:
        raise ValueError(f"无法识别的长度格式：{notation}")
    maximum = int(match["max"]) if match["max"] else None
    scale = int(match["scale"]) if match["scale"] else None
    is_range = bool(match["range"])
    kind = match["type"] or ""
    fixed = not is_range and maximum is not None and kind in ("C", "")
    return Length(minimum=maximum if fixed else None, maximum=maximum, scale=scale)


@dataclass(frozen=True)
class Column:
    field_name: str
    label: str
    data_type: str
    length: Length = field(default_factory=Length)
    is_key: bool = False
    is_queryable: bool = False
    is_required: bool = False
    is_sensitive: bool = False
    code_values: tuple[tuple[str, str], ...] | None = (
        None  # (code, name) of the bound code set's current version
    )
    check_rule: str = ""
    pattern: str = ""
    uid: str = ""
    element: str = ""  # identifier of the bound data element (derived cross rules look for the standard ones)

    @property
    def is_text(self) -> bool:
        return self.data_type in TEXT_TYPES or self.data_type not in (
            INTEGER_TYPES | DECIMAL_TYPES | FLOAT_TYPES | DATE_TYPES | DATETIME_TYPES | BOOLEAN_TYPES
        )


@dataclass(frozen=True)
class ResourceSchema:
    resource_id: int
    table_name: str
    columns: tuple[Column, ...]
    namespace: str = ""  # the organization's schema on PostgreSQL

    @property
    def key_fields(self) -> tuple[str, ...]:
        return tuple(column.field_name for column in self.columns if column.is_key)

    def column(self, field_name: str) -> Column:
        for column in self.columns:
            if column.field_name == field_name:
                return column
        raise KeyError(field_name)

    def by_label(self) -> dict[str, Column]:
        return {column.label: column for column in self.columns}


def table_name_for(resource_id: int) -> str:
    return f"r{resource_id}"


def schema_for_version(version: Any) -> ResourceSchema:
    """Build the schema of a catalog ResourceVersion (items in order; code sets resolved to their current values)."""
    columns = []
    for item in version.items.select_related("data_element", "code_set", "data_element__code_set").order_by(
        "position"
    ):
        element = item.data_element
        code_set = item.code_set or (element.code_set if element else None)
        code_values = None
        if code_set is not None:
            # The current version's values, cached per process (`standards.lookups`: dropped when a version is saved,
            # re-checked against the database every few seconds): the township set alone holds 41,000 codes.
            code_values = lookups.code_pairs(code_set) or None
        columns.append(
            Column(
                field_name=item.field_name,
                label=item.name,
                data_type=item.data_type,
                length=parse_length(item.length),
                is_key=item.is_key,
                is_queryable=item.is_queryable,
                is_required=item.is_required or item.is_key,
                is_sensitive=item.is_sensitive,
                code_values=code_values,
                check_rule=element.check_rule if element else "",
                pattern=element.pattern if element else "",
                uid=item.uid,
                element=element.identifier if element else "",
            )
        )
    organization = version.resource.provider
    return ResourceSchema(
        resource_id=version.resource_id,
        table_name=table_name_for(version.resource_id),
        columns=tuple(columns),
        namespace=f"org_{organization.pk}",
    )
