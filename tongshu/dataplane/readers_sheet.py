"""Reading spreadsheets (XLSX, XLS, ODS) as string chunks with the spreadsheet's own row numbers in `_row`.

python-calamine reads the cells' cached values and never evaluates a formula. Every value becomes the text a person
typed into the cell, whatever the format (XLSX, XLS, ODS) stores: date cells (date serials in XLSX and XLS) as ISO
dates, date-time cells as `YYYY-MM-DD hh:mm:ss` (calamine gives a date-time cell at midnight as a date), numbers
(doubles in XLS and XLSX) written out without binary float noise or an exponent and with at most the 15 significant
digits a spreadsheet keeps (a phone number 13800000000.0 → "13800000000", 0.30000000000000004 → "0.3", 1e-05 →
"0.00001", an 18-digit number typed into a number cell → the 15 digits Excel kept, then zeros), booleans as
TRUE/FALSE. Percentages and currencies are their values (15% → "0.15"). Row 1 is the header; the first sheet is read
unless the upload names one.

Before calamine opens a zip-based file (XLSX, ODS) its central directory is checked (entry count, total uncompressed
size, compression ratio), so a zip bomb disguised as a spreadsheet is refused before anything is inflated. An XLSX
formula cell that has no cached value (a file written by a program that never calculated it) is reported, with its
row, instead of being read as an empty cell.

That check parses the sheet XML with the standard library: ElementTree never fetches external entities, and the
bundled Expat (≥ 2.4.1) refuses entity-expansion attacks (billion laughs), so defusedxml adds nothing here.
"""

from __future__ import annotations

import datetime as dt
import math
import posixpath
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict
from xml.etree import ElementTree

import polars as pl
import python_calamine as calamine
from django.conf import settings

from tongshu.core.errors import ValidationFailed

ROW = "_row"
CHUNK_ROWS = 50_000
SHEET_FORMATS = frozenset({"xlsx", "xls", "ods"})
ZIP_FORMATS = frozenset({"xlsx", "ods"})
DEFAULT_ZIP_LIMITS = {"max_entries": 10_000, "max_uncompressed_mb": 2048, "max_ratio": 200}
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def bad_spreadsheet(message: str, code: str = "bad_spreadsheet") -> ValidationFailed:
    return ValidationFailed(message, code=code)


class FormulaCell(TypedDict):
    """A formula cell without a cached value: its reference (e.g. "C7") and row number."""

    cell: str
    row: int


class MissingFormulaValues(ValidationFailed):
    """Formula cells without a cached value: `details` lists them (`FormulaCell`: cell reference and row)."""

    code = "formula_without_value"


def zip_limits() -> dict[str, int]:
    return {**DEFAULT_ZIP_LIMITS, **getattr(settings, "DATAPLANE_SPREADSHEET_ZIP_LIMITS", {})}


