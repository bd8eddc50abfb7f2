"""The change log the store derives from its live and history tables (`store.read_changes`): exact for first loads,
upserts, full replaces, retirements and retired keys loaded again, on SQLite and (in the PostgreSQL run) PostgreSQL.

Exact means: the changes after any batch n, applied by `_rid` to the rows as of n, give the rows as of any later batch
m, each operation is the right one for the row as it stood (insert: not live; update and retire: live), and every
change a batch made is listed once, whatever the page size. "Later" is in the order batches were applied, which is not
always the order of their ids (an upload waiting at its mapping step is applied after a later push): the store keeps
an apply sequence number per batch, and a table made before it existed keeps working."""

from __future__ import annotations

import random
from datetime import date

import polars as pl
import pytest
import sqlalchemy as sa

from tongshu.dataplane import store
from tongshu.dataplane.schema import Column, ResourceSchema, column_length

SCHEMA = ResourceSchema(
    resource_id=11,
    table_name="r11",
    namespace="org_5",
    columns=(
        Column("id_no", "证件号码", "C", column_length("C..18"), is_key=True, is_required=True),
        Column("name", "姓名", "C", column_length("C..20"), is_queryable=True),
        Column("birth", "出生日期", "D", column_length("D8")),
        Column("visits", "就诊次数", "I", column_length("I10")),
    ),
)
FIELDS = [column.field_name for column in SCHEMA.columns]
FRAME_SCHEMA = {"id_no": pl.String, "name": pl.String, "birth": pl.Date, "visits": pl.Int64}


def write(batch_id: int, rows: list[tuple], mode: str = "upsert") -> store.WriteSummary:
    with store.BatchWriter(SCHEMA, batch_id, mode) as writer:
        for start in range(0, len(rows), 3):  # several chunks
            writer.write(pl.DataFrame(rows[start : start + 3], schema=FRAME_SCHEMA, orient="row"))
        return writer.commit()


def all_changes(after: int = 0, *, limit: int = 1000, until: int | None = None) -> list[dict]:
    changes: list[dict] = []
    cursor = None
    while True:
        page = store.read_changes(SCHEMA, after, limit=limit, cursor=cursor, until_batch=until)
        assert len(page.changes) <= limit
        changes.extend(page.changes)
        if page.next_cursor is None:
            return changes
        assert page.next_cursor == (page.changes[-1]["_batch"], page.changes[-1]["_rid"])
        cursor = page.next_cursor


def values(change_or_row: dict) -> tuple:
    return tuple(change_or_row[name] for name in FIELDS)


def rows_as_of(batch: int | None) -> dict[int, tuple]:
    if batch == 0:
        return {}
    return {row["_rid"]: values(row) for row in store.read_rows(SCHEMA, as_of_batch=batch)}


def replay(start: dict[int, tuple], changes: list[dict]) -> dict[int, tuple]:
    """Apply changes as a consumer would, checking each operation against the row as the consumer holds it."""
    state = dict(start)
    for change in changes:
        rid = change["_rid"]
        if change["_op"] == store.INSERT:
            assert rid not in state, change
            state[rid] = values(change)
        elif change["_op"] == store.UPDATE:
            assert rid in state and state[rid] != values(change), change
            state[rid] = values(change)
        else:
            assert change["_op"] == store.RETIRE and rid in state, change
            del state[rid]
    return state


def person(n: int, version: int = 0) -> tuple:
    return (
        f"4306{n:04d}",
        f"人{n}-{version}",
        date(1980 + n % 20, 1 + n % 12, 1 + version % 28),
        n + version,
    )


