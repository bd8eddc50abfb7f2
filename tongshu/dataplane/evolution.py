"""Schema evolution: a resource's table follows each newly published catalog version without losing a row.

Items are matched by their stable `uid` (their `field_name` never changes, so a column never has to be renamed):

- an added item gets a new column, in the table and in its history table (and an index if it is queryable);
- a widened length or a compatible type change (integer → decimal/float, date → date-time, anything → long text) is
  applied: PostgreSQL alters the column's type; SQLite stores by type *affinity* and does not enforce lengths, so a
  wider length changes nothing physical there, and only a change of affinity rebuilds the table (create the new
  table, copy, drop, rename, recreate the indexes: one transaction);
- a renamed item (same uid, new name) changes only its label;
- a retired item keeps its column and its data; the layout marks it retired, and reads and downloads, which follow the
  published version's items, no longer show it. It comes back with its data if a later version restores the item;
- a narrowed length keeps the wider column (the stored values stay as they are; new loads are validated against the
  new, narrower length);
- an incompatible type change (text → integer, date → number, …) is applied only when no row holds a value in that
  column. Otherwise the catalog has published it anyway (publication is the authority's decision), so the change is
  recorded as a problem on the resource, the column keeps its old type and values, and the department is told: the
  data must be migrated (a full replace after a version that restores a compatible type, or a new item) before
  values of the new type can be stored.

Every outcome is kept in `SchemaChange` (shown on the resource's data page) and in the audit log. The physical truth
is `TableLayout`, so a refused change is planned again from what the table really holds.

This module is the store's schema-change companion: like `store`, it only builds SQL with SQLAlchemy Core and quoted
identifiers of field names the catalog validated (`^[a-z][a-z0-9_]*$`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from django.db import transaction
from django.utils import timezone

from tongshu.security.audit import record

from . import store
from .models_libraries import SchemaChange, TableLayout
from .schema import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    DECIMAL_TYPES,
    FLOAT_TYPES,
    INTEGER_TYPES,
    Column,
    Length,
    ResourceSchema,
    schema_for_version,
)

log = logging.getLogger(__name__)

TEXT, INT, DEC, FLOAT, DATE, DATETIME, BOOL = "text", "int", "dec", "float", "date", "datetime", "bool"
# (from class, to class) pairs that convert every value without loss.
COMPATIBLE = {(INT, DEC), (INT, FLOAT), (DATE, DATETIME), (BOOL, INT)}
# A number or date converted to text needs room for its longest spelling.
TEXT_ROOM_FOR_VALUES = 40


def type_class(column: Column) -> str:
    kind = column.data_type
    for types, name in (
        (INTEGER_TYPES, INT),
        (DECIMAL_TYPES, DEC),
        (FLOAT_TYPES, FLOAT),
        (DATE_TYPES, DATE),
        (DATETIME_TYPES, DATETIME),
        (BOOLEAN_TYPES, BOOL),
    ):
        if kind in types:
            return name
    return TEXT


def _precision(column: Column) -> tuple[int, int]:
    length, y = column.length, column.data_type == "Y"
    precision = length.maximum or (18 if y else 38)
    scale = length.scale if length.scale is not None else (2 if y else 0)
    return precision, scale


def classify(old: Column, new: Column, dialect: sa.engine.Dialect) -> str:
    """`same` (nothing physical), `widen`, `convert` (compatible class change), `narrow` or `incompatible`."""
    if str(store.sql_type(old).compile(dialect=dialect)) == str(store.sql_type(new).compile(dialect=dialect)):
        return "same"
    old_class, new_class = type_class(old), type_class(new)
    if old_class == new_class == TEXT:
        old_max, new_max = old.length.maximum, new.length.maximum
        if new_max is None or new.data_type == "M" or (old_max is not None and new_max >= old_max):
            return "widen"
        return "narrow"
    if old_class == new_class == DEC:
        (old_p, old_s), (new_p, new_s) = _precision(old), _precision(new)
        return "widen" if new_p - new_s >= old_p - old_s and new_s >= old_s else "narrow"
    if old_class == new_class:
        return "same"
    if new_class == TEXT:
        room = new.length.maximum
        return (
            "convert"
            if room is None or new.data_type == "M" or room >= TEXT_ROOM_FOR_VALUES
            else "incompatible"
        )
    return "convert" if (old_class, new_class) in COMPATIBLE else "incompatible"


def sqlite_affinity(type_sql: str) -> str:
    """SQLite's column affinity rules (https://sqlite.org/datatype3.html §3.1)."""
    upper = type_sql.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