def check_zip(path: str | Path) -> None:
    """Refuse a zip whose central directory promises too many entries, too many bytes or an absurd ratio.

    Only the directory is read: nothing is inflated. Ordinary workbooks compress 5–30×; a bomb compresses 1000×.
    """
    limits = zip_limits()
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise bad_spreadsheet("文件不是有效的 XLSX/ODS 表格（无法读取其压缩结构）") from exc
    if len(entries) > limits["max_entries"]:
        raise bad_spreadsheet(
            f"表格文件包含的内部文件过多（{len(entries)} 个），疑似异常文件，已拒绝", code="zip_bomb"
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits["max_uncompressed_mb"] * 1024 * 1024:
        raise bad_spreadsheet(
            f"表格文件解压后过大（超过 {limits['max_uncompressed_mb']} MB），疑似压缩炸弹，已拒绝",
            code="zip_bomb",
        )
    for entry in entries:
        # Tiny entries may compress extremely well without harm; judge ratios only past 1 MiB.
        if entry.file_size > (1 << 20) and entry.file_size > limits["max_ratio"] * max(
            entry.compress_size, 1
        ):
            raise bad_spreadsheet("表格文件的压缩比异常（疑似压缩炸弹），已拒绝", code="zip_bomb")


def cell_text(value: Any) -> str:
    """The text a spreadsheet shows for a cached cell value."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"  # not "-0"
        return format(Decimal(format(value, ".15g")), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


def _sheet(workbook: Any, sheet_name: str | None) -> Any:
    try:
        if sheet_name:
            return workbook.get_sheet_by_name(sheet_name)
        return workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own error types per problem
        if sheet_name:
            names = "、".join(f"“{name}”" for name in getattr(workbook, "sheet_names", None) or [])
            raise ValidationFailed(
                f"表格中没有名为“{sheet_name}”的工作表" + (f"；现有工作表：{names}" if names else ""),
                code="sheet_not_found",
            ) from exc
        raise bad_spreadsheet("表格中没有可读取的工作表") from exc


def _xlsx_sheet_part(archive: zipfile.ZipFile, sheet_name: str | None) -> str | None:
    """The zip path of a sheet's XML (the first sheet when no name is given)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314 (see module note)
    sheets = workbook.findall(f"{_MAIN}sheets/{_MAIN}sheet")
    chosen = next((s for s in sheets if not sheet_name or s.get("name") == sheet_name), None)
    if chosen is None:
        return None
    rel_id = chosen.get(f"{_REL}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    for rel in rels.findall(f"{_PKG_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    return None


def sheet_part(archive: zipfile.ZipFile, sheet_name: str | None) -> str | None:
    """The zip path of an XLSX sheet's XML, if the workbook has that sheet and its part."""
    part = _xlsx_sheet_part(archive, sheet_name)
    return part if part is not None and part in archive.namelist() else None


def formulas_without_values(
    path: str | Path, sheet_name: str | None = None, limit: int = 200
) -> list[FormulaCell]:
    """XLSX formula cells (`<c><f>…</f></c>`) that carry no cached value (`<v>`): calamine would read them as
    empty. Streamed with iterparse, so a large sheet is not held in memory."""
    found: list[FormulaCell] = []
    try:
        with zipfile.ZipFile(path) as archive:
            part = _xlsx_sheet_part(archive, sheet_name)
            if part is None or part not in archive.namelist():
                return found
            with archive.open(part) as handle:
                for _event, element in ElementTree.iterparse(handle):  # noqa: S314
                    if element.tag != f"{_MAIN}c":
                        if element.tag == f"{_MAIN}row":
                            element.clear()
                        continue
                    formula = element.find(f"{_MAIN}f")
                    value = element.find(f"{_MAIN}v")
                    inline = element.find(f"{_MAIN}is")
                    # openpyxl and some exporters write an empty <v/>; only a string result may be empty.
                    has_value = inline is not None or (
                        value is not None and (bool(value.text) or element.get("t") == "str")
                    )
                    if formula is not None and not has_value:
                        reference = element.get("r", "")
                        digits = "".join(ch for ch in reference if ch.isdigit())
                        found.append({"cell": reference, "row": int(digits) if digits else 0})
                        if len(found) >= limit:
                            break
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile) as exc:
        raise bad_spreadsheet("XLSX 文件内部结构损坏，无法读取") from exc
    return found


def read_sheet(
    path: str | Path, file_format: str, *, sheet_name: str | None = None, chunk_rows: int | None = None
) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """The header (row 1) and string chunks of the first sheet, or of the named one."""
    size = chunk_rows or CHUNK_ROWS
    if file_format in ZIP_FORMATS:
        check_zip(path)
    if file_format == "xlsx":
        missing = formulas_without_values(path, sheet_name)
        if missing:
            cells = "、".join(m["cell"] for m in missing[:10])
            raise MissingFormulaValues(
                f"表格中有 {len(missing)} 个公式单元格没有计算结果（如 {cells}）：请在表格软件中打开并保存后再上传，"
                "平台不会计算公式",
                details=missing,
            )
    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # CalamineError, ZipError, XmlError, PasswordError …
        raise bad_spreadsheet("无法读取表格文件：文件已损坏、加密或不是所声明的格式") from exc
    sheet = _sheet(workbook, sheet_name)
    first_row = sheet.start[0] + 1 if sheet.start else 1
    rows = sheet.iter_rows()
    header_cells = next(rows, None)
    if header_cells is None:
        raise ValidationFailed("表格为空或缺少表头行", code="empty_file")
    header = [cell_text(value).strip() for value in header_cells]
    while header and not header[-1]:
        header.pop()
    if not header or any(not name for name in header):
        raise ValidationFailed("表头（第 1 行）中有空白的列名", code="empty_header")
    if len(set(header)) != len(header):
        raise ValidationFailed("表头中有重复的列名", code="duplicate_header")
    width = len(header)

    def chunks() -> Iterator[pl.DataFrame]:
        columns: list[list[str]] = [[] for _ in range(width)]
        numbers: list[int] = []
        number = first_row
        for cells in rows:
            number += 1
            texts = [cell_text(value) for value in cells[:width]]
            if not any(texts) and not any(cell_text(v) for v in cells[width:]):
                continue  # an empty row (often formatted but blank) is not a record
            if len(texts) < width:
                texts.extend([""] * (width - len(texts)))
            for index, text in enumerate(texts):
                columns[index].append(text)
            numbers.append(number)
            if len(numbers) >= size:
                yield _frame(header, columns, numbers)
                columns, numbers = [[] for _ in range(width)], []
        if numbers:
            yield _frame(header, columns, numbers)
        workbook.close()

    return header, chunks()


def _frame(header: list[str], columns: list[list[str]], numbers: list[int]) -> pl.DataFrame:
    data: dict[str, Any] = {
        name: pl.Series(name, values, dtype=pl.String) for name, values in zip(header, columns, strict=True)
    }
    data[ROW] = pl.Series(ROW, numbers, dtype=pl.Int64)
    return pl.DataFrame(data)
