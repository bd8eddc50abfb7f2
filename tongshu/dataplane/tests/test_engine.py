"""The ingest engine: validation rules, the store's atomic batches (upsert, replace, history) and the pipeline."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from tongshu.dataplane import pipeline, readers, store
from tongshu.dataplane.schema import Column, ResourceSchema, column_length
from tongshu.quality.engine import CrossRule, rules_for, validate


@pytest.fixture
def data_url(isolated_data_store):
    return isolated_data_store


SCHEMA = ResourceSchema(
    resource_id=42,
    table_name="r42",
    namespace="org_1",
    columns=(
        Column(
            "id_no",
            "公民身份号码",
            "C",
            column_length("C18"),
            is_key=True,
            is_required=True,
            check_rule="resident_id",
        ),
        Column("name", "姓名", "C", column_length("C..10"), is_required=True, is_queryable=True),
        Column("sex", "性别", "C", column_length("C1"), code_values=(("1", "男性"), ("2", "女性"))),
        Column("birth", "出生日期", "D", column_length("D8")),
        Column("income", "年收入", "N", column_length("N10,2")),
    ),
)
MAPPING = {"公民身份号码": "id_no", "姓名": "name", "性别": "sex", "出生日期": "birth", "年收入": "income"}
GOOD = "公民身份号码,姓名,性别,出生日期,年收入\n11010519491231002X,张三,2,1949-12-31,1000.50\n430623199001011237,李四,男性,19900101,20\n"


def chunks_of(text: str, encoding: str = "utf-8"):
    _header, chunks = readers.read_csv(io.BytesIO(text.encode(encoding)))
    return pipeline.map_columns(chunks, MAPPING, SCHEMA)


def run(text: str, batch_id: int, mode: str = "upsert", policy: str = "reject", encoding: str = "utf-8"):
    rules = rules_for(SCHEMA, [CrossRule("id_birthdate", ("id_no", "birth"))])
    return pipeline.run_pipeline(
        SCHEMA, chunks_of(text, encoding), batch_id=batch_id, mode=mode, policy=policy, rules=rules
    )


def run_rows(text: str, batch_id: int, mode: str = "upsert", policy: str = "reject", rows_per_chunk: int = 1):
    """The pipeline over the CSV's rows, `rows_per_chunk` a chunk (what many chunks do, on a few rows)."""
    (whole,) = chunks_of(text)
    return pipeline.run_pipeline(
        SCHEMA,
        [whole.slice(n, rows_per_chunk) for n in range(0, whole.height, rows_per_chunk)],
        batch_id=batch_id,
        mode=mode,
        policy=policy,
        rules=rules_for(SCHEMA, []),
    )


def rows():
    return sorted((r["id_no"], r["name"], r["sex"]) for r in store.read_rows(SCHEMA))


def test_checksums_and_typed_values():
    frame = pl.DataFrame(
        {
            "id_no": ["11010519491231002X", "110105194912310021", " 11010519491231002x "],
            "name": ["张三", "", "王五"],
            "sex": ["女性", "3", "1"],
            "birth": ["1949/12/31", "19491231", "not a date"],
            "income": ["12.345", "1", "abc"],
            "_row": [2, 3, 4],
        }
    )
    result = validate(frame, SCHEMA, rules_for(SCHEMA))
    found = {(e["row"], e["field"], e["code"]) for e in result.errors.to_dicts()}
    assert (2, "income", "type") in found  # three decimals
    assert (3, "id_no", "resident_id") in found
    assert (3, "name", "required") in found
    assert (3, "sex", "code_set") in found
    assert (4, "birth", "type") in found and (4, "income", "type") in found
    assert (4, "id_no", "resident_id") not in found  # trimmed and upper-cased before checking
    assert result.typed["sex"].to_list()[0] == "2"  # a name of the code set is stored as its code


