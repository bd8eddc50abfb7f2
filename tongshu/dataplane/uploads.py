"""The upload journey around `services.submit_file`/`apply_batch`: the mapping step, progress, the rejected-rows report.

第十二条, 第十九条: a department loads its data by file; the mapping it confirms is remembered per resource so the next
upload of the same spreadsheet needs no mapping at all.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from tongshu.catalog.models import Resource
from tongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import permissions, progress, readers, services
from .models import Batch, BatchStatus, ResourceData
from .pipeline import REPORT_HEADER
from .schema import ResourceSchema

XLSX_MAX_ROWS = 1_048_575


def is_pending(batch: Batch) -> bool:
    return batch.status == BatchStatus.PENDING and batch.started_at is None


def source_header(batch: Batch) -> list[str]:
    """The file's column names (row 1 of a spreadsheet, the keys of the first records of JSON)."""
    if batch.file_format == "csv":
        with open(batch.file_path, "rb") as handle:
            return readers.read_csv(handle)[0]
    source: tuple[list[str], Iterator[pl.DataFrame]] = services.source_chunks(batch)
    header, chunks = source
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    return header


def suggested_mapping(
    header: list[str], schema: ResourceSchema, remembered: dict[str, str]
) -> dict[str, str]:
    """Source column → field, pre-filled from the remembered mapping, then item names, then field names."""
    fields = {column.field_name for column in schema.columns}
    by_label = {column.label: column.field_name for column in schema.columns}
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for name in header:
        target = remembered.get(name) or by_label.get(name) or (name if name in fields else "")
        if target in fields and target not in taken:
            mapping[name] = target
            taken.add(target)
        else:
            mapping[name] = ""
    return mapping


def clean_mapping(mapping: dict[str, Any], schema: ResourceSchema) -> dict[str, str]:
    """Keep non-empty entries; every target must be an item of the resource and used once; the key items mapped."""
    fields = {column.field_name for column in schema.columns}
    cleaned: dict[str, str] = {}
    for source, target in (mapping or {}).items():
        if source == services.SHEET_KEY:
            if target:
                cleaned[source] = str(target)
            continue
        if not target:
            continue
        if not isinstance(target, str) or target not in fields:
            raise ValidationFailed(
                f"列“{source}”对应的信息项不存在：{target}", code="invalid_mapping", field="mapping"
            )
        if target in cleaned.values():
            label = schema.column(target).label
            raise ValidationFailed(f"信息项“{label}”被多个列对应", code="invalid_mapping", field="mapping")
        cleaned[str(source)] = target
    return cleaned


def remember_mapping(resource: Resource, mapping: dict[str, str]) -> None:
    data = services.resource_data(resource)
    remembered = {**data.column_mapping, **{k: v for k, v in mapping.items() if k != services.SHEET_KEY}}
    ResourceData.objects.filter(pk=data.pk).update(column_mapping=remembered)


def confirm_mapping(actor: Any, batch: Batch, mapping: dict[str, Any]) -> Batch:
    """The loader confirms how the file's columns map to info items; the mapping is remembered for the resource."""
    resource = batch.resource
    if not permissions.can_load_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以加载数据", code="forbidden")
    if not is_pending(batch):
        raise ValidationFailed("该批次已开始处理，不能再修改列对应关系", code="batch_not_pending")
    schema = services.published_schema(resource)
    cleaned = clean_mapping(mapping, schema)
    missing = [schema.column(k).label for k in schema.key_fields if k not in cleaned.values()]
    if missing:
        raise ValidationFailed(
            f"必须为主键信息项指定列：{'、'.join(missing)}", code="missing_key_column", field="mapping"
        )
    with transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(column_mapping=cleaned)
        remember_mapping(resource, cleaned)
        record(
            "batch.mapping_confirmed",
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            organization=resource.provider,
            target=batch,
            details={"mapping": cleaned},
        )
    batch.refresh_from_db()
    return batch


def enqueue(batch: Batch) -> None:
    """Hand the batch to a worker (django-tasks); `apply_batch` is idempotent, so a retried task does no harm."""
    from .tasks import apply_batch_task

    batch_id = batch.pk
    transaction.on_commit(lambda: apply_batch_task.enqueue(batch_id))


# --- reading batches ----------------------------------------------------------------------------------------------


def batches_of(actor: Any, resource: Resource) -> QuerySet[Batch]:
    if not permissions.can_view_batches(actor, resource):
        raise NotFound("信息资源不存在或无权查看其批次", code="resource_not_found")
    return Batch.objects.filter(resource=resource).select_related("submitted_by", "submitted_by_key")


def estimated_progress(batch: Batch) -> int | None:
    """Percent of a running batch's rows read (see `progress`), 100 when finished, None when unknown."""
    return progress.estimated_progress(batch)


def report_rows(batch: Batch) -> Iterator[list[str]]:
    """Every reported problem (row, item, field, value, code, reason, severity): from the full report file when the
    pipeline wrote one, else from the batch's sample (file-level rejections such as ragged rows)."""
    path = Path(batch.report_path) if batch.report_path else None
    if path is not None and path.exists():
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            yield from reader
        return
    for error in batch.error_sample:
        yield [
            str(error.get(k, "")) for k in ("row", "label", "field", "value", "code", "reason", "severity")
        ]


def report_csv(batch: Batch) -> Iterator[bytes]:
    yield b"\xef\xbb\xbf"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_HEADER)
    for count, row in enumerate(report_rows(batch), start=1):
        writer.writerow(row)
        if count % 5000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def report_xlsx(batch: Batch) -> Path:
    """The report as an XLSX file, written in openpyxl's write-only mode (rows go straight to disk)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("问题报告")
    sheet.append(REPORT_HEADER)
    for count, row in enumerate(report_rows(batch), start=1):
        if count > XLSX_MAX_ROWS:
            break
        sheet.append([int(row[0]) if row and row[0].isdigit() else row[0], *row[1:]])
    directory = Path(settings.VAR_DIR) / "reports"
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=f"batch-{batch.pk}-", suffix=".xlsx")
    os.close(descriptor)
    workbook.save(name)
    return Path(name)
