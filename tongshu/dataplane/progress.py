"""How far a running batch has got: the rows its file holds, estimated once per batch without reading the file
whole, against the rows the pipeline has read so far (`Batch.rows_read`, written as chunks go by).

- CSV and NDJSON: the file's size over the bytes per row of its first 64 KiB;
- JSON (an array of objects): the same, counting the objects the first 64 KiB holds;
- XLSX: the sheet's `<dimension ref="A1:K5001">`, which spreadsheet programs write at the head of the sheet (a small
  file without it is parsed, as below);
- XLS and ODS (no such hint): the sheet's height by python-calamine, for files up to a few MB only — above that
  the page shows the rows read without a percentage.

Estimates are kept in the cache for the batch's life, so a page polling every second reads the file once.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from django.core.cache import cache

from .models import Batch, BatchStatus

SAMPLE_BYTES = 64 << 10
SHEET_PARSE_MAX_BYTES = 5 << 20  # XLS/ODS larger than this are not parsed by the web process to estimate
CACHE_SECONDS = 6 * 3600
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')


def _head(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(SAMPLE_BYTES)


def _lines_rows(batch: Batch, *, header_line: bool) -> int | None:
    head = _head(batch.file_path)
    lines = head.count(b"\n")
    if lines < 2:
        return None
    rows = int(batch.file_size / (len(head) / lines))
    return rows - 1 if header_line else rows


def _json_objects(head: bytes) -> int:
    """Objects that end at depth 1 (the elements of the top-level array) in a prefix of a JSON text."""
    depth = count = 0
    in_string = escaped = False
    for byte in head:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
            if depth == 1 and byte == 0x7D:
                count += 1
    return count


def _json_rows(batch: Batch) -> int | None:
    head = _head(batch.file_path)
    objects = _json_objects(head)
    if objects < 1:
        return None
    if len(head) >= batch.file_size:
        return objects
    return int(batch.file_size / (len(head) / objects))


def _xlsx_rows(batch: Batch, sheet_name: str | None) -> int | None:
    from .readers_sheet import sheet_part

    with zipfile.ZipFile(batch.file_path) as archive:
        part = sheet_part(archive, sheet_name)
        if part is None:
            return None
        with archive.open(part) as handle:
            head = handle.read(4096)
    match = _DIMENSION.search(head)
    if match is None or match.group(1) is None:
        return None
    return int(match.group(1)) - 1  # row 1 is the header


def _parsed_sheet_rows(batch: Batch, sheet_name: str | None) -> int | None:
    if batch.file_size > SHEET_PARSE_MAX_BYTES:
        return None
    import python_calamine as calamine

    workbook = calamine.CalamineWorkbook.from_path(batch.file_path)
    try:
        sheet = workbook.get_sheet_by_name(sheet_name) if sheet_name else workbook.get_sheet_by_index(0)
        return int(sheet.height) - 1
    finally:
        workbook.close()


def estimated_rows(batch: Batch) -> int | None:
    """The records the batch's file holds (estimated), or None when it cannot be told cheaply."""
    from .services import SHEET_KEY

    key = f"dataplane:batch-rows:{batch.pk}:{batch.file_size}:{Path(batch.file_path).name}"
    cached = cache.get(key)
    if cached is not None:
        return int(cached) or None
    sheet_name = (batch.column_mapping or {}).get(SHEET_KEY) or None
    rows: int | None = None
    if batch.file_path and Path(batch.file_path).exists() and batch.file_size:
        readers: dict[str, Any] = {
            "csv": lambda: _lines_rows(batch, header_line=True),
            "ndjson": lambda: _lines_rows(batch, header_line=False),
            "json": lambda: _json_rows(batch),
            "xlsx": lambda: _xlsx_rows(batch, sheet_name) or _parsed_sheet_rows(batch, sheet_name),
            "xls": lambda: _parsed_sheet_rows(batch, sheet_name),
            "ods": lambda: _parsed_sheet_rows(batch, sheet_name),
        }
        reader = readers.get(batch.file_format)
        try:
            rows = reader() if reader is not None else None
        except Exception:  # noqa: BLE001 - an estimate only: a file the reader will reject has none
            rows = None
    rows = rows if rows and rows > 0 else None
    cache.set(key, rows or 0, CACHE_SECONDS)
    return rows


def estimated_progress(batch: Batch) -> int | None:
    """Percent of the batch's rows read: 100 when finished, None while waiting or when the size is unknown."""
    if batch.is_finished:
        return 100
    if batch.status != BatchStatus.RUNNING:
        return None
    total = estimated_rows(batch)
    if not total:
        return None
    return max(1, min(99, int(batch.rows_read * 100 / total)))