def test_a_date_time_item_takes_a_bare_date_as_midnight_and_a_minimum_length_is_worded_as_such():
    schema = ResourceSchema(
        resource_id=43,
        table_name="r43",
        namespace="org_1",
        columns=(
            Column("at", "登记时间", "T", column_length("T19")),
            Column("code", "编码", "C", column_length("C2..10")),
        ),
    )
    frame = pl.DataFrame({"at": ["2024-05-07", "2024-05-07 08:30:00"], "code": ["A", "AB"], "_row": [2, 3]})
    result = validate(frame, schema, rules_for(schema))
    assert [str(value) for value in result.typed["at"].to_list()] == [
        "2024-05-07 00:00:00",
        "2024-05-07 08:30:00",
    ]
    assert [(e["row"], e["code"], e["reason"]) for e in result.errors.to_dicts()] == [
        (2, "length", "长度不应少于 2")
    ]


def test_the_resident_id_rule_agrees_with_the_reference_checksum():
    """Every check character for a spread of bodies (valid dates), plus wrong shapes: the column-wise rule accepts
    exactly the numbers GB 11643's reference computation (core.checksums) accepts."""
    from tongshu.core.checksums import is_valid_resident_id
    from tongshu.quality.engine import resident_id_is_valid

    values = []
    for n in range(300):
        body = (
            f"{430000 + n * 37 % 10000:06d}{1950 + n % 70}{n % 12 + 1:02d}{n % 28 + 1:02d}{n * 7 % 1000:03d}"
        )
        values.extend(body + check for check in "0123456789Xx")
    values += [
        "43062319900101123",
        "4306231990010112345",
        "43062319900101123Y",
        "4306231990o101123X",
        "",
        None,
    ]
    expected = [bool(v) and is_valid_resident_id(v) for v in values]
    got = pl.DataFrame({"id": values}).select(resident_id_is_valid("id")).to_series().to_list()
    assert got == expected
    assert len({v[:17] for v, ok in zip(values, got, strict=True) if ok}) == 300  # one check character a body


def test_first_load_upsert_history_and_as_of(data_url):
    first = run(GOOD, 1)
    assert first.status == "applied" and first.summary.inserted == 2
    changed = "公民身份号码,姓名,性别,出生日期,年收入\n11010519491231002X,张三丰,2,1949-12-31,1000.50\n430623199001011237,李四,1,19900101,20\n"
    second = run(changed, 2)
    assert (second.summary.inserted, second.summary.updated) == (0, 1)
    assert rows() == [("11010519491231002X", "张三丰", "2"), ("430623199001011237", "李四", "1")]
    as_of_first = sorted(r["name"] for r in store.read_rows(SCHEMA, as_of_batch=1))
    assert as_of_first == ["张三", "李四"]
    assert store.applied_batch(2)["updated"] == 1


def test_full_replace_retires_missing_rows_and_bad_row_rejects_whole(data_url):
    run(GOOD, 1)
    bad = "公民身份号码,姓名,性别,出生日期,年收入\n11010519491231002X,张三,2,1949-12-31,1\n123,坏行,2,1949-12-31,1\n"
    rejected = run(bad, 2, mode="replace", policy="skip")  # a replace is rejected whole whatever the policy
    assert rejected.status == "rejected" and rejected.bad_rows == 1
    assert rejected.errors_sample[0]["row"] == 3
    assert len(rows()) == 2 and store.applied_batch(2) is None
    only_one = "公民身份号码,姓名,性别,出生日期,年收入\n11010519491231002X,张三,2,1949-12-31,1000.50\n"
    replaced = run(only_one, 3, mode="replace")
    assert replaced.summary.retired == 1
    assert rows() == [("11010519491231002X", "张三", "2")]


def test_skip_policy_loads_good_rows_and_reports_bad(data_url):
    text = GOOD + "11010519491231002X,重复,2,1949-12-31,1\n430623199001011236,坏校验,1,19900101,1\n"
    result = run(text, 1, policy="skip")
    assert result.status == "applied" and result.summary.inserted == 2
    codes = {(e["row"], e["code"]) for e in result.errors_sample}
    assert (4, "duplicate_key") in codes and (5, "resident_id") in codes


