"""Downloads of a resource's data (issue 5 item 6): CSV (UTF-8 with BOM, for Excel users), XLSX and JSON, streamed.

Rows come from `store.iter_pages` (keyset pages of 10,000 on `_rid`), are masked as the pages show them unless the
user may reveal and asked for the original values with a reason, and are turned into bytes page by page, so a download
of any size holds one page in memory. XLSX is a zip file and cannot be produced front to back: openpyxl's write-only
workbook streams the rows into a temporary file, which is then sent in chunks and removed. Every download is audited.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import evolution, permissions, store
from .masking import mask_row, masked_fields
from .models import Batch, BatchStatus
from .schema import ResourceSchema

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json; charset=utf-8",
}
PAGE_SIZE = 10_000
CHUNK = 1 << 16
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Download:
    schema: ResourceSchema
    file_format: str
    masked: dict[str, str]
    file_name: str
    as_of_batch: int | None = None
    page_size: int = PAGE_SIZE

    @property
    def content_type(self) -> str:
        return FORMATS[self.file_format]

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        for page in store.iter_pages(self.schema, as_of_batch=self.as_of_batch, page_size=self.page_size):
            yield [mask_row(row, self.masked) for row in page]

    def chunks(self) -> Iterator[bytes]:
        return {"csv": csv_chunks, "json": json_chunks, "xlsx": xlsx_chunks}[self.file_format](self)


def start_download(
    actor: Any,
    resource: Any,
    file_format: str,
    *,
    unmasked: bool = False,
    reason: str = "",
    as_of_batch: int | None = None,
    request: Any = None,
) -> Download:
    """Check the right, decide what is masked, write the audit entry; the caller streams `download.chunks()`."""
    if not permissions.can_browse_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的工作人员可以下载本资源的数据", code="forbidden")
    if file_format not in FORMATS:
        raise ValidationFailed("不支持的下载格式", code="invalid_format", field="format")
    if resource.published_version is None:
        raise ValidationFailed("该信息资源尚未发布", code="resource_not_published")
    if (
        as_of_batch is not None
        and not Batch.objects.filter(pk=as_of_batch, resource=resource, status=BatchStatus.APPLIED).exists()
    ):
        raise ValidationFailed("所选批次不存在或未加载成功", code="invalid_batch", field="as_of")
    schema = evolution.read_schema(resource)
    masked = masked_fields(schema)
    reason = (reason or "").strip()
    if unmasked:
        if not permissions.can_reveal_data(actor, resource):
            raise PermissionDenied(
                "只有资源提供部门的数据管理员或首席数据官可以下载敏感项原文", code="forbidden"
            )
        if len(reason) < 2:
            raise ValidationFailed("下载敏感项原文须填写事由", code="reason_required", field="reason")
        masked = {}
    record(
        "dataplane.data_downloaded",
        actor=actor,
        organization=resource.provider,
        target=resource,
        request=request,
        details={
            "resource": resource.code,
            "format": file_format,
            "unmasked": unmasked,
            "masked_fields": sorted(masked),
            "reason": reason[:500],
            "as_of_batch": as_of_batch,
        },
    )
    stamp = f"-批次{as_of_batch}" if as_of_batch else ""
    name = f"{resource.code or resource.pk}-{resource.published_version.name}{stamp}.{file_format}".replace(
        "/", "-"
    )
    return Download(schema, file_format, masked, name, as_of_batch)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    return str(value)


def _safe_cell(value: str) -> str:
    """A text cell that a spreadsheet would run as a formula is prefixed with an apostrophe (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_chunks(download: Download) -> Iterator[bytes]:
    names = [column.field_name for column in download.schema.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in download.schema.columns])
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    for page in download.pages():
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [
                [_safe_cell(v) if isinstance(v, str) else _text(v) for v in (row.get(n) for n in names)]
                for row in page
            ]
        )
        yield buffer.getvalue().encode()


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime | Decimal):
        return str(value)
    return value


def json_chunks(download: Download) -> Iterator[bytes]:
    names = [column.field_name for column in download.schema.columns]
    yield b"["
    first = True
    for page in download.pages():
        parts = [json.dumps({n: _json_value(row.get(n)) for n in names}, ensure_ascii=False) for row in page]
        if parts:
            yield (("\n" if first else ",\n") + ",\n".join(parts)).encode()
            first = False
    yield b"\n]\n"


def xlsx_chunks(download: Download) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    names = [column.field_name for column in download.schema.columns]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="数据")
    sheet.append([column.label for column in download.schema.columns])
    for page in download.pages():
        for row in page:
            cells = []
            for name in names:
                value = row.get(name)
                if isinstance(value, Decimal):
                    value = float(value) if abs(value) < Decimal(10) ** 15 else str(value)
                elif isinstance(value, str) and value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # text, never a formula
                    value = cell
                cells.append(value)
            sheet.append(cells)
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)