# --- layouts ---------------------------------------------------------------------------------------------------
def spec_of(column: Column, *, retired: bool = False) -> dict[str, Any]:
    length = column.length
    return {
        "uid": column.uid,
        "field_name": column.field_name,
        "label": column.label,
        "data_type": column.data_type,
        "length": [length.minimum, length.maximum, length.scale],
        "retired": retired,
        "is_key": column.is_key,
    }


def column_of(spec: dict[str, Any]) -> Column:
    minimum, maximum, scale = spec.get("length") or [None, None, None]
    return Column(
        field_name=spec["field_name"],
        label=spec.get("label", spec["field_name"]),
        data_type=spec.get("data_type", "C"),
        length=Length(minimum=minimum, maximum=maximum, scale=scale),
        uid=spec.get("uid", ""),
    )


def physical_schema(schema: ResourceSchema, specs: list[dict[str, Any]]) -> ResourceSchema:
    """The schema the table physically has: every column of the layout (retired ones too) with its stored type,
    and the published version's key and queryable flags."""
    current = {column.field_name: column for column in schema.columns}
    columns = []
    for spec in specs:
        stored = column_of(spec)
        flags = current.get(spec["field_name"])
        if flags is not None and not spec.get("retired"):
            stored = replace(stored, is_key=flags.is_key, is_queryable=flags.is_queryable)
        columns.append(stored)
    return replace(schema, columns=tuple(columns))


# --- planning --------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    layout: list[dict[str, Any]]
    added: list[Column] = field(default_factory=list)
    altered: list[tuple[Column, Column, str]] = field(default_factory=list)  # (stored, new, classification)
    changes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    new_keys: tuple[str, ...] | None = None  # set when the key items changed

    def change(self, kind: str, column: Column, detail: str = "") -> None:
        self.changes.append(
            {"kind": kind, "field": column.field_name, "label": column.label, "detail": detail}
        )

    def problem(self, code: str, column: Column, reason: str) -> None:
        self.problems.append(
            {"code": code, "field": column.field_name, "label": column.label, "reason": reason}
        )


def plan_changes(
    stored_specs: list[dict[str, Any]],
    schema: ResourceSchema,
    dialect: sa.engine.Dialect,
    present: set[str],
    filled: set[str] | None = None,
) -> Plan:
    """Compare the stored layout with the new version's columns, item by item (uid). `present`: the columns the
    table really has; `filled`: those holding at least one value (asked lazily, only for incompatible changes)."""
    by_uid = {spec["uid"]: spec for spec in stored_specs}
    new_uids = {column.uid for column in schema.columns}
    plan = Plan(layout=[])
    for spec in stored_specs:  # table order is kept; retired columns stay where they were
        if spec["uid"] not in new_uids:
            stored = column_of(spec)
            if not spec.get("retired"):
                plan.change("retired", stored, "列和数据保留，读取与下载不再包含")
            plan.layout.append({**spec, "retired": True})
            continue
        new = schema.column(next(c.field_name for c in schema.columns if c.uid == spec["uid"]))
        stored = column_of(spec)
        entry = {**spec, "label": new.label, "retired": False}
        if spec.get("retired"):
            plan.change("revived", new, "恢复使用，原有数据仍在")
        if stored.label != new.label:
            plan.change("renamed", new, f"{stored.label} → {new.label}")
        if new.field_name not in present:
            plan.added.append(new)
            plan.change("added", new, "字段缺失，已补建")
            entry = spec_of(new)
        else:
            kind = classify(stored, new, dialect)
            described = f"{stored.data_type}{_length_text(stored)} → {new.data_type}{_length_text(new)}"
            if kind in ("widen", "convert"):
                plan.altered.append((stored, new, kind))
                plan.change("widened" if kind == "widen" else "converted", new, described)
                entry = spec_of(new)
            elif kind == "narrow":
                plan.change("narrowing_kept", new, f"{described}：保留原列宽，新数据按新长度校验")
            elif kind == "incompatible":
                if filled is not None and new.field_name not in filled:
                    plan.altered.append((stored, new, "empty"))
                    plan.change("converted", new, f"{described}（该列尚无数据）")
                    entry = spec_of(new)
                else:
                    plan.problem(
                        "incompatible_type",
                        new,
                        f"数据类型由 {described} 的变更与已有数据不兼容，未改变物理列；原有数据保留。"
                        "在迁移已有数据之前，新类型的值可能无法写入",
                    )
        plan.layout.append(entry)
    old_keys = tuple(
        spec["field_name"] for spec in stored_specs if spec.get("is_key") and not spec.get("retired")
    )
    if stored_specs and "is_key" in stored_specs[0] and old_keys != schema.key_fields:
        plan.new_keys = schema.key_fields
        plan.changes.append(
            {"kind": "key", "field": ",".join(schema.key_fields), "label": "", "detail": ",".join(old_keys)}
        )
    for column in schema.columns:
        if column.uid not in by_uid:
            if column.field_name in present:  # a crash after the DDL and before the layout was saved
                plan.layout.append(spec_of(column))
                continue
            plan.added.append(column)
            plan.change("added", column, f"{column.data_type}{_length_text(column)}")
            plan.layout.append(spec_of(column))
    return plan