def test_keys_that_differ_only_as_written_are_duplicates_within_a_chunk(data_url):
    """An ID's check letter is stored upper-cased: x and X in one chunk are the same key, reported once, and never
    reach the store's unique index as two rows."""
    text = GOOD + "11010519491231002x,张三小写,2,1949-12-31,1\n"
    result = run(text, 1, policy="skip")
    duplicates = [(e["row"], e["value"]) for e in result.errors_sample if e["code"] == "duplicate_key"]
    assert duplicates == [(4, "11010519491231002x")]
    assert result.status == "applied" and result.summary.inserted == 2
    assert rows() == [("11010519491231002X", "张三", "2"), ("430623199001011237", "李四", "1")]


@pytest.mark.parametrize("flush_rows", [1, 4, 4096])
def test_duplicate_keys_across_chunks_name_the_first_row(data_url, monkeypatch, flush_rows):
    """Each row its own chunk: a key seen in an earlier chunk is reported with the row where it first appeared,
    whether that row was good or not, and a key seen only once is never reported (the keys seen wait in memory
    until `FLUSH_ROWS` have come, then go to the scratch files: all of them there, some there and the rest still
    waiting, or all still waiting)."""
    monkeypatch.setattr(pipeline._KeyTracker, "FLUSH_ROWS", flush_rows)
    text = GOOD + (
        "430623199001011237,李四又,1,19900101,20\n"  # row 4 repeats row 3
        "430623199001011236,坏校验,1,19900101,1\n"  # row 5: bad checksum
        "430623199001011236,又坏,1,19900101,1\n"  # row 6 repeats the bad row 5
        "11010519491231002X,张三又,2,1949-12-31,1\n"  # row 7 repeats row 2
    )
    result = run_rows(text, 1, policy="skip")
    duplicates = {e["row"]: e["reason"] for e in result.errors_sample if e["code"] == "duplicate_key"}
    assert duplicates == {
        4: "主键重复（与第3行相同）",
        6: "主键重复（与第5行相同）",
        7: "主键重复（与第2行相同）",
    }
    assert result.status == "applied" and result.summary.inserted == 2
    assert rows() == [("11010519491231002X", "张三", "2"), ("430623199001011237", "李四", "1")]


def test_duplicates_across_chunks_count_each_bad_row_once(data_url):
    """A row that is bad and also repeats an earlier key counts once among the bad rows."""
    text = GOOD + (
        "430623199001011236,坏校验,1,19900101,1\n"  # row 4: bad checksum
        "430623199001011236,又坏,1,19900101,1\n"  # row 5: bad checksum and repeats row 4
        "11010519491231002X,张三又,2,1949-12-31,1\n"  # row 6: repeats row 2
    )
    result = run_rows(text, 1, policy="skip")
    assert result.status == "applied" and result.bad_rows == 3
    assert sorted((e["row"], e["code"]) for e in result.errors_sample) == [
        (4, "resident_id"),
        (5, "duplicate_key"),
        (5, "resident_id"),
        (6, "duplicate_key"),
    ]


def test_a_merge_leaves_out_keys_repeated_across_chunks(data_url, settings, tmp_path, monkeypatch):
    """Policy `skip` into a table that has rows (a merge through the staging table): a key repeated in a later chunk
    is reported and left out, the first row with it applied; the key check's scratch files are gone afterwards."""
    monkeypatch.setattr(pipeline._KeyTracker, "FLUSH_ROWS", 1)  # every chunk through the scratch files
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(scratch)
    run(GOOD, 1)
    text = "公民身份号码,姓名,性别,出生日期,年收入\n" + (
        "430623199001011237,李四改,1,19900101,20\n"  # row 2: updates 李四
        "11010519491231002X,张三改,2,1949-12-31,1\n"  # row 3: updates 张三
        "430623199001011237,李四再改,1,19900101,20\n"  # row 4: repeats row 2
        "11010519491231002X,张三再改,2,1949-12-31,1\n"  # row 5: repeats row 3
    )
    result = run_rows(text, 2, policy="skip")
    duplicates = {e["row"]: e["reason"] for e in result.errors_sample if e["code"] == "duplicate_key"}
    assert duplicates == {4: "主键重复（与第2行相同）", 5: "主键重复（与第3行相同）"}
    assert result.status == "applied" and (result.summary.inserted, result.summary.updated) == (0, 2)
    assert rows() == [("11010519491231002X", "张三改", "2"), ("430623199001011237", "李四改", "1")]
    assert pipeline.scratch_directory() == scratch and not list(scratch.iterdir())


