"""Loading data into a resource (第十二条, 第十九条, 第二十二条): submit a batch, apply it, recover after a crash.

Every way in ends in `apply_batch`, which runs the one pipeline (readers → validation → store) and records the result.
The data plane records each applied batch in the same transaction as its rows, so after a crash the control plane's
status is reconciled from it: a batch is never applied twice and never half-applied.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongshu.catalog.models import Resource
from tongshu.core.errors import Conflict, NotFound, PermissionDenied, TooLarge, ValidationFailed
from tongshu.quality.rules import rules_for_resource
from tongshu.security.audit import record

from . import indexing, permissions, pipeline, readers, readers_json, readers_sheet, store
from .models import Batch, BatchMode, BatchSource, BatchStatus, ResourceData
from .schema import ResourceSchema, schema_for_version
from .signals import batch_applied

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".ods": "ods",
}


def upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_dir() -> Path:
    path = Path(settings.VAR_DIR) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def published_schema(resource: Resource) -> ResourceSchema:
    if resource.published_version is None or resource.is_retired:
        raise ValidationFailed("只有已发布的信息资源可以加载数据", code="resource_not_published")
    return schema_for_version(resource.published_version)


def resource_data(resource: Resource) -> ResourceData:
    data, _created = ResourceData.objects.get_or_create(resource=resource)
    return data


def _check_loader(actor: Any, resource: Resource) -> None:
    if not permissions.can_load_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以加载数据", code="forbidden")


def _format_of(name: str) -> str:
    suffix = Path(name or "").suffix.lower()
    if suffix not in FORMATS:
        raise ValidationFailed(
            "不支持的文件格式：请上传 CSV、XLSX、XLS、ODS、JSON 或 NDJSON 文件", code="unsupported_format"
        )
    return FORMATS[suffix]


def _limit_bytes(file_format: str) -> int:
    limits = settings.DATAPLANE_UPLOAD_LIMITS_MB
    return int(limits.get(file_format, limits["default"])) * 1024 * 1024


def submit_file(
    actor: Any,
    resource: Resource,
    stream: BinaryIO,
    *,
    file_name: str,
    mode: str = BatchMode.UPSERT,
    mapping: dict[str, str] | None = None,
    idempotency_key: str = "",
    source: str = BatchSource.UPLOAD,
) -> Batch:
    """Store an uploaded file and create its batch (applied by a task, or at once by `apply_batch`)."""
    _check_loader(actor, resource)
    published_schema(resource)
    if mode not in BatchMode.values:
        raise ValidationFailed("加载方式无效", code="invalid_mode", field="mode")
    file_format = _format_of(file_name)
    limit = _limit_bytes(file_format)
    digest = hashlib.sha256()
    target = (
        upload_dir()
        / f"incoming-{hashlib.sha256(f'{resource.pk}{timezone.now().timestamp()}{file_name}'.encode()).hexdigest()[:16]}"
    )
    size = 0
    with open(target, "wb") as handle:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > limit:
                handle.close()
                target.unlink(missing_ok=True)
                raise TooLarge(
                    f"文件超过上传限制（{file_format.upper()} 最大 {limit // (1024 * 1024)} MB）",
                    code="file_too_large",
                )
            digest.update(chunk)
            handle.write(chunk)
    if size == 0:
        target.unlink(missing_ok=True)
        raise ValidationFailed("文件为空", code="empty_file")
    content_hash = digest.hexdigest()
    try:
        with transaction.atomic():
            batch = Batch.objects.create(
                resource=resource,
                source=source,
                mode=mode,
                idempotency_key=idempotency_key,
                content_hash=content_hash,
                file_name=file_name[:255],
                file_format=file_format,
                file_size=size,
                column_mapping=mapping or resource_data(resource).column_mapping,
                submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
                submitted_by_key=actor if getattr(actor, "prefix", None) else None,
            )
            final = upload_dir() / f"batch-{batch.pk}.{file_format}"
            target.rename(final)
            batch.file_path = str(final)
            batch.save(update_fields=["file_path"])
            record(
                "batch.submitted",
                actor=actor if getattr(actor, "pk", None) and not getattr(actor, "prefix", None) else None,
                organization=resource.provider,
                target=batch,
                details={
                    "resource": resource.code,
                    "file": file_name,
                    "size": size,
                    "mode": mode,
                    "source": source,
                },
            )
    except IntegrityError:
        target.unlink(missing_ok=True)
        existing = Batch.objects.get(resource=resource, idempotency_key=idempotency_key)
        if existing.content_hash != content_hash:
            raise Conflict("同一幂等键已用于不同内容的批次", code="idempotency_conflict") from None
        return existing
    return batch


def _chunks_for(batch: Batch, schema: ResourceSchema):  # type: ignore[no-untyped-def]
    """The batch's file as mapped string chunks, whatever its format; read progress is recorded on the batch."""
    header, chunks = source_chunks(batch)
    mapping = _resolve_mapping(header, schema, batch.column_mapping)
    if batch.file_format in ("json", "ndjson"):
        # Keys a record first shows after the first chunk still map, by the same rules as the header's.
        mapping = _extend_mapping(mapping, schema, batch.column_mapping)
    return pipeline.map_columns(chunks, mapping, schema)


