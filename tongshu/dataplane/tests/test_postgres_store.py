"""The store on PostgreSQL (run by `make test-postgres`; skipped on the SQLite default): a schema per organization,
the first load's COPY without the primary key and its `_rid` numbering, staged merges, history and as-of reads."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from tongshu.dataplane import store
from tongshu.dataplane.schema import Column, ResourceSchema, column_length

pytestmark = pytest.mark.postgres

SCHEMA = ResourceSchema(
    resource_id=7,
    table_name="r7",
    namespace="org_3",
    columns=(
        Column("id_no", "公民身份号码", "C", column_length("C18"), is_key=True, is_required=True),
        Column("name", "姓名", "C", column_length("C..10"), is_queryable=True),
        Column("birth", "出生日期", "D", column_length("D8")),
        Column("income", "年收入", "N", column_length("N10,2")),
    ),
)


def frame(rows):
    return pl.DataFrame(
        rows,
        schema={"id_no": pl.String, "name": pl.String, "birth": pl.Date, "income": pl.String},
        orient="row",
    )


def write(batch_id, rows, mode="upsert"):
    with store.BatchWriter(SCHEMA, batch_id, mode) as writer:
        for start in range(0, len(rows), 2):  # several chunks
            writer.write(frame(rows[start : start + 2]))
        return writer.commit()


def live():
    return sorted((r["_rid"], r["id_no"], r["name"]) for r in store.read_rows(SCHEMA))


def test_first_load_numbers_rids_and_later_batches_continue(isolated_data_store):
    from datetime import date

    rows = [(f"id{n:02d}", f"名{n}", date(1990, 1, n + 1), "10.50") for n in range(5)]
    summary = write(1, rows, mode="replace")
    assert summary.inserted == 5 and summary.indexes_pending
    assert [r[0] for r in live()] == [1, 2, 3, 4, 5]
    engine = store.get_engine()
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE 'r7%'"
            )
        ).all()
        assert set(tables) == {("org_3", "r7"), ("org_3", "r7__h")}
    primary_key = sa.text("SELECT count(*) FROM pg_constraint WHERE conname = 'r7_pkey' AND contype = 'p'")
    with engine.connect() as conn:
        assert conn.execute(primary_key).scalar_one() == 0  # left to the index task with the indexes
    assert (
        store.ensure_indexes(SCHEMA) == 4
    )  # the primary key, the key index, the name index, the batch index
    assert store.ensure_indexes(SCHEMA) == 0
    with engine.connect() as conn:
        assert conn.execute(primary_key).scalar_one() == 1
    # An upsert: one changed, one new row; the new row's _rid follows the first load's.
    second = write(2, [("id01", "改名", date(1990, 1, 2), "10.50"), ("id99", "新人", None, None)])
    assert (second.inserted, second.updated) == (1, 1)
    assert live()[-1] == (6, "id99", "新人")
    assert ("名1" in {r["name"] for r in store.read_rows(SCHEMA, as_of_batch=1)}) is True
    assert {r["name"] for r in store.read_rows(SCHEMA, filters={"id_no": "id01"})} == {"改名"}
    # A full replace retires what it no longer holds; history keeps it for as-of reads.
    third = write(3, [("id00", "名0", date(1990, 1, 1), "10.50")], mode="replace")
    assert third.retired == 5
    assert [r[1] for r in live()] == ["id00"]
    assert len(list(store.read_rows(SCHEMA, as_of_batch=2))) == 6
    assert store.applied_batch(3)["retired"] == 5


def test_aborted_first_load_leaves_an_empty_table_with_its_key(isolated_data_store):
    from datetime import date

    with store.BatchWriter(SCHEMA, 1, "replace") as writer:
        writer.write(frame([("id01", "甲", date(2000, 1, 1), "1")]))
        writer.abort()
    assert live() == [] and store.applied_batch(1) is None
    summary = write(2, [("id01", "甲", date(2000, 1, 1), "1")], mode="replace")
    assert summary.inserted == 1 and live() == [(1, "id01", "甲")]