def test_first_load_is_all_inserts_and_pages_by_cursor():
    assert store.read_changes(SCHEMA, 0, limit=10) == store.ChangePage([], None)  # no table yet
    write(5, [person(n) for n in range(7)], mode="replace")
    first = store.read_changes(SCHEMA, 0, limit=3)
    assert [c["_op"] for c in first.changes] == ["insert"] * 3
    assert [c["_batch"] for c in first.changes] == [5, 5, 5]
    assert first.next_cursor == (5, first.changes[-1]["_rid"])
    assert values(first.changes[0]) == person(0) and first.changes[0]["_updated_at"] is not None
    second = store.read_changes(SCHEMA, 0, limit=3, cursor=first.next_cursor)
    third = store.read_changes(SCHEMA, 0, limit=3, cursor=second.next_cursor)
    assert len(second.changes) == 3 and len(third.changes) == 1 and third.next_cursor is None
    rids = [c["_rid"] for c in first.changes + second.changes + third.changes]
    assert rids == sorted(rids) and len(set(rids)) == 7
    # A page that ends exactly on the last change says so only on the next (empty) page.
    exact = store.read_changes(SCHEMA, 0, limit=7)
    assert len(exact.changes) == 7 and exact.next_cursor is None
    assert store.read_changes(SCHEMA, 5, limit=10).changes == []
    assert [c["id_no"] for c in store.read_changes(SCHEMA, 0, limit=2, columns=["id_no"]).changes] == [
        person(0)[0],
        person(1)[0],
    ]
    with pytest.raises(ValueError):
        store.read_changes(SCHEMA, 0, limit=0)


def test_upserts_replaces_retirements_and_reinserts_are_logged_exactly():
    write(10, [person(n) for n in range(5)], mode="replace")
    write(20, [person(1, 1), person(2), person(5)])  # 1 updated, 2 unchanged, 5 new
    write(30, [person(0), person(1, 1), person(5, 2)], mode="replace")  # 5 updated; 2, 3, 4 retired
    store.retire_rows(SCHEMA, 40, [{"id_no": person(0)[0]}, {"id_no": "no such key"}])
    write(50, [person(3, 5), person(0), person(6)])  # 3 and 0 loaded again after retirement, 6 new
    changes = all_changes(limit=2)
    by_batch: dict[int, list[tuple]] = {}
    for change in changes:
        by_batch.setdefault(change["_batch"], []).append((change["_op"], change["id_no"], change["name"]))
    key = person
    assert sorted(by_batch[10]) == [("insert", key(n)[0], key(n)[1]) for n in range(5)]
    assert sorted(by_batch[20]) == [("insert", key(5)[0], key(5)[1]), ("update", key(1)[0], key(1, 1)[1])]
    assert sorted(by_batch[30]) == sorted(
        [("update", key(5)[0], key(5, 2)[1])] + [("retire", key(n)[0], key(n)[1]) for n in (2, 3, 4)]
    )
    assert by_batch[40] == [("retire", key(0)[0], key(0)[1])]
    assert sorted(by_batch[50]) == sorted(
        [
            ("insert", key(3)[0], key(3, 5)[1]),
            ("insert", key(0)[0], key(0)[1]),
            ("insert", key(6)[0], key(6)[1]),
        ]
    )
    assert set(by_batch) == {10, 20, 30, 40, 50}
    # The markers count the same changes (a retired key loaded again counts there as updated).
    for batch, listed in by_batch.items():
        marker = store.applied_batch(batch)
        assert marker["retired"] == sum(op == "retire" for op, *_ in listed)
        assert marker["inserted"] + marker["updated"] == sum(op != "retire" for op, *_ in listed)
    assert_exact([0, 10, 20, 30, 40, 50])


def assert_exact(batches: list[int], *, every_pair: bool = True) -> None:
    """`batches`: 0 and the batch ids in the order they were applied. Rows as of n + the changes in (n, m] = rows as of
    m, for every pair (n, m) or for each n with the next batch and the last; every page size lists the same log, in
    apply order."""
    applied = {batch: position for position, batch in enumerate(batches)}
    assert store.apply_order(SCHEMA) == batches[1:]
    everything = all_changes()
    order = [(applied[c["_batch"]], c["_rid"]) for c in everything]
    assert order == sorted(order) and len(set(order)) == len(order)
    assert [c["_seq"] for c in everything] == sorted(c["_seq"] for c in everything)
    for limit in (1, 2, 3, 5):
        assert all_changes(limit=limit) == everything
    for index, n in enumerate(batches):
        later = batches[index + 1 :] if every_pair else batches[index + 1 : index + 2]
        for m in later:
            window = all_changes(n, limit=4, until=m)
            assert window == [c for c in everything if applied[n] < applied[c["_batch"]] <= applied[m]]
            assert replay(rows_as_of(n), window) == rows_as_of(m)
        assert replay(rows_as_of(n), all_changes(n, limit=3)) == rows_as_of(None)
        if n:
            alone = store.read_changes(SCHEMA, batch=n).changes
            assert alone == [c for c in everything if c["_batch"] == n]