def source_chunks(batch: Batch):  # type: ignore[no-untyped-def]
    """The header and string chunks of a batch's stored file, by its format."""
    path = Path(batch.file_path)
    if batch.file_format == "csv":
        return readers.read_csv(path)
    if batch.file_format in readers_sheet.SHEET_FORMATS:
        return readers_sheet.read_sheet(
            path, batch.file_format, sheet_name=batch.column_mapping.get(SHEET_KEY)
        )
    if batch.file_format in ("json", "ndjson"):
        return readers_json.read_json(path, lines=batch.file_format == "ndjson")
    raise ValidationFailed("不支持的文件格式", code="unsupported_format")


SHEET_KEY = "__sheet__"  # a mapping entry naming the worksheet to read (the first one otherwise)
PROGRESS_EVERY_ROWS = 100_000


def _progress(batch_id: int) -> Callable[[int], None]:
    """A recorder of the rows read so far: writes `Batch.rows_read` after the first chunk and then at most every
    ~100k rows (the upload page's progress bar polls it)."""
    written = 0

    def record(read: int) -> None:
        nonlocal written
        if written == 0 or read - written >= PROGRESS_EVERY_ROWS:
            Batch.objects.filter(pk=batch_id).update(rows_read=read)
            written = read

    return record


def _extend_mapping(
    mapping: dict[str, str], schema: ResourceSchema, remembered: dict[str, str]
) -> dict[str, str]:
    extended = dict(mapping)
    taken = set(mapping.values())
    candidates = [*remembered.items()]
    candidates += [(column.label, column.field_name) for column in schema.columns]
    candidates += [(column.field_name, column.field_name) for column in schema.columns]
    for source, target in candidates:
        if source not in extended and target not in taken and source != SHEET_KEY:
            extended[source] = target
            taken.add(target)
    return extended


def _resolve_mapping(header: list[str], schema: ResourceSchema, remembered: dict[str, str]) -> dict[str, str]:
    """Source column → field: the remembered mapping first, then the item's Chinese name or its field name."""
    fields = {column.field_name for column in schema.columns}
    by_label = {column.label: column.field_name for column in schema.columns}
    mapping: dict[str, str] = {}
    for name in header:
        target = remembered.get(name) or by_label.get(name) or (name if name in fields else None)
        if target in fields and target not in mapping.values():
            mapping[name] = target
    missing_keys = [schema.column(k).label for k in schema.key_fields if k not in mapping.values()]
    if missing_keys:
        raise ValidationFailed(f"文件缺少主键列：{'、'.join(missing_keys)}", code="missing_key_column")
    if not mapping:
        raise ValidationFailed("文件中没有任何列能对应到本资源的信息项", code="no_matching_columns")
    return mapping


