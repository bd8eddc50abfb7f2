"""Loading data into a resource (第十二条, 第十九条, 第二十二条): submit a batch, apply it, recover after a crash.

Every way in ends in `apply_batch`, which runs the one pipeline (readers → validation → store) and records the result.
The data plane records each applied batch in the same transaction as its rows, so after a crash the control plane's
status is reconciled from it: a batch is never applied twice and never half-applied.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.move import file_move_safe
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongshu.catalog.models import Resource
from tongshu.core.errors import Conflict, NotFound, PermissionDenied, TooLarge, ValidationFailed
from tongshu.quality import engine
from tongshu.quality.rules import rules_for_resource
from tongshu.security.audit import record

from . import indexing, permissions, pipeline, readers, readers_json, readers_sheet, recovery, store
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


def check_loader(actor: Any, resource: Resource) -> None:
    """Loading into a resource whose batches the actor cannot see answers as if it did not exist (404, as the batch
    listing does); one the actor sees but may not load into (the operator, the provider's other staff) is a 403."""
    if not permissions.can_view_batches(actor, resource):
        raise NotFound("信息资源不存在或无权查看", code="resource_not_found")
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
    check_loader(actor, resource)
    published_schema(resource)
    if mode not in BatchMode.values:
        raise ValidationFailed("加载方式无效", code="invalid_mode", field="mode")
    file_format = _format_of(file_name)
    limit = _limit_bytes(file_format)
    too_large = TooLarge(
        f"文件超过上传限制（{file_format.upper()} 最大 {limit // (1024 * 1024)} MB）", code="file_too_large"
    )
    # A large upload is already a file on disk (Django's temporary upload, in the var directory): it is hashed where
    # it is and moved into place, not written a second time. Anything else is copied.
    spooled = getattr(stream, "temporary_file_path", None)
    temporary = Path(spooled()) if callable(spooled) else None
    if temporary is not None and temporary.stat().st_size > limit:
        raise too_large
    target = (
        upload_dir()
        / f"incoming-{hashlib.sha256(f'{resource.pk}{timezone.now().timestamp()}{file_name}'.encode()).hexdigest()[:16]}"
    )
    # Hashed as the request body arrived (core.upload_handlers), or here.
    content_hash = getattr(stream, "content_sha256", None) if temporary is not None else None
    if content_hash is not None:
        assert temporary is not None
        size = temporary.stat().st_size
    else:
        digest, size = hashlib.sha256(), 0
        with open(temporary or target, "rb" if temporary else "wb") as handle:
            reader = handle if temporary else stream
            while chunk := reader.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    handle.close()
                    if temporary is None:
                        target.unlink(missing_ok=True)
                    raise too_large
                digest.update(chunk)
                if temporary is None:
                    handle.write(chunk)
        content_hash = digest.hexdigest()
    if size == 0:
        target.unlink(missing_ok=True)
        raise ValidationFailed("文件为空", code="empty_file")
    if temporary is not None:
        file_move_safe(str(temporary), str(target))  # a rename when on one filesystem, else a copy
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
        if existing.content_hash != content_hash or existing.mode != mode:
            raise Conflict(
                "同一幂等键已用于内容或加载方式不同的批次，请换用新的幂等键", code="idempotency_conflict"
            ) from None
        return existing
    return batch


def _chunks_for(batch: Batch, schema: ResourceSchema):  # type: ignore[no-untyped-def]
    """The batch's file as mapped string chunks, whatever its format; read progress is recorded on the batch."""
    header, chunks = source_chunks(batch)
    mapping = _resolve_mapping(header, schema, batch.column_mapping)
    if batch.file_format in ("json", "ndjson"):
        # Keys a record first shows after the first chunk still map, by the same rules as the header's.
        mapping = _extend_mapping(mapping, schema, batch.column_mapping)
    mapped = pipeline.map_columns(chunks, mapping, schema)
    if not any(engine.padded_code_width(column) for column in schema.columns):
        return mapped
    # Codes that lost their leading zeros in a spreadsheet (民族 1 for 01) are read as the code.
    return (engine.restore_leading_zeros(chunk, schema) for chunk in mapped)


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
    """A recorder of the rows read so far, called from the pipeline's writing thread: writes `Batch.rows_read`
    after the first chunk and then at most every ~100k rows (the upload page's progress bar polls it), and the
    worker's heartbeat at least every `recovery.HEARTBEAT_SECONDS` (a stalled batch is found by its silence)."""
    written = 0
    beat = time.monotonic()

    def record(read: int) -> None:
        nonlocal written, beat
        if written == 0 or read - written >= PROGRESS_EVERY_ROWS:
            recovery.heartbeat(batch_id, rows_read=read)
            written, beat = read, time.monotonic()
        elif time.monotonic() - beat >= recovery.HEARTBEAT_SECONDS:
            recovery.heartbeat(batch_id)
            beat = time.monotonic()

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


def _targets(names: list[str], schema: ResourceSchema, remembered: dict[str, str]) -> dict[str, str | None]:
    """Each source column's field (None: no item): the remembered mapping first, then the item's Chinese name or its
    field name."""
    fields = {column.field_name for column in schema.columns}
    by_label = {column.label: column.field_name for column in schema.columns}
    targets: dict[str, str | None] = {}
    for name in names:
        target = remembered.get(name) or by_label.get(name) or (name if name in fields else None)
        targets[name] = target if target in fields else None
    return targets


def _resolve_mapping(header: list[str], schema: ResourceSchema, remembered: dict[str, str]) -> dict[str, str]:
    """Source column → field (`_targets`); a field is taken by its first column."""
    mapping: dict[str, str] = {}
    for name, target in _targets(header, schema, remembered).items():
        if target is not None and target not in mapping.values():
            mapping[name] = target
    missing_keys = [schema.column(k).label for k in schema.key_fields if k not in mapping.values()]
    if missing_keys:
        raise ValidationFailed(f"数据缺少主键列：{'、'.join(missing_keys)}", code="missing_key_column")
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
        return batch if batch.status == BatchStatus.APPLIED else _reconcile(batch, marker)
    if batch.is_finished or not recovery.is_claimable(batch):
        return batch  # done, or another live worker is applying it
    if batch.attempts >= recovery.max_attempts():
        return _finish(
            batch,
            BatchStatus.FAILED,
            message=f"加载进程已中断 {batch.attempts} 次，批次未加载，资源数据未改变；请检查文件后重新提交",
        )
    if not recovery.claim(batch):
        return Batch.objects.get(pk=batch.pk)  # another task took it a moment ago
    batch.refresh_from_db()
    try:
        return _run(batch)
    except Exception as exc:
        # The data plane rolled the batch back (its marker is written only in the commit). If another worker applied
        # it meanwhile (two tasks for one batch), the marker says so; otherwise hand it back for a later attempt.
        marker = store.applied_batch(batch.pk)
        if marker is not None:
            return _reconcile(batch, marker)
        recovery.release(batch, reason=f"error: {type(exc).__name__}")
        raise


def _run(batch: Batch) -> Batch:
    resource = batch.resource
    try:
        schema = published_schema(resource)
        rules = rules_for_resource(resource, schema)
        policy = resource_data(resource).bad_row_policy
        Batch.objects.filter(pk=batch.pk).update(bad_row_policy=policy)
        result = pipeline.run_pipeline(
            schema,
            _chunks_for(batch, schema),
            batch_id=batch.pk,
            mode=batch.mode,
            policy=policy,
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
            reason_code="ragged_rows",
        )
    except ValidationFailed as exc:
        return _finish(
            batch,
            BatchStatus.REJECTED,
            message=exc.message,
            reason_code=exc.code,
            error_sample=_file_problems(exc),
        )
    if result.status == "applied":
        _record_load(
            batch, schema, indexes_pending=result.summary.indexes_pending, inserted=result.summary.inserted
        )
        message = ""
        if result.bad_rows:  # policy `skip`: the good rows are in, the bad ones reported
            message = f"已加载合格的行；{result.bad_rows} 行不合格，未加载（详见问题报告）"
    else:
        message = "批次中有不合格的行，整批未加载（详见问题报告）"
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
        message=message,
        reason_code="" if result.status == "applied" else "bad_rows",
    )
    return finished  # _finish sent batch_applied if it was applied