@pytest.mark.parametrize("order", ["created", "shuffled"])
def test_random_sequences_of_batches_are_exact(order):
    """A deterministic random run over a small key space: upserts with unchanged, changed and new rows, full
    replaces, retirements and retired keys loaded again; checked against a plain Python model of the resource.
    Batch ids increase with each batch ("created": applied in the order they were created) or are applied in an
    order unrelated to them ("shuffled")."""
    generator = random.Random(20240605)
    shuffled = random.Random(7).sample(range(1, 500), 14)
    model: dict[str, tuple] = {}  # key → live values
    expected: dict[int, list[tuple]] = {}
    batches = [0]
    batch = 0
    for step in range(14):
        if order == "created":
            batch += generator.randint(1, 9)  # batch ids are the control plane's: increasing, not consecutive
        else:
            batch = shuffled[step]
        log: list[tuple] = []
        if step == 0 or generator.random() < 0.25:
            mode = "replace"
        elif generator.random() < 0.2 and model:
            keys = generator.sample(sorted(model), min(len(model), generator.randint(1, 3)))
            store.retire_rows(SCHEMA, batch, [{"id_no": k} for k in keys])
            for k in keys:
                log.append(("retire", k, model.pop(k)))
            expected[batch] = log
            batches.append(batch)
            continue
        else:
            mode = "upsert"
        chosen = generator.sample(range(12), generator.randint(1, 9))
        rows = [person(n, generator.choice([0, 0, step])) for n in chosen]
        for row in rows:
            if row[0] not in model:
                log.append(("insert", row[0], row))
            elif model[row[0]] != row:
                log.append(("update", row[0], row))
        if mode == "replace":
            for k in sorted(set(model) - {row[0] for row in rows}):
                log.append(("retire", k, model.pop(k)))
        for row in rows:
            model[row[0]] = row
        write(batch, rows, mode=mode)
        if log:
            expected[batch] = log
        batches.append(batch)
    actual: dict[int, list[tuple]] = {}
    for change in all_changes(limit=4):
        actual.setdefault(change["_batch"], []).append((change["_op"], change["id_no"], values(change)))
    assert {b: sorted(v) for b, v in actual.items()} == {b: sorted(v) for b, v in expected.items()}
    assert {values(row) for row in store.read_rows(SCHEMA)} == set(model.values())
    assert_exact(batches, every_pair=False)


def test_a_batch_applied_after_a_later_one_is_still_seen_by_a_consumer():
    write(10, [person(n) for n in range(3)], mode="replace")
    write(30, [person(1, 3)])  # a push, applied at once
    seen = rows_as_of(30)  # a consumer in sync after batch 30
    write(20, [person(2, 2)])  # the upload created before the push, applied after it
    assert replay(seen, all_changes(30)) == rows_as_of(None)


