"""Schema evolution: each newly published version reshapes the table (add, widen, convert, rename, retire, narrow,
incompatible change) without losing a row, on SQLite and (with `make test-postgres`) on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tongshu.catalog.tests.factories import make_resource
from tongshu.dataplane import evolution, store
from tongshu.dataplane.models import BatchStatus, SchemaChange, TableLayout
from tongshu.dataplane.tests.helpers import current_schema, items_of, load_csv, publish_next

pytestmark = pytest.mark.django_db
ITEMS = [
    ("编号", "C", "C..10", True, True, False),
    ("名称", "C", "C..20", False, True, False),
    ("数量", "I", "", False, False, False),
    ("备注", "C", "C..50", False, False, False),
]
FIRST = "编号,名称,数量,备注\nA1,甲,1,一\nA2,乙,2,二\nA3,丙,3,\n"


@pytest.fixture
def resource(personas):
    resource = make_resource(personas.provider_org, name="演化测试资源", items=ITEMS)
    evolution.evolve(resource, None, resource.published_version)
    batch = load_csv(personas.provider_admin, resource, FIRST)
    assert batch.status == BatchStatus.APPLIED, batch.error_sample
    return resource


def rows(resource, **kwargs):
    resource.refresh_from_db()
    return sorted(store.read_rows(evolution.read_schema(resource), **kwargs), key=lambda row: row["f001"])


def physical(resource):
    schema = current_schema(resource)
    engine = store.get_engine()
    table, _history = store.build_tables(engine, schema)
    with engine.connect() as conn:
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns(table.name, schema=table.schema)}
        data = [
            dict(r)
            for r in conn.execute(sa.text(f"SELECT * FROM {store._qualified(engine, table)}")).mappings()
        ]
    return columns, sorted(data, key=lambda row: row["f001"])


def revise(resource, change):
    items = items_of(resource.published_version)
    change(items)
    old = resource.published_version
    new = publish_next(resource, items)
    return evolution.evolve(resource, old, new)


def test_first_publication_creates_table_and_layout(resource):
    layout = TableLayout.objects.get(resource=resource)
    assert [c["field_name"] for c in layout.columns] == ["f001", "f002", "f003", "f004"]
    assert SchemaChange.objects.filter(resource=resource).first().changes[0]["kind"] == "created"
    assert [r["f002"] for r in rows(resource)] == ["甲", "乙", "丙"]


def test_added_item_adds_column_to_table_and_history(personas, resource):
    def add(items):
        items.append(
            {"uid": "i005", "field_name": "f005", "name": "地址", "data_type": "C", "length": "C..100"}
        )

    change = revise(resource, add)
    assert [c["kind"] for c in change.changes] == ["added"]
    columns, data = physical(resource)
    assert "f005" in columns and len(data) == 3 and data[0]["f005"] is None
    engine = store.get_engine()
    _table, history = store.build_tables(engine, current_schema(resource))
    with engine.connect() as conn:
        names = {c["name"] for c in sa.inspect(conn).get_columns(history.name, schema=history.schema)}
    assert "f005" in names
    batch = load_csv(personas.provider_admin, resource, "编号,名称,数量,备注,地址\nA1,甲改,1,一,章华镇\n")
    assert batch.status == BatchStatus.APPLIED and batch.updated == 1
    assert rows(resource)[0]["f005"] == "章华镇"
    # The version of A1 before the change is still readable as of the first batch.
    first = resource.batches.order_by("pk").first().pk
    assert rows(resource, as_of_batch=first)[0]["f002"] == "甲"


def test_widened_length_and_renamed_item_keep_rows(personas, resource):
    def widen_and_rename(items):
        items[1]["length"] = "C..60"
        items[1]["name"] = "全称"

    change = revise(resource, widen_and_rename)
    kinds = {c["kind"] for c in change.changes}
    assert kinds == {"renamed", "widened"}
    assert change.problems == [] and change.rebuilt is False
    assert current_schema(resource).column("f002").label == "全称"
    long_name = "很" * 50
    batch = load_csv(personas.provider_admin, resource, f"编号,全称\nA2,{long_name}\n")
    assert batch.status == BatchStatus.APPLIED
    assert [r["f002"] for r in rows(resource)] == ["甲", long_name, "丙"]


def test_retired_item_keeps_column_and_data_and_comes_back(personas, resource):
    change = revise(resource, lambda items: items.pop(3))
    assert [c["kind"] for c in change.changes] == ["retired"]
    assert TableLayout.objects.get(resource=resource).retired_fields == ["f004"]
    assert "f004" not in rows(resource)[0]
    columns, data = physical(resource)
    assert "f004" in columns and [r["f004"] for r in data] == ["一", "二", None]
    # Loads after retirement leave the retired values alone.
    assert load_csv(personas.provider_admin, resource, "编号,名称\nA1,甲二\n").status == BatchStatus.APPLIED
    assert physical(resource)[1][0]["f004"] == "一"

    def restore(items):
        items.append(
            {"uid": "i004", "field_name": "f004", "name": "备注", "data_type": "C", "length": "C..50"}
        )

    change = revise(resource, restore)
    assert [c["kind"] for c in change.changes] == ["revived"]
    assert [r["f004"] for r in rows(resource)] == ["一", "二", None]


def test_type_class_change_converts_without_loss(personas, resource):
    """Integer → text: SQLite rebuilds the table (INTEGER affinity would turn '007' into 7); PostgreSQL alters."""

    def to_text(items):
        items[2]["data_type"] = "C"
        items[2]["length"] = "C..40"

    change = revise(resource, to_text)
    assert [c["kind"] for c in change.changes] == ["converted"] and change.problems == []
    assert change.rebuilt is store.is_sqlite(store.get_engine())
    # A rebuilt table and its history table get every index back, the change log's `(_batch, _rid)` one included.
    engine = store.get_engine()
    table, history = store.build_tables(engine, current_schema(resource))
    with engine.connect() as conn:
        for target in (table, history):
            present = {i["name"] for i in sa.inspect(conn).get_indexes(target.name, schema=target.schema)}
            assert {index.name for index in target.indexes} <= present
    assert f"{history.name}_batch" in present
    assert [r["f003"] for r in rows(resource)] == ["1", "2", "3"]
    batch = load_csv(personas.provider_admin, resource, "编号,名称,数量\nA4,丁,007\n")
    assert batch.status == BatchStatus.APPLIED, batch.error_sample
    assert rows(resource)[-1]["f003"] == "007"
    # The key index survived the rebuild: a duplicate key in a later batch updates, never inserts.
    assert load_csv(personas.provider_admin, resource, "编号,名称,数量\nA4,丁二,008\n").updated == 1
    assert len(rows(resource)) == 4


def test_narrowing_keeps_the_wider_column(personas, resource):
    change = revise(resource, lambda items: items[3].update(length="C..1"))
    assert [c["kind"] for c in change.changes] == ["narrowing_kept"] and change.problems == []
    assert [r["f004"] for r in rows(resource)] == ["一", "二", None]
    batch = load_csv(personas.provider_admin, resource, "编号,名称,备注\nA1,甲,太长了\n")
    assert batch.status == BatchStatus.REJECTED  # new loads follow the new length


def test_incompatible_change_with_data_is_recorded_and_keeps_the_column(personas, resource):
    change = revise(resource, lambda items: items[3].update(data_type="D", length="D8"))
    assert change.problems[0]["code"] == "incompatible_type" and change.problems[0]["field"] == "f004"
    assert [r["f004"] for r in rows(resource)] == ["一", "二", None]
    layout = TableLayout.objects.get(resource=resource)
    assert next(c for c in layout.columns if c["field_name"] == "f004")["data_type"] == "C"
    # The department's managers are told.
    assert personas.provider_admin.messages.filter(title__contains="数据表结构").exists()


def test_incompatible_change_of_an_empty_column_is_applied(personas):
    """Applied only when neither the table nor its history holds a value in that column."""
    resource = make_resource(personas.provider_org, name="空列资源", items=ITEMS)
    evolution.evolve(resource, None, resource.published_version)
    load_csv(personas.provider_admin, resource, "编号,名称,数量,备注\nA1,甲,1,\nA2,乙,2,\n")
    change = revise(resource, lambda items: items[3].update(data_type="D", length="D8"))
    assert change.problems == [] and [c["kind"] for c in change.changes] == ["converted"]
    batch = load_csv(personas.provider_admin, resource, "编号,名称,备注\nA1,甲,2024-05-01\n")
    assert batch.status == BatchStatus.APPLIED
    assert str(rows(resource)[0]["f004"]) == "2024-05-01"


def test_key_change_refused_when_rows_are_not_unique(personas, resource):
    def key_on_amount(items):
        items[0]["is_key"] = False
        items[3]["is_key"] = True  # 备注 has a NULL and distinct values, so it is unique

    change = revise(resource, key_on_amount)
    assert "key" in [c["kind"] for c in change.changes]
    assert load_csv(personas.provider_admin, resource, "编号,名称,数量,备注\nA9,庚,9,一\n").updated == 1
    load_csv(personas.provider_admin, resource, "编号,名称,数量,备注\nA5,戊,5,五\n")

    def key_on_name_twice(items):
        items[3]["is_key"] = False
        items[2]["is_key"] = True

    load_csv(personas.provider_admin, resource, "编号,名称,数量,备注\nA6,己,5,六\n")
    change = revise(resource, key_on_name_twice)
    assert change.problems[0]["code"] == "key_not_unique"
    assert len(rows(resource)) == 5


def test_publishing_through_the_catalog_evolves_the_table(
    personas, resource, django_capture_on_commit_callbacks
):
    from tongshu.catalog import services as catalog

    draft = catalog.start_revision(personas.provider_cdo, resource, reason="增加信息项")
    _fields, items = catalog.version_as_dict(draft)
    items.append({"name": "联系电话", "data_type": "C", "length": "C..20"})
    catalog.update_draft(personas.provider_cdo, draft, fields={}, items=items)
    catalog.submit(personas.provider_cdo, draft)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.publish(personas.authority, draft)
    change = SchemaChange.objects.filter(resource=resource).first()
    assert change.to_version == 2 and [c["kind"] for c in change.changes] == ["added"]
    assert len(rows(resource)) == 3


@pytest.mark.postgres
def test_postgres_alters_column_types(resource):
    revise(resource, lambda items: items[1].update(length="C..80"))
    columns, data = physical(resource)
    assert columns["f002"]["type"].length == 80 and len(data) == 3