@pytest.mark.parametrize("first_load", [True, False])
def test_repeated_keys_are_left_out_wherever_they_sit_in_their_chunks(data_url, first_load):
    """Policy `skip`, chunks of three rows: the repeats taken out are exactly the later rows with a key seen before,
    good or bad rows around them (a first load writes straight into the table, a merge through the staging table)."""
    if not first_load:
        run(GOOD, 1)
    people = []
    for n in range(6):
        body = f"43062319500101{n:03d}"
        people.append(f"{body}{_check(body)}")
    text = (
        "公民身份号码,姓名,性别,出生日期,年收入\n"
        + "".join(f"{people[n]},人{n},1,1950-01-01,1\n" for n in range(4))
        + (
            "430623199001011236,坏校验,1,19900101,1\n"  # row 6: bad checksum, not sent
            f"{people[1]},人1又,1,1950-01-01,1\n"  # row 7 repeats row 3
            f"{people[4]},人4,1,1950-01-01,1\n"  # row 8
            f"{people[0]},人0又,1,1950-01-01,1\n"  # row 9 repeats row 2
            f"{people[5]},人5,1,1950-01-01,1\n"  # row 10
        )
    )
    result = run_rows(text, 2, policy="skip", rows_per_chunk=3)
    duplicates = {e["row"]: e["reason"] for e in result.errors_sample if e["code"] == "duplicate_key"}
    assert duplicates == {7: "主键重复（与第3行相同）", 9: "主键重复（与第2行相同）"}
    assert result.status == "applied" and result.summary.inserted == 6 and result.bad_rows == 3
    names = {name for _id, name, _sex in rows()}
    assert {f"人{n}" for n in range(6)} <= names and not names & {"人1又", "人0又", "坏校验"}


@pytest.mark.parametrize("first_load", [True, False])
def test_a_full_replace_with_a_key_repeated_in_its_last_chunk_changes_nothing(data_url, first_load):
    """Keys repeated across chunks are found once every chunk is in, after the rows were sent: the batch is still
    rejected whole and the store keeps what it had."""
    if not first_load:
        run(GOOD, 1)
    before = rows()
    body = "43062319500101123"
    text = GOOD + f"{body}{_check(body)},王五,1,1950-01-01,1\n11010519491231002X,张三又,2,1949-12-31,1\n"
    result = run_rows(text, 2, mode="replace")
    assert result.status == "rejected" and result.bad_rows == 1
    assert [(e["row"], e["reason"]) for e in result.errors_sample] == [(5, "主键重复（与第2行相同）")]
    assert rows() == before and store.applied_batch(2) is None
    assert run(GOOD, 3, mode="replace").status == "applied"


@pytest.mark.parametrize("first_load", [True, False])
def test_a_batch_failing_after_rows_were_written_leaves_nothing(data_url, first_load):
    """Rows already sent (on PostgreSQL into the batch's open COPY, on SQLite into its stage) are dropped when a later
    chunk rejects the batch or the source fails; the store's connection serves the next batch as usual."""
    if not first_load:
        run(GOOD, 1)
    before = rows()
    result = run_rows(GOOD + "430623199001011236,坏校验,1,19900101,1\n", 2)
    assert result.status == "rejected" and rows() == before and store.applied_batch(2) is None

    def failing():
        (whole,) = chunks_of(GOOD)
        yield from (whole.slice(n, 1) for n in range(2))
        raise OSError("upstream went away")

    with pytest.raises(OSError):
        pipeline.run_pipeline(
            SCHEMA, failing(), batch_id=3, mode="upsert", policy="reject", rules=rules_for(SCHEMA, [])
        )
    assert rows() == before and store.applied_batch(3) is None
    changed = GOOD.replace("李四", "李四改")
    assert run(changed, 4).status == "applied"
    assert [r[1] for r in rows()] == ["张三", "李四改"]