def _file_problems(exc: ValidationFailed) -> list[dict[str, Any]]:
    """The rows or cells a file-level rejection names, as problem-report entries (a JSON line, formula cells)."""
    details = exc.details
    if isinstance(details, dict) and isinstance(details.get("row"), int):
        details = [details]
    if not isinstance(details, list):
        return []
    problems = []
    for detail in details[:200]:
        if not isinstance(detail, dict) or not isinstance(detail.get("row"), int):
            continue
        cell = str(detail.get("cell") or "")
        problems.append(
            {
                "row": detail["row"],
                "field": "",
                "label": "",
                "value": cell,
                "code": exc.code,
                "reason": f"单元格 {cell} 是没有计算结果的公式" if cell else exc.message,
                "severity": "error",
            }
        )
    return problems


def _record_load(
    batch: Batch, schema: ResourceSchema, *, indexes_pending: bool, inserted: int | None = None
) -> None:
    """The resource's data summary after an applied batch; indexes a first load left are built by a task. A first
    load (indexes pending, `inserted` known) filled an empty table: no need to count it."""
    resource = batch.resource
    data = resource_data(resource)
    data.last_loaded_at = timezone.now()
    data.row_count = inserted if indexes_pending and inserted is not None else store.count_rows(schema)
    data.schema_version = resource.published_version.number  # type: ignore[union-attr]
    data.save()
    ResourceData.objects.filter(pk=data.pk).update(last_batch=batch)
    if indexes_pending:
        transaction.on_commit(lambda: indexing.build_query_indexes.enqueue(resource.pk))


