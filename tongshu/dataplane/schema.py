"""The shape of a resource's table, derived from its catalog version: one typed column per info item.

A `ResourceSchema` is a plain value: the store builds tables from it and the validation engine derives its rules from
it, so neither needs the ORM objects. `schema_for_version()` builds one from a catalog `ResourceVersion`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tongshu.standards import lookups
from tongshu.standards.formats import LengthSpec, parse_length

# Data types of the cataloguing guide grouped by how they are stored and checked.
TEXT_TYPES = frozenset({"C", "M", "G"})
INTEGER_TYPES = frozenset({"I"})
DECIMAL_TYPES = frozenset({"N", "Y"})
FLOAT_TYPES = frozenset({"F", "B"})
DATE_TYPES = frozenset({"D"})
DATETIME_TYPES = frozenset({"T"})
BOOLEAN_TYPES = frozenset({"L"})


@dataclass(frozen=True)
class Length:
    """A column's size, read from its item's length notation (`tongshu.standards.formats`, the one parser) and kept
    in the table's layout: `minimum` is the fewest characters of a character item (`C18` → 18, `C2..50` → 2, none for
    `C..50`), `maximum` its most characters or a number's precision, `scale` the decimals when written (`N10,2`)."""

    minimum: int | None = None
    maximum: int | None = None
    scale: int | None = None

    @classmethod
    def of(cls, spec: LengthSpec) -> Length:
        has_minimum = spec.kind == "C" and spec.max is not None and (spec.min > 1 or not spec.is_ranged)
        return cls(
            minimum=spec.min if has_minimum else None,
            maximum=spec.max,
            scale=spec.scale if spec.is_scale_written else None,
        )


def column_length(notation: str, data_type: str = "") -> Length:
    """The size of a column whose item writes `notation` (empty: no limit); raises `LengthNotationError`."""
    if not (notation or "").strip():
        return Length()
    return Length.of(parse_length(notation, data_type))


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
                length=column_length(item.length, item.data_type),
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