def apply_batch(batch_id: int) -> Batch:
    """Run the pipeline for a pending batch. Safe to call again: an applied batch is only reconciled, never redone."""
    batch = Batch.objects.select_related("resource", "resource__published_version", "resource__provider").get(
        pk=batch_id
    )
    marker = store.applied_batch(batch.pk)
    if marker is not None:
        return _finish(
            batch,
            BatchStatus.APPLIED,
            inserted=marker["inserted"],
            updated=marker["updated"],
            retired=marker["retired"],
        )
    if batch.is_finished:
        return batch
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, started_at=timezone.now())
    resource = batch.resource
    try:
        schema = published_schema(resource)
        rules = rules_for_resource(resource, schema)
        result = pipeline.run_pipeline(
            schema,
            _chunks_for(batch, schema),
            batch_id=batch.pk,
            mode=batch.mode,
            policy=resource_data(resource).bad_row_policy,
            rules=rules.column + rules.cross,
            checks=rules.references,
            report_path=report_dir() / f"batch-{batch.pk}.csv",
            progress=_progress(batch.pk),
        )
    except readers.RaggedRows:
        ragged = readers.ragged_rows(batch.file_path)
        sample = [
            {
                "row": r["row"],
                "field": "",
                "label": "",
                "value": "",
                "code": "ragged_row",
                "reason": f"列数与表头不一致（应为 {r['expected']} 列，实际 {r['actual']} 列）",
                "severity": "error",
            }
            for r in ragged[:200]
        ]
        return _finish(
            batch,
            BatchStatus.REJECTED,
            bad_rows=len(ragged),
            error_sample=sample,
            message="文件中有列数与表头不一致的行，整批未加载",
        )
    except ValidationFailed as exc:
        return _finish(batch, BatchStatus.REJECTED, message=exc.message)
    if result.status == "applied":
        data = resource_data(resource)
        data.last_loaded_at = timezone.now()
        # A first load (indexes pending) filled an empty table: no need to count it.
        data.row_count = (
            result.summary.inserted if result.summary.indexes_pending else store.count_rows(schema)
        )
        data.schema_version = resource.published_version.number  # type: ignore[union-attr]
        data.save()
        ResourceData.objects.filter(pk=data.pk).update(last_batch=batch)
        if result.summary.indexes_pending:
            transaction.on_commit(lambda: indexing.build_query_indexes.enqueue(resource.pk))
    finished = _finish(
        batch,
        BatchStatus.APPLIED if result.status == "applied" else BatchStatus.REJECTED,
        rows_read=result.total_rows,
        inserted=result.summary.inserted,
        updated=result.summary.updated,
        retired=result.summary.retired,
        bad_rows=result.bad_rows,
        warnings=result.warnings,
        error_sample=result.errors_sample,
        report_path=str(result.report_path or ""),
        message="" if result.status == "applied" else "批次中有不合格的行，整批未加载（详见问题报告）",
    )
    return finished  # _finish sent batch_applied if it was applied


def _finish(batch: Batch, status: str, **fields: Any) -> Batch:
    fields.setdefault("finished_at", timezone.now())
    newly_applied = status == BatchStatus.APPLIED and batch.status != BatchStatus.APPLIED
    Batch.objects.filter(pk=batch.pk).update(status=status, **fields)
    batch.refresh_from_db()
    record(
        f"batch.{status}",
        organization=batch.resource.provider,
        target=batch,
        details={
            "inserted": batch.inserted,
            "updated": batch.updated,
            "retired": batch.retired,
            "bad_rows": batch.bad_rows,
        },
    )
    if newly_applied:
        batch_applied.send(sender=Batch, batch=batch, resource=batch.resource)
    return batch


def get_batch(actor: Any, batch_id: int) -> Batch:
    batch = Batch.objects.select_related("resource").filter(pk=batch_id).first()
    if batch is None or not permissions.can_view_batches(actor, batch.resource):
        raise NotFound("批次不存在", code="batch_not_found")
    return batch


def push_rows(
    actor: Any,
    resource: Resource,
    rows: list[dict[str, Any]],
    *,
    idempotency_key: str,
    mode: str = BatchMode.UPSERT,
) -> Batch:
    """系统对接 (第十九条): a business system pushes JSON rows, stored as NDJSON so a problem's row number is the row's
    position in the request (1 = the first row), then applied at once. Same key and body → the same batch; same key,
    other body or mode → 409."""
    if not rows:
        raise ValidationFailed("没有要加载的数据行", code="empty_batch")
    body = b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)
    batch = submit_file(
        actor,
        resource,
        io.BytesIO(body),
        file_name="push.ndjson",
        mode=mode,
        idempotency_key=idempotency_key,
        source=BatchSource.PUSH,
    )
    if batch.content_hash != hashlib.sha256(body).hexdigest() or batch.mode != mode:
        raise Conflict("同一幂等键已用于不同内容的批次", code="idempotency_conflict")
    return batch if batch.is_finished else apply_batch(batch.pk)
