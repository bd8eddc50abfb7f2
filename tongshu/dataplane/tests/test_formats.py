"""Every file format through the real pipeline, and each bad input leaves the stored data exactly as it was."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from tongshu.core.errors import ValidationFailed
from tongshu.dataplane import readers_json, readers_sheet, services, store
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.schema import schema_for_version

from .formats import (
    GOOD,
    HEADER,
    csv_bytes,
    ods_bytes,
    with_cached_values,
    xlsx_bytes,
    zip_bomb_xlsx,
)

pytestmark = pytest.mark.django_db


def rows_of(resource):
    return sorted(
        (r["f001"], r["f002"], str(r["f003"] or ""))
        for r in store.read_rows(schema_for_version(resource.published_version))
    )


def load(personas, resource, data: bytes, name: str, **kwargs) -> Batch:
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO(data), file_name=name, **kwargs
    )
    return services.apply_batch(batch.pk)


@pytest.fixture
def loaded(personas, resource):
    batch = load(personas, resource, csv_bytes(GOOD), "first.csv")
    assert batch.status == BatchStatus.APPLIED
    return rows_of(resource)


EXPECTED = [
    ("11010519491231002X", "张三", "1949-12-31"),
    ("430623199001011237", "李四", "1990-01-01"),
]


# --- spreadsheets -------------------------------------------------------------------------------------------------


def test_xlsx_values_read_as_displayed(personas, resource):
    data = xlsx_bytes(
        [
            HEADER,
            ["11010519491231002X", "张三", dt.date(1949, 12, 31)],
            [],  # a blank row is not a record, and does not shift row numbers
            ["430623199001011237", "李四", dt.datetime(1990, 1, 1)],
        ]
    )
    batch = load(personas, resource, data, "人口.xlsx")
    assert batch.status == BatchStatus.APPLIED, batch.message
    assert batch.inserted == 2 and batch.rows_read == 2
    assert rows_of(resource) == EXPECTED


def test_cell_text_has_no_float_noise():
    assert readers_sheet.cell_text(1.0) == "1"
    assert readers_sheet.cell_text(0.1 + 0.2) == "0.3"
    assert readers_sheet.cell_text(1234.5) == "1234.5"
    assert readers_sheet.cell_text(True) == "TRUE"
    assert readers_sheet.cell_text(dt.datetime(2020, 1, 2, 3, 4, 5)) == "2020-01-02 03:04:05"
    assert readers_sheet.cell_text(dt.date(2020, 1, 2)) == "2020-01-02"
    assert readers_sheet.cell_text(None) == ""


def test_xlsx_bad_rows_report_spreadsheet_row_numbers(personas, resource, loaded):
    data = xlsx_bytes([HEADER, ["11010519491231002X", "张三改", "1949-12-31"], ["123", "坏", "2020-13-40"]])
    batch = load(personas, resource, data, "bad.xlsx")
    assert batch.status == BatchStatus.REJECTED and batch.reason_code == "bad_rows"
    assert {e["row"] for e in batch.error_sample} == {3}
    assert rows_of(resource) == loaded


def test_named_sheet(personas, resource):
    data = xlsx_bytes([["说明"]], title="封面", extra_sheet=None)
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.create_sheet("人口")
    for row in [HEADER, *GOOD]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = load(personas, resource, buffer.getvalue(), "two.xlsx", mapping={services.SHEET_KEY: "人口"})
    assert batch.status == BatchStatus.APPLIED, batch.message
    assert rows_of(resource) == EXPECTED
    missing = load(personas, resource, buffer.getvalue(), "two.xlsx", mapping={services.SHEET_KEY: "无此表"})
    assert missing.status == BatchStatus.REJECTED and "无此表" in missing.message
    assert missing.reason_code == "sheet_not_found"


def test_formula_cells_use_cached_values_never_evaluated(personas, resource):
    rows = [HEADER, ["11010519491231002X", '=CONCATENATE("张","三")', "1949-12-31"]]
    calculated = with_cached_values(xlsx_bytes(rows), {'CONCATENATE("张","三")': "张三"})
    batch = load(personas, resource, calculated, "f.xlsx")
    assert batch.status == BatchStatus.APPLIED, batch.message
    assert rows_of(resource)[0][1] == "张三"


def test_formula_without_cached_value_is_reported(personas, resource, loaded):
    rows = [HEADER, ["11010519491231002X", "=A1&A1", "1949-12-31"]]
    batch = load(personas, resource, xlsx_bytes(rows), "nocache.xlsx")
    assert batch.status == BatchStatus.REJECTED and batch.reason_code == "formula_without_value"
    assert "B2" in batch.message and "公式" in batch.message
    assert [(e["row"], e["value"]) for e in batch.error_sample] == [(2, "B2")]
    assert rows_of(resource) == loaded


def test_zip_bomb_refused_before_inflating(personas, resource, loaded, settings):
    batch = load(personas, resource, zip_bomb_xlsx(), "bomb.xlsx")
    assert batch.status == BatchStatus.REJECTED and "压缩" in batch.message
    with pytest.raises(ValidationFailed) as caught:
        readers_sheet.check_zip(batch.file_path)
    assert caught.value.code == "zip_bomb" and batch.reason_code == "zip_bomb"
    settings.DATAPLANE_SPREADSHEET_ZIP_LIMITS = {"max_uncompressed_mb": 1, "max_ratio": 10**9}
    with pytest.raises(ValidationFailed, match="解压后过大"):
        readers_sheet.check_zip(batch.file_path)
    assert rows_of(resource) == loaded


def test_not_a_spreadsheet(personas, resource, loaded):
    batch = load(personas, resource, b"this is not a zip file at all", "fake.xlsx")
    assert batch.status == BatchStatus.REJECTED and "XLSX" in batch.message
    assert batch.reason_code == "bad_spreadsheet"
    batch = load(personas, resource, b"\xd0\xcf\x11\xe0garbage", "fake.xls")
    assert batch.status == BatchStatus.REJECTED
    assert rows_of(resource) == loaded


def test_ods(personas, resource):
    batch = load(personas, resource, ods_bytes([HEADER, *GOOD]), "人口.ods")
    assert batch.status == BatchStatus.APPLIED, batch.message
    assert rows_of(resource) == EXPECTED


def test_spreadsheet_without_key_column(personas, resource, loaded):
    batch = load(personas, resource, xlsx_bytes([["姓名"], ["张三"]]), "nokey.xlsx")
    assert batch.status == BatchStatus.REJECTED and "主键" in batch.message
    assert batch.reason_code == "missing_key_column"
    assert rows_of(resource) == loaded


# --- JSON and NDJSON ----------------------------------------------------------------------------------------------


def records(rows=GOOD):
    return [dict(zip(HEADER, row, strict=True)) for row in rows]


def test_json_array(personas, resource):
    data = json.dumps(records(), ensure_ascii=False).encode()
    batch = load(personas, resource, data, "人口.json")
    assert batch.status == BatchStatus.APPLIED, batch.message
    assert rows_of(resource) == EXPECTED


def test_json_array_streams_in_small_reads(monkeypatch):
    monkeypatch.setattr(readers_json, "READ_CHARS", 7)
    many = [{"a": i, "b": f"值{i}", "c": 1.0, "d": None, "e": True} for i in range(50)]
    header, chunks = readers_json.read_json(io.BytesIO(json.dumps(many).encode()), lines=False, chunk_rows=16)
    frames = list(chunks)
    assert header == ["a", "b", "c", "d", "e"]
    assert [f.height for f in frames] == [16, 16, 16, 2]
    last = frames[-1].to_dicts()[-1]
    assert last == {"a": "49", "b": "值49", "c": "1", "d": "", "e": "true", "_row": 50}


def test_ndjson_line_numbers_and_blank_lines(personas, resource, loaded):
    lines = [json.dumps(r, ensure_ascii=False) for r in records()]
    bad = {"公民身份号码": "123", "姓名": "坏", "出生日期": "2020-01-01"}
    data = "\n".join([lines[0], "", json.dumps(bad, ensure_ascii=False)]).encode()
    batch = load(personas, resource, data, "x.ndjson")
    assert batch.status == BatchStatus.REJECTED
    assert {e["row"] for e in batch.error_sample} == {3}
    assert rows_of(resource) == loaded


def test_ndjson_key_first_seen_in_a_later_chunk_still_maps(monkeypatch):
    data = b'{"a": "1"}\n{"a": "2", "b": "x"}\n'
    header, chunks = readers_json.read_json(io.BytesIO(data), lines=True, chunk_rows=1)
    frames = list(chunks)
    assert header == ["a"] and frames[1].columns == ["a", "b", "_row"]


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("garbage.json", b"<html>not json</html>", "对象数组"),
        ("cut.json", '[{"公民身份号码": "11010519491231002X"}, {"姓名": '.encode(), "第 2 条"),
        ("scalar.json", b"[1, 2]", "第 1 条记录不是 JSON 对象"),
        ("line.ndjson", b'{"a": 1}\n{"a": 2}\nnot json\n', "第 3 行第 1 列不是有效的 JSON：此处应为一个值"),
        ("array.ndjson", b'{"a": 1}\n[1]\n', "第 2 行不是 JSON 对象"),
        ("gbk.json", '[{"姓名": "张三"}]'.encode("gbk"), "UTF-8"),
        ("nan.ndjson", b'{"a": NaN}\n', "第 1 行不是有效的 JSON：不支持的数值 NaN"),
        ("quote.ndjson", b"{'a': 1}\n", "第 1 行第 2 列不是有效的 JSON：此处应为用英文双引号括起的属性名"),
        (
            "comma.json",
            b'[\n  {"a": 1},\n  {"a": 2 "b": 3}\n]',
            "第 2 条记录不是有效的 JSON（文件第 3 行第 11 列，此处应为英文逗号 ,）",
        ),
    ],
)
def test_bad_json_rejects_batch_with_its_number(personas, resource, loaded, name, data, fragment):
    batch = load(personas, resource, data, name)
    assert batch.status == BatchStatus.REJECTED
    assert batch.reason_code == ("bad_encoding" if name == "gbk.json" else "bad_json")
    assert fragment in batch.message, batch.message
    assert "Expecting" not in batch.message and "char" not in batch.message
    assert rows_of(resource) == loaded


def test_json_error_place_counts_lines_across_reads(monkeypatch):
    """The array reader slides a buffer over the file; the line and column it reports are the file's."""
    monkeypatch.setattr(readers_json, "READ_CHARS", 5)
    text = "[\n" + ",\n".join(f'  {{"a": {n}}}' for n in range(30)) + ',\n  {"a": 1,, "b": 2}\n]'
    with pytest.raises(ValidationFailed) as caught:
        list(readers_json.read_json(io.BytesIO(text.encode()), lines=False)[1])
    assert (
        caught.value.message
        == "第 31 条记录不是有效的 JSON（文件第 32 行第 11 列，此处应为用英文双引号括起的属性名）"
    )