def _length_text(column: Column) -> str:
    length = column.length
    if length.maximum is None:
        return ""
    text = f"({length.maximum}" + (f",{length.scale}" if length.scale is not None else "") + ")"
    return text


# --- applying --------------------------------------------------------------------------------------------------
def _present_columns(engine: sa.Engine, table: sa.Table) -> set[str] | None:
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        if not inspector.has_table(table.name, schema=table.schema):
            return None
        return {column["name"] for column in inspector.get_columns(table.name, schema=table.schema)}


def _filled_columns(engine: sa.Engine, tables: tuple[sa.Table, sa.Table], names: list[str]) -> set[str]:
    filled = set()
    with engine.connect() as conn:
        for name in names:
            for table in tables:
                if name in table.c:
                    query = sa.select(sa.literal(1)).where(table.c[name].is_not(None)).limit(1)
                    if conn.execute(query).first() is not None:
                        filled.add(name)
                        break
    return filled


def _copy_expression(stored: Column, new: Column, kind: str, name: str) -> str:
    if kind == "empty":
        return "NULL"
    old_class, new_class = type_class(stored), type_class(new)
    if new_class == TEXT:
        return f"CAST({name} AS TEXT)"
    if (old_class, new_class) == (DATE, DATETIME):
        return f"CASE WHEN length({name}) = 10 THEN {name} || ' 00:00:00.000000' ELSE {name} END"
    if new_class == FLOAT:
        return f"CAST({name} AS REAL)"
    if new_class == INT:
        return f"CAST({name} AS INTEGER)"
    return name