def test_as_of_reads_and_the_log_follow_apply_order():
    """Batches 10, 30, 20, 25 and 15 applied in that order: 20 and 30 change the same row, 15 retires one. Each as-of
    read is the data after that batch in apply order; history ranges and the log follow the same order."""
    write(10, [person(n) for n in range(3)], mode="replace")
    write(30, [person(1, 3)])
    write(20, [person(1, 2), person(2, 2)])  # applied after 30: its version of person 1 is the live one
    write(25, [person(3)])
    store.retire_rows(SCHEMA, 15, [{"id_no": person(0)[0]}])
    assert store.apply_order(SCHEMA) == [10, 30, 20, 25, 15]
    assert [store.applied_batch(b)["seq"] for b in (10, 30, 20, 25, 15)] == [1, 2, 3, 4, 5]
    names = {b: {v[0]: v[1] for v in rows_as_of(b).values()} for b in (10, 30, 20, 25, 15)}
    assert names[10] == {person(n)[0]: person(n)[1] for n in range(3)}
    assert names[30] == {**names[10], person(1)[0]: person(1, 3)[1]}
    assert names[20] == {**names[30], person(1)[0]: person(1, 2)[1], person(2)[0]: person(2, 2)[1]}
    assert names[25] == {**names[20], person(3)[0]: person(3)[1]}
    assert names[15] == {k: v for k, v in names[25].items() if k != person(0)[0]}
    assert rows_as_of(15) == rows_as_of(None)
    assert {
        values(row) for row in store.read_rows(SCHEMA, as_of_batch=30, filters={"id_no": person(1)[0]})
    } == {person(1, 3)}
    # The same through the pages' reads (search, one row, download pages).
    total, rows = store.search_rows(SCHEMA, as_of_batch=30, conditions=[("id_no", "eq", person(1)[0])])
    assert total == 1 and rows[0]["name"] == person(1, 3)[1]
    assert store.get_row(SCHEMA, rows[0]["_rid"], as_of_batch=20)["name"] == person(1, 2)[1]
    assert store.get_row(SCHEMA, rows[0]["_rid"], as_of_batch=10)["name"] == person(1)[1]
    pages = list(store.iter_pages(SCHEMA, as_of_batch=30, page_size=2))
    assert [len(page) for page in pages] == [2, 1]
    assert {row["name"] for page in pages for row in page} == set(names[30].values())
    # Person 1's versions: written by 10, replaced by 30; written by 30, replaced by 20 (apply order).
    log = all_changes(limit=2)
    assert [(c["_batch"], c["_op"], c["name"]) for c in log if c["id_no"] == person(1)[0]] == [
        (10, "insert", person(1)[1]),
        (30, "update", person(1, 3)[1]),
        (20, "update", person(1, 2)[1]),
    ]
    assert [c["_batch"] for c in log] == [10, 10, 10, 30, 20, 20, 25, 15]
    assert [(c["_batch"], c["_op"]) for c in all_changes(30)] == [
        (20, "update"),
        (20, "update"),
        (25, "insert"),
        (15, "retire"),
    ]
    assert [c["_batch"] for c in all_changes(10, until=20)] == [30, 20, 20]
    assert [c["_batch"] for c in store.read_changes(SCHEMA, batch=20).changes] == [20, 20]
    # A cursor names its batch by id and continues in apply order.
    first = store.read_changes(SCHEMA, 30, limit=1)
    assert first.next_cursor == (20, first.changes[0]["_rid"])
    rest = store.read_changes(SCHEMA, 30, limit=10, cursor=first.next_cursor)
    assert [c["_batch"] for c in first.changes + rest.changes] == [20, 20, 25, 15]
    assert_exact([0, 10, 30, 20, 25, 15])


def test_batch_ids_that_name_no_applied_batch_are_refused():
    write(10, [person(n) for n in range(3)], mode="replace")
    write(30, [person(1, 3)])
    for bad in (20, 31, 999):
        with pytest.raises(store.UnknownBatch) as caught:
            store.read_changes(SCHEMA, bad)
        assert caught.value.batch_id == bad and caught.value.code == "invalid_batch"
        with pytest.raises(store.UnknownBatch):
            store.read_changes(SCHEMA, 10, until_batch=bad)
        with pytest.raises(store.UnknownBatch):
            store.read_changes(SCHEMA, batch=bad)
        with pytest.raises(store.UnknownBatch):
            store.read_changes(SCHEMA, 0, cursor=(bad, 1))
        with pytest.raises(store.UnknownBatch):
            list(store.read_rows(SCHEMA, as_of_batch=bad))
        with pytest.raises(store.UnknownBatch):
            store.search_rows(SCHEMA, as_of_batch=bad)
    other = ResourceSchema(resource_id=12, table_name="r12", namespace="org_5", columns=SCHEMA.columns)
    with store.BatchWriter(other, 40, "replace") as writer:
        writer.write(pl.DataFrame([person(9)], schema=FRAME_SCHEMA, orient="row"))
        writer.commit()
    with pytest.raises(store.UnknownBatch):  # another resource's batch
        store.read_changes(SCHEMA, 40)
    assert store.applied_batch(40)["seq"] == 1  # sequence numbers are per resource
    assert [c["_batch"] for c in store.read_changes(other, 0).changes] == [40]