# Chunks are read on a producer thread with its own connection: the batch must really be committed.
@pytest.mark.django_db(transaction=True)
def test_large_ndjson_streams_and_records_progress(personas, resource, monkeypatch):
    monkeypatch.setattr(readers_json, "CHUNK_ROWS", 1000)
    monkeypatch.setattr(services, "PROGRESS_EVERY_ROWS", 2000)
    seen = []
    lines = []
    for n in range(5000):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=n)
        lines.append(
            json.dumps({"公民身份号码": _id(birth, n), "姓名": f"居民{n}", "出生日期": birth.isoformat()})
        )
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO("\n".join(lines).encode()), file_name="big.ndjson"
    )
    from tongshu.dataplane import services as module

    real = module._progress

    def recording(batch_id):
        record = real(batch_id)

        def observed(read):
            record(read)
            seen.append(Batch.objects.get(pk=batch_id).rows_read)

        return observed

    monkeypatch.setattr(module, "_progress", recording)
    batch = services.apply_batch(batch.pk)
    assert batch.status == BatchStatus.APPLIED, batch.message
    assert batch.inserted == 5000 and batch.rows_read == 5000
    assert seen == [1000, 1000, 3000, 3000, 5000]


def _id(birth: dt.date, n: int) -> str:
    from tongshu.core.checksums import ID_CHECK, ID_WEIGHTS

    body = f"430623{birth:%Y%m%d}{n % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + ID_CHECK[total % 11]