def _reconcile(batch: Batch, marker: dict[str, Any]) -> Batch:
    """The data plane applied the batch but its worker died before saying so: record what the marker holds."""
    if batch.resource.published_version is not None:
        schema = schema_for_version(batch.resource.published_version)
        _record_load(batch, schema, indexes_pending=True)  # the index task builds only what is missing
    return _finish(
        batch,
        BatchStatus.APPLIED,
        inserted=marker["inserted"],
        updated=marker["updated"],
        retired=marker["retired"],
    )


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
    other body or mode → 409.

    Keys name items as an upload's columns do (the resource's remembered column mapping, then the item's Chinese
    name, then its field name). A key that names no item, or two keys naming one item, refuse the whole request
    before any batch is made (`unknown_fields`, `duplicate_fields`): a value is never dropped silently."""
    check_loader(actor, resource)
    schema = published_schema(resource)
    if not rows:
        raise ValidationFailed("没有要加载的数据行", code="empty_batch")
    remembered = (
        ResourceData.objects.filter(resource=resource).values_list("column_mapping", flat=True).first()
    )
    _check_push_keys(rows, schema, remembered or {})
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
        raise Conflict(
            "同一幂等键已用于内容或加载方式不同的批次，请换用新的幂等键", code="idempotency_conflict"
        )
    return batch if batch.is_finished else apply_batch(batch.pk)


def _check_push_keys(rows: list[dict[str, Any]], schema: ResourceSchema, remembered: dict[str, str]) -> None:
    names = list(dict.fromkeys(str(key).strip() for row in rows for key in row))
    targets = _targets(names, schema, {k: v for k, v in remembered.items() if k != SHEET_KEY})
    unknown = [name for name, target in targets.items() if target is None]
    if unknown:
        raise ValidationFailed(
            f"推送的数据中有本资源没有的信息项：{'、'.join(unknown[:20])}"
            f"{f' 等 {len(unknown)} 个' if len(unknown) > 20 else ''}（请使用信息项名称或字段名），整批未接收",
            code="unknown_fields",
            details=[{"field": name, "reason": "没有该信息项"} for name in unknown],
        )
    by_target: dict[str, list[str]] = {}
    for name, target in targets.items():
        by_target.setdefault(str(target), []).append(name)
    twice = {target: names for target, names in by_target.items() if len(names) > 1}
    if twice:
        described = "；".join(
            f"{schema.column(target).label}（{'、'.join(names)}）" for target, names in twice.items()
        )
        raise ValidationFailed(
            f"推送的数据中有多个键对应同一信息项：{described}，整批未接收",
            code="duplicate_fields",
            details=[
                {"field": target, "keys": names, "reason": "多个键对应同一信息项"}
                for target, names in twice.items()
            ],
        )
