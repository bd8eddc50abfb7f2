"""`/api/v1/data`: loading a resource's data by file upload or push (系统对接), batches and their problem reports.

第十二条, 第十九条: a business system pushes JSON rows with an `Idempotency-Key` (same key and body → the same batch,
other body or mode → 409 `idempotency_conflict`); a rejected push is 422 `batch_rejected` with the batch and its
problem report. A department uploads CSV, XLSX, XLS, ODS, JSON or NDJSON, which a worker applies (202 with the batch
id). Authentication: the provider's application key (`Authorization: Bearer …`) or a signed-in data administrator /
CDO of the provider; a resource whose batches the caller cannot see is 404, as in the batch listing. Errors are
`{"code", "message"}` in Chinese.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from ninja import File, Form, Router, Schema, Status, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from tongshu.catalog.models import Resource
from tongshu.core.errors import NotFound, TooLarge, ValidationFailed

from . import permissions, readers_json, recovery, resource_settings, services, uploads
from .models import BadRowPolicy, Batch, BatchMode, BatchStatus, ResourceData

router = Router(tags=["data"])
DEFAULT_PUSH_MAX_MB = 20


class ErrorOut(Schema):
    code: str
    message: str


class ProblemOut(Schema):
    row: int | None = None
    label: str = ""
    field: str = ""
    value: str | None = ""
    code: str = ""
    reason: str = ""
    severity: str = ""


class BatchOut(Schema):
    id: int
    resource_id: int
    source: str
    mode: str
    status: str
    status_label: str
    is_finished: bool
    file_name: str
    file_format: str
    file_size: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_read: int
    progress_percent: int | None
    inserted: int
    updated: int
    retired: int
    bad_rows: int
    warnings: int
    message: str
    reason_code: str
    bad_row_policy: str
    report_csv: str
    report_xlsx: str


class BatchDetailOut(BatchOut):
    problems: list[ProblemOut]


class BatchRejectedOut(ErrorOut):
    """A pushed batch that was recorded but not loaded: `code` is always `batch_rejected`, `reason_code` says why."""

    reason_code: str
    batch_id: int
    status_url: str
    report_csv: str
    report_xlsx: str
    bad_rows: int
    details: list[ProblemOut]


class AcceptedOut(Schema):
    batch_id: int
    status: str
    status_url: str


ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
}


def batch_out(batch: Batch, *, detail: bool = False) -> dict[str, Any]:
    body = {
        "id": batch.pk,
        "resource_id": batch.resource_id,
        "source": batch.source,
        "mode": batch.mode,
        "status": batch.status,
        "status_label": str(batch.get_status_display()),
        "is_finished": batch.is_finished,
        "file_name": batch.file_name,
        "file_format": batch.file_format,
        "file_size": batch.file_size,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "rows_read": batch.rows_read,
        "progress_percent": uploads.estimated_progress(batch),
        "inserted": batch.inserted,
        "updated": batch.updated,
        "retired": batch.retired,
        "bad_rows": batch.bad_rows,
        "warnings": batch.warnings,
        "message": batch.message,
        "reason_code": batch.reason_code,
        "bad_row_policy": batch.bad_row_policy,
        "report_csv": reverse("api:data_batch_report_csv", args=[batch.pk]),
        "report_xlsx": reverse("api:data_batch_report_xlsx", args=[batch.pk]),
    }
    if detail:
        body["problems"] = [
            {**e, "value": None if e.get("value") is None else str(e["value"])} for e in batch.error_sample
        ]
    return body


def _resource(actor: Any, resource_id: int) -> Resource:
    resource = Resource.objects.select_related("provider", "published_version").filter(pk=resource_id).first()
    if resource is None or not permissions.can_view_batches(actor, resource):
        raise NotFound("信息资源不存在或无权查看", code="resource_not_found")
    return resource


def _push_limit() -> int:
    return int(getattr(settings, "DATAPLANE_PUSH_MAX_MB", DEFAULT_PUSH_MAX_MB)) * 1024 * 1024


def _push_body(request: HttpRequest) -> tuple[str, list[dict[str, Any]]]:
    limit = _push_limit()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise TooLarge(
            f"请求体超过推送限制（最大 {limit // (1024 * 1024)} MB），请分批推送", code="body_too_large"
        )
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise TooLarge(
            f"请求体超过推送限制（最大 {limit // (1024 * 1024)} MB），请分批推送", code="body_too_large"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("请求体必须使用 UTF-8 编码", code="bad_encoding") from exc
    try:
        body = readers_json._DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(
            f"请求体不是有效的 JSON（{readers_json.json_error_text(exc)}）", code="bad_json"
        ) from exc
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
        raise ValidationFailed('请求体应为 {"mode": "upsert"|"replace", "rows": [...]}', code="bad_json")
    mode = body.get("mode", BatchMode.UPSERT)
    if mode not in BatchMode.values:
        raise ValidationFailed("mode 只能是 upsert 或 replace", code="invalid_mode", field="mode")
    rows = []
    for number, row in enumerate(body["rows"], start=1):
        if not isinstance(row, dict):
            raise ValidationFailed(
                f"rows 的第 {number} 项不是 JSON 对象", code="bad_json", details={"row": number}
            )
        rows.append({str(k): readers_json.value_text(v) for k, v in row.items()})
    return mode, rows


PUSH_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "schema": {"type": "string", "maxLength": 120},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "properties": {
                        "mode": {"type": "string", "enum": ["upsert", "replace"], "default": "upsert"},
                        "rows": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "example": {
                    "mode": "upsert",
                    "rows": [{"公民身份号码": "11010519491231002X", "姓名": "张三"}],
                },
            }
        },
    },
}


REJECTED_PROBLEMS = 20  # problems in a rejected push's answer; the report has them all


def rejected_out(batch: Batch) -> dict[str, Any]:
    return {
        "code": "batch_rejected",
        "reason_code": batch.reason_code or "batch_rejected",
        "message": f"批次 {batch.pk} 未加载：{batch.message or '数据未通过校验'}",
        "batch_id": batch.pk,
        "status_url": reverse("api:data_batch", args=[batch.pk]),
        "report_csv": reverse("api:data_batch_report_csv", args=[batch.pk]),
        "report_xlsx": reverse("api:data_batch_report_xlsx", args=[batch.pk]),
        "bad_rows": batch.bad_rows,
        "details": batch_out(batch, detail=True)["problems"][:REJECTED_PROBLEMS],
    }


@router.post(
    "/resources/{resource_id}/rows",
    response={200: BatchDetailOut, 422: BatchRejectedOut, **ERRORS},
    openapi_extra=PUSH_DOC,
    summary="推送数据行（系统对接）",
)
def push_rows(request: HttpRequest, resource_id: int, response: HttpResponse) -> Any:
    """Push JSON rows: upsert by key or full replace, applied at once, all or nothing. Rows are keyed by item name
    or field name (or a column name of the resource's remembered mapping); any other key is refused with 400
    `unknown_fields`. The `Idempotency-Key` header is required: the same key with the same body and mode returns the
    same answer; the same key with another body or mode is refused with 409 `idempotency_conflict`. A batch that is
    not loaded answers 422 `batch_rejected` (`reason_code`, `batch_id`, the report's links, the first problems).
    Bodies are limited by `DATAPLANE_PUSH_MAX_MB` (413)."""
    actor = request.auth  # type: ignore[attr-defined]
    resource = _resource(actor, resource_id)
    services.check_loader(actor, resource)
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        raise ValidationFailed("缺少 Idempotency-Key 请求头", code="idempotency_key_required")
    if len(key) > 120:
        raise ValidationFailed("Idempotency-Key 最长 120 个字符", code="idempotency_key_too_long")
    mode, rows = _push_body(request)
    replayed = Batch.objects.filter(resource=resource, idempotency_key=key).exists()
    batch = services.push_rows(actor, resource, rows, idempotency_key=key, mode=mode)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    if batch.status in (BatchStatus.REJECTED, BatchStatus.FAILED):
        return Status(422, rejected_out(batch))
    return Status(200, batch_out(batch, detail=True))


@router.post(
    "/resources/{resource_id}/uploads",
    response={202: AcceptedOut, **ERRORS},
    summary="上传数据文件",
)
def upload(
    request: HttpRequest,
    resource_id: int,
    file: File[UploadedFile],
    mode: Form[str] = BatchMode.UPSERT,
    mapping: Form[str] = "",
    sheet: Form[str] = "",
) -> Any:
    """Upload CSV, XLSX, XLS, ODS, JSON or NDJSON; a worker applies it (poll `status_url`). `mapping` is an optional
    JSON object from the file's column names to field names; it is remembered for the resource. `sheet` names the
    worksheet of a spreadsheet (the first one otherwise). Limits per format: `DATAPLANE_UPLOAD_LIMITS_MB` (413).
    With an `Idempotency-Key` header the same key, file and mode return the same batch; another file or mode is 409
    `idempotency_conflict`. If the worker
    applying that batch died, the retry hands it to a worker again."""
    actor = request.auth  # type: ignore[attr-defined]
    resource = _resource(actor, resource_id)
    services.check_loader(actor, resource)
    parsed: dict[str, Any] = {}
    if mapping.strip():
        try:
            parsed = json.loads(mapping)
        except ValueError as exc:
            raise ValidationFailed(
                "mapping 不是有效的 JSON 对象", code="invalid_mapping", field="mapping"
            ) from exc
        if not isinstance(parsed, dict):
            raise ValidationFailed(
                "mapping 应为 JSON 对象（列名 → 字段名）", code="invalid_mapping", field="mapping"
            )
    if sheet:
        parsed[services.SHEET_KEY] = sheet
    if parsed:
        parsed = uploads.clean_mapping(parsed, services.published_schema(resource))
    batch = services.submit_file(
        actor,
        resource,
        # A Django upload is a binary file object (it proxies read/seek to the spooled file); submit_file only reads.
        cast(BinaryIO, file),
        file_name=file.name or "",
        mode=mode,
        mapping=parsed or None,
        idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()[:120],
    )
    if parsed:
        uploads.remember_mapping(resource, parsed)
    if uploads.is_pending(batch):
        uploads.enqueue(batch)
    else:
        recovery.resume(batch)  # a retry of a batch whose worker died hands it to a worker again
    return Status(
        202,
        {
            "batch_id": batch.pk,
            "status": batch.status,
            "status_url": reverse("api:data_batch", args=[batch.pk]),
        },
    )


@router.get("/resources/{resource_id}/batches", response={200: list[BatchOut], **ERRORS}, summary="批次列表")
@paginate(LimitOffsetPagination)
def resource_batches(request: HttpRequest, resource_id: int) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    return [batch_out(b) for b in uploads.batches_of(actor, _resource(actor, resource_id))]


@router.get(
    "/batches/{batch_id}", response={200: BatchDetailOut, **ERRORS}, url_name="data_batch", summary="批次状态"
)
def batch_status(request: HttpRequest, batch_id: int) -> Any:
    """Status, progress (rows read; an estimated percent for CSV/NDJSON) and result, with the first 200 problems."""
    return batch_out(services.get_batch(request.auth, batch_id), detail=True)  # type: ignore[attr-defined]


@router.get(
    "/batches/{batch_id}/report.csv", response={200: None, **ERRORS}, url_name="data_batch_report_csv"
)
def batch_report_csv(request: HttpRequest, batch_id: int) -> Any:
    """Every problem of the batch (row number, item, field, value, code, reason, severity), UTF-8 with BOM."""
    batch = services.get_batch(request.auth, batch_id)  # type: ignore[attr-defined]
    response = StreamingHttpResponse(uploads.report_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-report.csv"'
    return response


@router.get(
    "/batches/{batch_id}/report.xlsx", response={200: None, **ERRORS}, url_name="data_batch_report_xlsx"
)
def batch_report_xlsx(request: HttpRequest, batch_id: int) -> Any:
    batch = services.get_batch(request.auth, batch_id)  # type: ignore[attr-defined]
    path = uploads.report_xlsx(batch)
    handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    path.unlink()  # the open handle keeps the data readable; nothing is left behind
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"batch-{batch.pk}-report.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- a resource's data settings --------------------------------------------------------------------------------------


class ChoiceOut(Schema):
    value: str
    label: str


class DataSettingsOut(Schema):
    resource_id: int
    bad_row_policy: str
    bad_row_policy_label: str
    bad_row_policies: list[ChoiceOut]
    can_change: bool


class DataSettingsIn(Schema):
    bad_row_policy: str


def settings_out(actor: Any, data: ResourceData) -> dict[str, Any]:
    return {
        "resource_id": data.resource_id,
        "bad_row_policy": data.bad_row_policy,
        "bad_row_policy_label": str(data.get_bad_row_policy_display()),
        "bad_row_policies": [{"value": value, "label": str(label)} for value, label in BadRowPolicy.choices],
        "can_change": permissions.can_manage_data_settings(actor, data.resource),
    }


@router.get(
    "/resources/{resource_id}/settings", response={200: DataSettingsOut, **ERRORS}, summary="数据加载设置"
)
def data_settings(request: HttpRequest, resource_id: int) -> Any:
    """The resource's bad-row policy: `reject` refuses a batch with any bad row, `skip` loads the good rows and
    reports the bad ones. A full replace (`mode=replace`) is always refused whole, whatever the policy."""
    actor = request.auth  # type: ignore[attr-defined]
    resource = Resource.objects.select_related("provider").filter(pk=resource_id).first()
    if resource is None:
        raise NotFound("信息资源不存在或无权查看", code="resource_not_found")
    return settings_out(actor, resource_settings.get_settings(actor, resource))


@router.patch(
    "/resources/{resource_id}/settings", response={200: DataSettingsOut, **ERRORS}, summary="修改数据加载设置"
)
def change_data_settings(request: HttpRequest, resource_id: int, body: DataSettingsIn) -> Any:
    """Set the bad-row policy (`reject` or `skip`): the provider's data administrators and CDO, signed in (not an
    application key). Audited; applies to batches validated from now on."""
    actor = request.auth  # type: ignore[attr-defined]
    resource = Resource.objects.select_related("provider").filter(pk=resource_id).first()
    if resource is None:
        raise NotFound("信息资源不存在或无权查看", code="resource_not_found")
    data = resource_settings.change_settings(actor, resource, bad_row_policy=body.bad_row_policy)
    return settings_out(actor, data)
