"""Reading an uploaded spreadsheet safely: only real XLSX files, within size limits, values only (no formulas run).

Before anything parses the workbook, the upload is checked as a zip: its size, its entry count, and the actual
uncompressed size of all entries (read with a running cap, so a zip bomb that lies in its headers is stopped after
the limit, not after filling memory). Only then does python-calamine read it; calamine returns the cached value of
a formula cell and never evaluates anything.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any

from django.conf import settings

from tongshu.core.errors import TooLarge, ValidationFailed

MAX_ENTRIES = 500
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # all entries together, as actually decompressed
MAX_ROWS = 100_000  # per sheet
REQUIRED_ENTRIES = ("[Content_Types].xml", "xl/workbook.xml")
_CHUNK = 1024 * 1024


def max_upload_bytes() -> int:
    return int(getattr(settings, "CATALOG_IMPORT_MAX_MB", 10)) * 1024 * 1024


def check_upload_size(size: int | None) -> None:
    limit = max_upload_bytes()
    if size is not None and size > limit:
        raise TooLarge(f"文件过大：上传的文件不能超过 {limit // (1024 * 1024)} MB", code="upload_too_large")


def _not_xlsx(detail: str = "") -> ValidationFailed:
    message = "文件不是有效的 XLSX 工作簿，请使用平台提供的模板并另存为 Excel 工作簿（.xlsx）"
    return ValidationFailed(f"{message}{detail}", code="not_xlsx")


def check_xlsx(data: bytes) -> None:
    """Refuse anything that is not a well-formed, reasonably sized XLSX package."""
    check_upload_size(len(data))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        # OLE compound file: an old .xls, or an encrypted workbook.
        raise _not_xlsx("（不支持 .xls 格式或加密的工作簿）")
    if not data.startswith(b"PK"):
        raise _not_xlsx()
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _not_xlsx() from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ValidationFailed("文件结构异常：压缩包内文件过多", code="xlsx_too_complex")
        names = {entry.filename for entry in entries}
        if not all(name in names for name in REQUIRED_ENTRIES):
            raise _not_xlsx()
        if any(entry.flag_bits & 0x1 for entry in entries):
            raise _not_xlsx("（不支持加密的工作簿）")
        declared = sum(entry.file_size for entry in entries)
        if declared > MAX_UNCOMPRESSED:
            raise _bomb()
        total = 0
        for entry in entries:
            try:
                with archive.open(entry) as stream:
                    while chunk := stream.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_UNCOMPRESSED:
                            raise _bomb()
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                raise _not_xlsx() from exc


def _bomb() -> TooLarge:
    return TooLarge("文件解压后过大或压缩比异常，已拒绝读取", code="xlsx_too_large")


@dataclass
class SheetRows:
    """The values of one sheet: rows[0] is spreadsheet row 1 (the header)."""

    name: str
    rows: list[list[Any]]


def read_sheets(data: bytes, wanted: list[str]) -> dict[str, SheetRows | None]:
    """The wanted sheets' cell values (None for a sheet the workbook lacks). Call `check_xlsx` first."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise _not_xlsx() from exc
    except Exception as exc:  # calamine raises its own exception types for damaged parts
        raise _not_xlsx() from exc
    found: dict[str, SheetRows | None] = {}
    with workbook:
        names = {name.strip(): name for name in workbook.sheet_names}
        for sheet in wanted:
            if sheet not in names:
                found[sheet] = None
                continue
            try:
                rows = workbook.get_sheet_by_name(names[sheet]).to_python(
                    skip_empty_area=False, nrows=MAX_ROWS + 2
                )
            except Exception as exc:
                raise _not_xlsx() from exc
            if len(rows) > MAX_ROWS + 1:
                raise TooLarge(f"“{sheet}”表超过 {MAX_ROWS} 行，请拆分后分批导入", code="too_many_rows")
            found[sheet] = SheetRows(sheet, rows)
    return found


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ".0", dates as ISO, booleans as 是/否, text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()