# --- CSV: GBK with a few bad rows, fixed and loaded ---------------------------------------------------------------


def test_gbk_csv_with_bad_rows_report_fix_load(personas, resource):
    bad = [*GOOD, ["430623199001011230", "王五", "1990-01-01"], ["", "赵六", "1990-02-30"]]
    batch = load(personas, resource, csv_bytes(bad, "gbk"), "人口（GBK）.csv")
    assert batch.status == BatchStatus.REJECTED
    assert sorted({e["row"] for e in batch.error_sample}) == [4, 5]
    assert rows_of(resource) == []
    fixed = [*GOOD, ["430623199001011229", "王五", "1990-01-01"]]
    batch = load(personas, resource, csv_bytes(fixed, "gbk"), "人口（GBK）修正.csv")
    assert batch.status == BatchStatus.APPLIED, batch.error_sample
    assert [name for _id, name, _b in rows_of(resource)] == ["张三", "王五", "李四"]


def test_ragged_csv_rows_reported(personas, resource, loaded):
    data = csv_bytes(GOOD) + b"430623199001011229,\xe7\x8e\x8b\xe4\xba\x94\n1,2,3,4\n"
    batch = load(personas, resource, data, "ragged.csv")
    assert batch.status == BatchStatus.REJECTED and batch.reason_code == "ragged_rows"
    assert [e["row"] for e in batch.error_sample] == [4, 5]
    assert rows_of(resource) == loaded