class _Applier:
    def __init__(self, engine: sa.Engine, schema: ResourceSchema, plan: Plan) -> None:
        self.engine, self.schema, self.plan = engine, schema, plan
        self.sqlite = store.is_sqlite(engine)
        self.dialect = engine.dialect
        self.rebuilt = False

    def q(self, name: str) -> str:
        return self.dialect.identifier_preparer.quote(name)

    def type_sql(self, column: Column) -> str:
        return str(store.sql_type(column).compile(dialect=self.dialect))

    def run(self) -> bool:
        physical = physical_schema(self.schema, self.plan.layout)
        table, history = store.build_tables(self.engine, physical)
        with self.engine.connect() as conn:
            store.begin_write(conn, self.schema.resource_id)
            try:
                self._apply(conn, table, history, physical)
            except BaseException:
                store._rollback(conn)
                raise
            store._commit(conn)
        return self.rebuilt

    def _apply(
        self, conn: sa.Connection, table: sa.Table, history: sa.Table, physical: ResourceSchema
    ) -> None:
        for target in (table, history):
            qualified = store._qualified(self.engine, target)
            for column in self.plan.added:
                conn.exec_driver_sql(
                    f"ALTER TABLE {qualified} ADD COLUMN {self.q(column.field_name)} {self.type_sql(column)}"
                )
        altered = self.plan.altered
        if self.sqlite:
            affinity_changes = [
                entry
                for entry in altered
                if entry[2] == "empty"
                or sqlite_affinity(self.type_sql(entry[0])) != sqlite_affinity(self.type_sql(entry[1]))
                or type_class(entry[0]) != type_class(entry[1])
            ]
            if affinity_changes:
                self._rebuild_sqlite(conn, table, history, affinity_changes)
                self.rebuilt = True
        else:
            for stored, new, kind in altered:
                self._alter_postgres(conn, table, history, stored, new, kind)
        if self.plan.new_keys is not None:
            self._rekey(conn, table)
        # Indexes follow the published version: key and queryable items (created if missing).
        for index in table.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
        for index in history.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))

    def _rekey(self, conn: sa.Connection, table: sa.Table) -> None:
        """New key items: the unique index is replaced only if the live rows are unique on the new key."""
        keys = list(self.plan.new_keys or ())
        name = f"{table.name}_key"
        if keys:
            duplicates = conn.execute(
                sa.select(sa.func.count()).select_from(
                    sa.select(*[table.c[k] for k in keys])
                    .group_by(*[table.c[k] for k in keys])
                    .having(sa.func.count() > 1)
                    .subquery()
                )
            ).scalar_one()
            if duplicates:
                column = self.schema.column(keys[0])
                self.plan.problem(
                    "key_not_unique", column, f"已有数据在新主键上有 {duplicates} 组重复值，仍沿用原主键索引"
                )
                self.plan.changes = [c for c in self.plan.changes if c["kind"] != "key"]
                return
        qualified = f"{self.q(table.schema)}.{self.q(name)}" if table.schema else self.q(name)
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {qualified}")  # recreated below from the new key items

    def _alter_postgres(
        self, conn: sa.Connection, table: sa.Table, history: sa.Table, stored: Column, new: Column, kind: str
    ) -> None:
        name, type_sql = self.q(new.field_name), self.type_sql(new)
        using = "NULL" if kind == "empty" else f"{name}::{type_sql}"
        try:
            with conn.begin_nested():
                for target in (table, history):
                    conn.exec_driver_sql(
                        f"ALTER TABLE {store._qualified(self.engine, target)} "
                        f"ALTER COLUMN {name} TYPE {type_sql} USING {using}"
                    )
        except sa.exc.DBAPIError as exc:
            self.plan.changes = [
                c for c in self.plan.changes if not (c["field"] == new.field_name and c["kind"] != "renamed")
            ]
            self.plan.problem("alter_failed", new, f"已有数据无法转换为新类型，保留原列：{exc.orig}")
            for entry in self.plan.layout:
                if entry["field_name"] == new.field_name:
                    entry.update({**spec_of(stored), "label": new.label})

    def _rebuild_sqlite(
        self,
        conn: sa.Connection,
        table: sa.Table,
        history: sa.Table,
        altered: list[tuple[Column, Column, str]],
    ) -> None:
        changed = {new.field_name: (stored, new, kind) for stored, new, kind in altered}
        for target, is_history in ((table, False), (history, True)):
            temporary = f"_rebuild_{target.name}"
            columns = [sa.Column(c.name, c.type, nullable=c.nullable) for c in target.columns]
            if not is_history:
                columns[0] = sa.Column("_rid", sa.Integer(), primary_key=True, autoincrement=True)
                columns[-1] = sa.Column("_deleted", sa.Boolean(), nullable=False, server_default=sa.false())
            fresh = sa.Table(temporary, sa.MetaData(), *columns)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.q(temporary)}")
            fresh.create(conn)
            names = [c.name for c in target.columns]
            expressions = [
                _copy_expression(*changed[name], self.q(name)) if name in changed else self.q(name)
                for name in names
            ]
            # Identifiers are quoted catalog field names; expressions are built here from them, never from input.
            copy = f"INSERT INTO {self.q(temporary)} ({', '.join(self.q(n) for n in names)}) "
            copy += f"SELECT {', '.join(expressions)} FROM {self.q(target.name)}"  # noqa: S608
            conn.exec_driver_sql(copy)
            conn.exec_driver_sql(f"DROP TABLE {self.q(target.name)}")
            conn.exec_driver_sql(f"ALTER TABLE {self.q(temporary)} RENAME TO {self.q(target.name)}")


