"""Excel 97-2003 (.xls, BIFF8) uploads through the service and the API, from committed files (`fixtures/make_xls.py`
writes them), and the same typed cells in XLSX and ODS: every value arrives as the text a person typed, whatever the
format stores (a phone number as the double 13800000000.0, a date as a serial)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.test import Client

from tongshu.dataplane import readers_sheet, services, store
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.schema import schema_for_version

from .fixtures.people import BAD_ROWS, CLEAN, CLEAN_TEXT, HEADER, ITEMS
from .formats import ods_bytes, population_resource
from .helpers import load_file

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
STORED = [
    (
        "11010519491231002X",
        "张三",
        dt.date(1949, 12, 31),
        "13800000000",
        Decimal("52000.50"),
        3,
        dt.datetime(2024, 5, 6, 7, 8, 9),
    ),
    (
        "430623199001011237",
        "李四·欧阳",
        dt.date(1990, 1, 1),
        "13912345678",
        Decimal("1234.56"),
        1,
        dt.datetime(2024, 5, 7, 9, 30),
    ),
    (
        "43062319850228321X",
        "王五",
        dt.date(1985, 2, 28),
        "18673000001",
        Decimal("0.10"),
        5,
        dt.datetime(2024, 12, 31, 23, 59, 59),
    ),
]


@pytest.fixture
def resource(personas):
    return population_resource(personas.provider_org, ITEMS)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def stored(resource) -> list[tuple]:
    schema = schema_for_version(resource.published_version)
    fields = [column.field_name for column in schema.columns]
    return sorted(tuple(row[field] for field in fields) for row in store.read_rows(schema))


def texts(tmp_path: Path, data: bytes, file_format: str) -> list[list[object]]:
    """What the reader hands the pipeline: the spreadsheet's row number, then the text of every cell."""
    path = tmp_path / f"upload.{file_format}"
    path.write_bytes(data)
    header, chunks = readers_sheet.read_sheet(path, file_format)
    assert header == HEADER
    return [
        [row.pop(readers_sheet.ROW), *row.values()] for chunk in chunks for row in chunk.iter_rows(named=True)
    ]


NUMBERED_TEXT = [[number, *text] for number, text in zip((2, 3, 4), CLEAN_TEXT, strict=True)]


# --- through the service ------------------------------------------------------------------------------------------


def test_a_clean_xls_loads_chinese_text_dates_and_numbers(personas, resource):
    batch = load_file(
        personas.provider_admin, resource, fixture("population.xls"), "人口（Excel 97-2003）.xls"
    )
    assert batch.status == BatchStatus.APPLIED, (batch.message, batch.error_sample)
    assert (batch.file_format, batch.rows_read, batch.inserted) == ("xls", 3, 3)
    assert stored(resource) == sorted(STORED)


def test_xls_cells_read_as_typed(tmp_path):
    """Phone numbers come as doubles (13800000000.0) and dates as serials in BIFF: the reader gives the typed text."""
    assert texts(tmp_path, fixture("population.xls"), "xls") == NUMBERED_TEXT


def test_xls_bad_rows_report_exact_row_numbers_and_change_nothing(personas, resource):
    load_file(personas.provider_admin, resource, fixture("population_two_sheets.xls"), "first.xls")
    before = stored(resource)
    batch = load_file(personas.provider_admin, resource, fixture("population_bad_rows.xls"), "有错.xls")
    assert batch.status == BatchStatus.REJECTED
    assert batch.rows_read == 3 and batch.bad_rows == 2
    assert {(e["row"], e["label"]) for e in batch.error_sample} == set(BAD_ROWS.items())
    phone = next(e for e in batch.error_sample if e["row"] == 5)
    assert phone["value"] == "186730000012"  # the typed number, not 186730000012.0
    assert stored(resource) == before


