"""Reading the tables operators upload (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030; XLSX via python-calamine) and
writing XLSX (openpyxl). Rows come back as lists of stripped strings with their spreadsheet row number (header = 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tongshu.core.errors import TooLarge, ValidationFailed

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells)


def _cell(value: Any) -> str:
    """A spreadsheet cell as text: whole numbers lose the '.0' a spreadsheet gives them, dates print as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK, which Chinese Excel writes)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV 文件", code="bad_encoding")


def _csv_rows(content: bytes) -> list[list[str]]:
    text = decode_text(content)
    first_line = text.split("\n", 1)[0]
    dialect: Any = csv.excel_tab if "\t" in first_line and "," not in first_line else csv.excel
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _xlsx_rows(content: bytes, sheet: str | None = None) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = workbook.sheet_names
        name = sheet if sheet in names else names[0]
        data = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise ValidationFailed("无法读取该 Excel 文件，请确认是有效的 .xlsx 文件", code="bad_file") from exc
    return [[_cell(value) for value in row] for row in data]


def read_table(content: bytes, filename: str, *, sheet: str | None = None) -> Table:
    """The first sheet (or `sheet`) of an XLSX file, or a CSV file; fully empty rows are dropped."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
    if not content:
        raise ValidationFailed("文件为空", code="empty_file")
    lower = filename.lower()
    if content.startswith(XLSX_MAGIC) or lower.endswith((".xlsx", ".xlsm")):
        raw = _xlsx_rows(content, sheet)
    elif lower.endswith((".xls", ".et")):
        raise ValidationFailed("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV", code="bad_file")
    else:
        raw = _csv_rows(content)
    numbered = [(number, row) for number, row in enumerate(raw, start=1) if any(cell for cell in row)]
    if not numbered:
        raise ValidationFailed("文件中没有内容", code="empty_file")
    if len(numbered) > MAX_ROWS + 1:
        raise TooLarge(f"文件超过 {MAX_ROWS} 行")
    _, header = numbered[0]
    return Table(header=[cell.strip().lower() for cell in header], rows=numbered[1:])


def column_index(header: list[str], aliases: Iterable[str]) -> int | None:
    for alias in aliases:
        if alias in header:
            return header.index(alias)
    return None


def cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def write_xlsx(sheet_title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = sheet_title
    sheet.append(header)
    for cell_ in sheet[1]:
        cell_.font = Font(bold=True)
    for row in rows:
        # Codes are written as text so that leading zeros survive a round trip through Excel.
        sheet.append([str(value) if value is not None else "" for value in row])
    for column, width in zip("ABCDEFGH", (16, 40, 16, 16, 16, 16, 16, 16), strict=False):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