def test_an_aborted_batch_takes_no_sequence_number():
    write(10, [person(n) for n in range(3)], mode="replace")
    with store.BatchWriter(SCHEMA, 20, "upsert") as writer:
        writer.write(pl.DataFrame([person(1, 1)], schema=FRAME_SCHEMA, orient="row"))
        writer.abort()
    write(30, [person(2, 2)])
    assert store.applied_batch(20) is None and store.applied_batch(30)["seq"] == 2
    assert_exact([0, 10, 30])


def _downgrade(seqs_to_ids: dict[int, int]) -> None:
    """Turn the store into what the version before apply sequence numbers left: `_batch` and `_superseded_by` hold
    batch ids, the markers have no `seq` column, the history table no `(_batch, _rid)` index."""
    engine = store.get_engine()
    table, history = store.build_tables(engine, SCHEMA)
    markers = store.batches_table(engine)

    def case(column: sa.Column) -> sa.Case:
        return sa.case(seqs_to_ids, value=column)

    with engine.begin() as conn:
        conn.execute(table.update().values(_batch=case(table.c._batch)))
        conn.execute(
            history.update().values(
                _batch=case(history.c._batch), _superseded_by=case(history.c._superseded_by)
            )
        )
        named = (f'"{markers.schema}".', f'"{history.schema}".') if markers.schema else ("", "")
        conn.exec_driver_sql(f"DROP INDEX {named[0]}_tongshu_batches_seq")
        conn.exec_driver_sql(f"DROP INDEX {named[1]}r11__h_batch")
        conn.exec_driver_sql(f"ALTER TABLE {store._qualified(engine, markers)} DROP COLUMN seq")
    store.dispose_engines()  # a new process: the marker table is checked again


def test_tables_made_before_apply_sequence_numbers_keep_working():
    write(10, [person(n) for n in range(4)], mode="replace")
    write(20, [person(1, 1), person(4)])
    write(30, [person(0), person(1, 1)], mode="replace")
    before = (all_changes(limit=2), {b: rows_as_of(b) for b in (10, 20, 30)})
    _downgrade({1: 10, 2: 20, 3: 30})
    engine = store.get_engine()
    _table, history = store.build_tables(engine, SCHEMA)
    with engine.connect() as conn:
        assert "r11__h_batch" not in {
            i["name"] for i in sa.inspect(conn).get_indexes("r11__h", history.schema)
        }
        assert (
            conn.execute(sa.text(f"SELECT max(_batch) FROM {store._qualified(engine, history)}")).scalar()
            == 20
        )
    # Reads migrate the markers (seq = batch id, what the rows hold) and answer as before.
    after = (all_changes(limit=2), {b: rows_as_of(b) for b in (10, 20, 30)})
    assert [(c["_batch"], c["_seq"]) for c in after[0]] == [(c["_batch"], c["_batch"]) for c in before[0]]
    strip = [{k: v for k, v in c.items() if k != "_seq"} for c in after[0]]
    assert strip == [{k: v for k, v in c.items() if k != "_seq"} for c in before[0]]
    assert after[1] == before[1]
    assert [store.applied_batch(b)["seq"] for b in (10, 20, 30)] == [10, 20, 30]
    # The history index is built by the index task (or the resource's next batch).
    assert store.ensure_indexes(SCHEMA) == 1 and store.ensure_indexes(SCHEMA) == 0
    # New batches continue the sequence, including one created before the last legacy batch.
    seen = rows_as_of(30)
    write(25, [person(2, 5)])
    write(40, [person(5)])
    assert [store.applied_batch(b)["seq"] for b in (25, 40)] == [31, 32]
    assert replay(seen, all_changes(30)) == rows_as_of(None)
    assert store.apply_order(SCHEMA) == [10, 20, 30, 25, 40]
    assert_exact([0, 10, 20, 30, 25, 40])


def test_a_batch_builds_the_history_index_an_older_table_lacks():
    write(10, [person(n) for n in range(3)], mode="replace")
    write(20, [person(1, 1)])
    _downgrade({1: 10, 2: 20})
    write(15, [person(2, 2)])  # an older upload, applied last
    engine = store.get_engine()
    _table, history = store.build_tables(engine, SCHEMA)
    with engine.connect() as conn:
        assert "r11__h_batch" in {i["name"] for i in sa.inspect(conn).get_indexes("r11__h", history.schema)}
    assert store.applied_batch(15)["seq"] == 21
    assert_exact([0, 10, 20, 15])
