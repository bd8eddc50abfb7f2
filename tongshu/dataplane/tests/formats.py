"""Test files of every format: spreadsheets written with openpyxl or by hand (ODS, zip bombs), JSON, NDJSON, GBK CSV."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import openpyxl

from tongshu.catalog.models import InfoItem
from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.tests.factories import make_data_element

ITEMS = [
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("出生日期", "D", "D8", False, False, False),
]
HEADER = ["公民身份号码", "姓名", "出生日期"]
GOOD = [
    ["11010519491231002X", "张三", "1949-12-31"],
    ["430623199001011237", "李四", "1990-01-01"],
]


def population_resource(organization: Any, items: list[tuple[Any, ...]] | None = None) -> Any:
    resource = make_resource(organization, name="户籍人口基本信息", items=items or ITEMS)
    element = make_data_element("居民身份证号码", length="C18", check_rule="resident_id")
    # Published items are immutable through the ORM; bind the element as the catalog would have.
    InfoItem.objects.filter(version=resource.published_version, name="公民身份号码").update(
        data_element=element
    )
    return resource


def xlsx_bytes(rows: list[list[Any]], *, title: str = "Sheet1", extra_sheet: str | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        other = workbook.create_sheet(extra_sheet)
        other.append(["说明"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_cached_values(data: bytes, cached: dict[str, str]) -> bytes:
    """Give formula cells the cached value a spreadsheet program would have stored (openpyxl writes none)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                for formula, value in cached.items():
                    text = text.replace(f"<f>{formula}</f><v />", f"<f>{formula}</f><v>{value}</v>")
                content = text.encode()
            target.writestr(info, content)
    return out.getvalue()


def ods_cell(value: Any) -> str:
    """A cell as LibreOffice stores what was typed: text as a string, numbers as floats, dates as date values."""
    if isinstance(value, bool):
        kind, stored = "boolean", f'office:boolean-value="{str(value).lower()}"'
    elif isinstance(value, int | float):
        kind, stored = "float", f'office:value="{value!r}"'
    elif isinstance(value, dt.date):
        kind, stored = "date", f'office:date-value="{value.isoformat()}"'
    else:
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    return (
        f'<table:table-cell office:value-type="{kind}" {stored}><text:p>{value}</text:p></table:table-cell>'
    )


def ods_bytes(rows: list[list[Any]]) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice would read it."""
    body = "".join(
        "<table:table-row>" + "".join(ods_cell(cell) for cell in row) + "</table:table-row>" for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Sheet1">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return out.getvalue()


def zip_bomb_xlsx(inflated_mib: int = 4) -> bytes:
    """A small file whose sheet inflates to many MiB of zeros: the ratio alone gives it away."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (inflated_mib << 20))
    return out.getvalue()


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(row) for row in [HEADER, *rows]).encode(encoding) + b"\n"


TODAY = dt.date(2026, 3, 1)