def test_a_multi_sheet_xls_reads_the_first_sheet_unless_one_is_named(personas, resource):
    data = fixture("population_two_sheets.xls")
    first = load_file(personas.provider_admin, resource, data, "两表.xls")
    assert first.status == BatchStatus.APPLIED and first.inserted == 2
    assert stored(resource) == sorted(STORED[:2])
    named = load_file(
        personas.provider_admin, resource, data, "两表.xls", mapping={services.SHEET_KEY: "新增人口"}
    )
    assert named.status == BatchStatus.APPLIED and named.inserted == 1
    assert stored(resource) == sorted(STORED)
    missing = load_file(
        personas.provider_admin, resource, data, "两表.xls", mapping={services.SHEET_KEY: "无此表"}
    )
    assert missing.status == BatchStatus.REJECTED and "无此表" in missing.message
    assert stored(resource) == sorted(STORED)


# --- the same typed cells in XLSX and ODS -------------------------------------------------------------------------


def xlsx_typed() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in CLEAN:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("file_format", "make"),
    [("xlsx", xlsx_typed), ("ods", lambda: ods_bytes([HEADER, *[list(row) for row in CLEAN]]))],
)
def test_xlsx_and_ods_number_and_date_cells_read_as_typed(personas, resource, tmp_path, file_format, make):
    data = make()
    assert texts(tmp_path, data, file_format) == NUMBERED_TEXT
    batch = load_file(personas.provider_admin, resource, data, f"人口.{file_format}")
    assert batch.status == BatchStatus.APPLIED, (batch.message, batch.error_sample)
    assert stored(resource) == sorted(STORED)


def test_number_cells_show_what_a_spreadsheet_shows():
    assert readers_sheet.cell_text(13800000000.0) == "13800000000"
    assert readers_sheet.cell_text(1e-05) == "0.00001"  # no exponent: a number column would refuse "1e-05"
    assert readers_sheet.cell_text(-0.0) == "0"
    # An 18-digit ID typed into a number cell keeps Excel's 15 digits, not the double's noise (…011264).
    assert readers_sheet.cell_text(430623199001011237.0) == "430623199001011000"


# --- through the API ----------------------------------------------------------------------------------------------


def upload(client, resource, data: bytes, name: str, **fields):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(f"/api/v1/data/resources/{resource.pk}/uploads", data={"file": handle, **fields})


def test_xls_upload_through_the_api(
    personas, resource, client_for, immediate_tasks, django_capture_on_commit_callbacks
):
    client = client_for(personas.provider_admin)
    with django_capture_on_commit_callbacks(execute=True):
        bad = upload(client, resource, fixture("population_bad_rows.xls"), "有错.xls")
    assert bad.status_code == 202, bad.json()
    status = client.get(bad.json()["status_url"]).json()
    assert status["status"] == "rejected" and status["bad_rows"] == 2
    report = client.get(status["report_csv"])
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["3", "5"]
    assert stored(resource) == []

    with django_capture_on_commit_callbacks(execute=True):
        good = upload(
            client,
            resource,
            fixture("population_two_sheets.xls"),
            "两表.xls",
            mapping=json.dumps({services.SHEET_KEY: "新增人口"}),
        )
    assert client.get(good.json()["status_url"]).json()["status"] == "applied"
    assert stored(resource) == STORED[2:]
    with django_capture_on_commit_callbacks(execute=True):
        clean = upload(client, resource, fixture("population.xls"), "人口.xls")
    body = client.get(clean.json()["status_url"]).json()
    assert body["status"] == "applied" and body["inserted"] == 2
    assert stored(resource) == sorted(STORED)


def test_xls_upload_denials(personas, resource, client_for):
    data = fixture("population.xls")
    for user in (personas.consumer_user, personas.outsider, personas.authority):
        assert upload(client_for(user), resource, data, "人口.xls").status_code == 404, (
            user
        )  # not visible to load
    assert upload(client_for(personas.operator), resource, data, "人口.xls").status_code == 403
    assert upload(Client(), resource, data, "人口.xls").status_code == 401
    assert not Batch.objects.exists() and stored(resource) == []