def test_a_first_load_in_many_stage_parts_keeps_every_row_in_order(data_url, monkeypatch):
    """SQLite stages a first load in parts copied in as they fill (at most eight: the last takes the rest)."""
    monkeypatch.setattr(store.SqliteStage, "PART_ROWS", (1, 2, 1, 1, 1, 1, 1))
    births = [f"19{n:02d}0101" for n in range(50, 62)]
    lines = []
    for n, birth in enumerate(births):
        body = f"430623{birth}{n:03d}"
        lines.append(f"{body}{_check(body)},人{n},,{birth},{n}")
    text = "公民身份号码,姓名,性别,出生日期,年收入\n" + "\n".join(lines) + "\n"
    result = run_rows(text, 1, mode="replace")
    assert result.status == "applied" and result.summary.inserted == 12
    loaded = list(store.read_rows(SCHEMA))
    assert [r["name"] for r in loaded] == [f"人{n}" for n in range(12)]
    assert [r["_rid"] for r in loaded] == list(range(1, 13))
    assert not list(Path(data_url.removeprefix("sqlite:///")).parent.glob("*.stage-b*"))


def test_a_new_sqlite_store_uses_the_bulk_page_size(data_url):
    if not data_url.startswith("sqlite"):
        pytest.skip("SQLite's page size")
    run(GOOD, 1)
    with store.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == store.SQLITE_PAGE_SIZE == 16384
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_first_load_leaves_its_wal_checkpoint_to_the_index_task(data_url):
    """The first load's commit does not copy its WAL into the database file (the index task does, with the index
    pages), and the pooled connection it used checkpoints by itself again afterwards."""
    if not data_url.startswith("sqlite"):
        pytest.skip("SQLite's WAL")
    first = run(GOOD, 1)
    assert first.status == "applied" and first.summary.indexes_pending
    with store.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == store.WAL_AUTOCHECKPOINT == 1000
    table, _history = store.build_tables(store.get_engine(), SCHEMA)

    def in_database_file() -> int:  # the rows the database file itself holds, its WAL ignored
        database = Path(data_url.removeprefix("sqlite:///"))
        with contextlib.closing(sqlite3.connect(f"file:{database}?immutable=1", uri=True)) as file_only:
            try:
                return file_only.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
            except sqlite3.OperationalError:  # the table itself is still only in the WAL
                return 0

    assert in_database_file() == 0
    assert store.ensure_indexes(SCHEMA) > 0
    assert in_database_file() == 2
    assert [r["name"] for r in store.read_rows(SCHEMA)] == ["张三", "李四"]


def _check(body: str) -> str:
    from tongshu.core.checksums import ID_CHECK, ID_WEIGHTS

    return ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def test_gbk_csv_with_other_delimiter(data_url):
    text = GOOD.replace(",", ";")
    result = run(text, 1, encoding="gbk")
    assert result.status == "applied" and rows()[0][1] == "张三"


def test_ragged_rows_are_reported_with_their_numbers(data_url):
    text = GOOD + "430623199001011237,多,1,19900101,20,extra\n"
    with pytest.raises(readers.RaggedRows):
        run(text, 1)
    assert readers.ragged_rows(io.BytesIO(text.encode())) == [{"row": 4, "expected": 5, "actual": 6}]
    assert rows() == []


@pytest.mark.django_db  # the division lookup reads the code sets
def test_a_department_cross_rule_replaces_the_implied_one():
    from tongshu.quality.engine import derived_rules

    schema = ResourceSchema(
        resource_id=43,
        table_name="r43",
        columns=(
            Column("id_no", "公民身份号码", "C", column_length("C18"), is_key=True, check_rule="resident_id"),
            Column("birth", "出生日期", "D", column_length("D8"), element="DE0004"),
        ),
    )
    frame = pl.DataFrame({"id_no": ["11010519491231002X"], "birth": ["1950-01-01"], "_row": [2]})
    implied = validate(frame, schema, derived_rules(schema))
    assert [e["code"] for e in implied.errors.to_dicts()] == ["id_birthdate"]
    own = CrossRule("id_birthdate", ("id_no", "birth"), reason="出生日期与身份证不符", severity="warning")
    both = validate(frame, schema, derived_rules(schema, [own], overridden=[own]))
    assert [(e["reason"], e["severity"]) for e in both.errors.to_dicts()] == [
        ("出生日期与身份证不符", "warning")
    ]