# --- the entry point -------------------------------------------------------------------------------------------
def evolve(resource: Any, old_version: Any, new_version: Any) -> SchemaChange:
    """Bring the resource's table in line with `new_version` (called when it is published). Never loses a row."""
    schema = schema_for_version(new_version)
    engine = store.get_engine()
    table, history = store.build_tables(engine, schema)
    layout = TableLayout.objects.filter(resource=resource).first()
    present = _present_columns(engine, table)
    from_number = layout.version_number if layout else getattr(old_version, "number", None)
    if present is None:
        store.ensure_tables(schema, engine)
        plan = Plan(layout=[spec_of(column) for column in schema.columns])
        plan.changes.append(
            {"kind": "created", "field": "", "label": "", "detail": f"{len(schema.columns)} 列"}
        )
        rebuilt = False
    else:
        if layout is not None:
            stored_specs = list(layout.columns)
        else:
            # A table made before layouts were kept: trust the previous version where the table has its columns.
            base = schema_for_version(old_version) if old_version is not None else schema
            stored_specs = [spec_of(column) for column in base.columns if column.field_name in present]
        incompatible = [
            column.field_name
            for spec in stored_specs
            for column in schema.columns
            if column.uid == spec["uid"]
            and classify(column_of(spec), column, engine.dialect) == "incompatible"
        ]
        filled = _filled_columns(engine, (table, history), incompatible) if incompatible else set()
        plan = plan_changes(stored_specs, schema, engine.dialect, present, filled)
        physical_change = bool(plan.added or plan.altered or plan.new_keys is not None)
        rebuilt = _Applier(engine, schema, plan).run() if physical_change else False
        if not physical_change:
            store.ensure_tables(schema, engine)  # indexes of newly queryable items
            _create_indexes(engine, physical_schema(schema, plan.layout))
    with transaction.atomic():
        TableLayout.objects.update_or_create(
            resource=resource,
            defaults={
                "version_number": new_version.number,
                "columns": plan.layout,
                "updated_at": timezone.now(),
            },
        )
        change = SchemaChange.objects.create(
            resource=resource,
            from_version=from_number,
            to_version=new_version.number,
            changes=plan.changes,
            problems=plan.problems,
            rebuilt=rebuilt,
        )
        record(
            "dataplane.schema_evolved",
            organization=resource.provider,
            target=change,
            details={
                "resource": resource.code,
                "from": from_number,
                "to": new_version.number,
                "changes": [f"{c['kind']}:{c['field']}" for c in plan.changes],
                "problems": [f"{p['code']}:{p['field']}" for p in plan.problems],
                "rebuilt": rebuilt,
            },
        )
        if plan.problems:
            _tell_provider(resource, new_version, plan)
    return change


def _create_indexes(engine: sa.Engine, physical: ResourceSchema) -> None:
    table, history = store.build_tables(engine, physical)
    with engine.begin() as conn:
        for index in (*table.indexes, *history.indexes):
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _tell_provider(resource: Any, version: Any, plan: Plan) -> None:
    from tongshu.catalog.services.common import provider_managers
    from tongshu.core.services import notify

    notify(
        provider_managers(resource.provider),
        f"数据表结构未能完全随目录第 {version.number} 版变更：「{version.name}」",
        body="；".join(f"{p['label']}：{p['reason']}" for p in plan.problems),
    )


def layout_of(resource: Any) -> TableLayout | None:
    return TableLayout.objects.filter(resource=resource).first()


def record_failure(resource: Any, version: Any, exc: Exception) -> SchemaChange:
    return SchemaChange.objects.create(
        resource=resource,
        to_version=version.number,
        problems=[
            {"code": "evolution_failed", "field": "", "label": "", "reason": f"数据表结构变更失败：{exc}"}
        ],
    )


def read_schema(resource: Any) -> ResourceSchema:
    """The published version's columns with the types their columns physically have, for reading: a column whose
    incompatible change was refused still holds values of its old type (retired columns are left out)."""
    schema = schema_for_version(resource.published_version)
    layout = layout_of(resource)
    if layout is None:
        return schema
    stored = {spec["field_name"]: spec for spec in layout.columns}
    columns = []
    for column in schema.columns:
        spec = stored.get(column.field_name)
        if spec is not None and (spec.get("data_type"), spec.get("length")) != (
            column.data_type,
            [column.length.minimum, column.length.maximum, column.length.scale],
        ):
            physical = column_of(spec)
            column = replace(column, data_type=physical.data_type, length=physical.length)
        columns.append(column)
    return replace(schema, columns=tuple(columns))
