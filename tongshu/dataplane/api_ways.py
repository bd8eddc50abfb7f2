"""`/api/v1/data/ways`: the other ways in, for a signed-in person (第十二条, 第十九条).

Pull sources (list, detail, run now, recent runs; credentials are never returned, only whether they are set),
electronic-form records (save, retire; the engine's findings come back as `details` by field), and collection tasks
(list, submissions, approve, reject with a reason). Every endpoint calls the same services as the pages, which decide
who may do what: the provider's data administrator or CDO. Errors are `{"code", "message"}` in Chinese; anonymous
callers get 401, application keys 403, other departments 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Body, Router, Schema, Status

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import PermissionDenied, ValidationFailed

from . import collection, eforms
from .api import ERRORS, BatchOut, batch_out
from .models_sources import PullSource, SourceRun, SubmissionStatus
from .services import published_schema
from .sources import services as sources
from .sources.database import show_mark
from .views_ways import loadable_resource

router = Router(tags=["data-ways"])


# --- pull sources ------------------------------------------------------------------------------------------------
class SourceOut(Schema):
    id: int
    resource_id: int
    resource_code: str
    kind: str
    name: str
    is_enabled: bool
    mode: str
    schedule: str
    every_minutes: int | None
    cron: str
    mapping: dict[str, Any]
    cipher: str
    timeout_seconds: int
    page_size: int
    max_pages: int
    url: str
    auth_header_name: str
    auth_header_set: bool
    rows_path: str
    page_param: str
    size_param: str
    first_page: int
    next_link_path: str
    database_dialect: str
    database_url_set: bool
    query: str
    incremental_column: str
    high_water_mark: str
    owner: str
    updated_at: datetime
    next_run_at: datetime | None
    last_run_at: datetime | None


class RunOut(Schema):
    id: int
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    rows_fetched: int
    pages: int
    message: str
    batch_id: int | None
    batch_status: str | None


class QueuedOut(Schema):
    source_id: int
    message: str


def source_out(source: PullSource) -> dict[str, Any]:
    """What the detail page shows; secrets only as set / not set, never decrypted."""
    return {
        "id": source.pk,
        "resource_id": source.resource_id,
        "resource_code": source.resource.code,
        "kind": source.kind,
        "name": source.name,
        "is_enabled": source.is_enabled,
        "mode": source.mode,
        "schedule": source.schedule_display,
        "every_minutes": source.every_minutes,
        "cron": source.cron,
        "mapping": source.mapping or {},
        "cipher": source.cipher,
        "timeout_seconds": source.timeout_seconds,
        "page_size": source.page_size,
        "max_pages": source.max_pages,
        "url": source.url,
        "auth_header_name": source.auth_header_name,
        "auth_header_set": bool(source.auth_header_secret),
        "rows_path": source.rows_path,
        "page_param": source.page_param,
        "size_param": source.size_param,
        "first_page": source.first_page,
        "next_link_path": source.next_link_path,
        "database_dialect": source.database_dialect,
        "database_url_set": bool(source.database_secret),
        "query": source.query,
        "incremental_column": source.incremental_column,
        "high_water_mark": show_mark(source.high_water_mark),
        "owner": source.owner.get_full_name() or source.owner.get_username(),
        "updated_at": source.updated_at,
        "next_run_at": source.next_run_at,
        "last_run_at": source.last_run_at,
    }


def run_out(run: SourceRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "rows_fetched": run.rows_fetched,
        "pages": run.pages,
        "message": run.message,
        "batch_id": run.batch_id,
        "batch_status": run.batch.status if run.batch else None,
    }


@router.get("/sources", response={200: list[SourceOut], **ERRORS}, summary="数据接入源列表")
def source_list(request: HttpRequest) -> Any:
    """The pull sources of the caller's own department (the operator admin sees all, as on the page)."""
    user = calling_user(request)
    visible = sources.sources_visible_to(user)
    if not (sources.is_manager(user) or visible.exists()):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以查看数据接入源")
    return [source_out(source) for source in visible]


@router.get("/sources/{source_id}", response={200: SourceOut, **ERRORS}, summary="数据接入源详情")
def source_detail(request: HttpRequest, source_id: int) -> Any:
    return source_out(sources.get_source(calling_user(request), source_id))


@router.get("/sources/{source_id}/runs", response={200: list[RunOut], **ERRORS}, summary="最近运行")
def source_runs(request: HttpRequest, source_id: int) -> Any:
    """The last 20 runs, newest first, each with the batch it produced (failed runs carry the reason)."""
    source = sources.get_source(calling_user(request), source_id)
    return [run_out(run) for run in sources.recent_runs(source)]


@router.post("/sources/{source_id}/run", response={202: QueuedOut, **ERRORS}, summary="立即运行")
def source_run(request: HttpRequest, source_id: int) -> Any:
    """Queue a run now on behalf of the caller (pulls can take minutes); poll `runs` for its result. A source whose
    address is no longer allowed (TONGSHU_PULL_ALLOWED_HOSTS, DNS) is refused with 400 and is not queued."""
    from .tasks_sources import run_pull_source

    user = calling_user(request)
    source = sources.get_source(user, source_id)
    loadable_resource(user, source.resource_id)
    sources.check_target(source)
    run_pull_source.enqueue(source.pk, user.pk)
    return Status(202, {"source_id": source.pk, "message": "已加入运行队列，完成后在最近运行中显示结果"})


# --- electronic forms --------------------------------------------------------------------------------------------
class RetireIn(Schema):
    reason: str = ""


def _form_text(value: Any) -> str:
    """A JSON value as the text the form would submit (booleans 1/0, null empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def _save(request: HttpRequest, resource_id: int, values: dict[str, Any], rid: int | None) -> Any:
    user = calling_user(request)
    resource = loadable_resource(user, resource_id)
    schema = published_schema(resource)
    labels = {column.field_name: column.label for column in schema.columns}
    unknown = sorted(name for name in values if name not in labels)
    if unknown:
        raise ValidationFailed(
            "请求中包含资源没有的信息项：" + "、".join(unknown),
            code="unknown_field",
            details=[{"field": name, "label": "", "reason": "没有该信息项"} for name in unknown],
        )
    try:
        batch = eforms.save_record(
            user, resource, {name: _form_text(values.get(name)) for name in labels}, rid=rid
        )
    except ValidationFailed as exc:
        if isinstance(exc.details, dict):
            exc.details = [
                {"field": field, "label": labels.get(field, ""), "reason": reason}
                for field, reasons in exc.details.items()
                for reason in reasons
            ]
        raise
    return batch_out(batch)


@router.post(
    "/eforms/{resource_id}/records", response={200: BatchOut, **ERRORS}, summary="电子表单：新增记录"
)
def eform_add(request: HttpRequest, resource_id: int, values: Body[dict[str, Any]]) -> Any:
    """Body: the record's values by field name (`{"f001": "C001", …}`). Checked by the same engine as uploads; when
    not valid, 400 `invalid_record` with `details` = [{field, label, reason}] and nothing is loaded."""
    return _save(request, resource_id, values, None)


@router.put(
    "/eforms/{resource_id}/records/{rid}", response={200: BatchOut, **ERRORS}, summary="电子表单：修改记录"
)
def eform_edit(request: HttpRequest, resource_id: int, rid: int, values: Body[dict[str, Any]]) -> Any:
    """All values of the record by field name; keys cannot change (retire and add instead). A sensitive item sent
    as its masked text (`430623********1234`, as the data API shows it) keeps its stored value."""
    return _save(request, resource_id, values, rid)


@router.post(
    "/eforms/{resource_id}/records/{rid}/retire",
    response={200: BatchOut, **ERRORS},
    summary="电子表单：注销记录",
)
def eform_retire(request: HttpRequest, resource_id: int, rid: int, body: RetireIn) -> Any:
    user = calling_user(request)
    resource = loadable_resource(user, resource_id)
    return batch_out(eforms.retire_record(user, resource, rid, reason=body.reason))


# --- collection tasks --------------------------------------------------------------------------------------------
class TaskOut(Schema):
    id: int
    resource_id: int
    resource_code: str
    title: str
    purpose: str
    fields: list[str]
    deadline: datetime
    status: str
    is_open: bool
    pending: int
    created_at: datetime
    closed_at: datetime | None


class SubmissionOut(Schema):
    id: int
    task_id: int
    values: dict[str, Any]
    status: str
    status_label: str
    created_at: datetime
    reviewed_at: datetime | None
    reason: str
    batch_id: int | None


class RejectIn(Schema):
    reason: str = ""


def task_out(task: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "resource_id": task.resource_id,
        "resource_code": task.resource.code,
        "title": task.title,
        "purpose": task.purpose,
        "fields": list(task.fields),
        "deadline": task.deadline,
        "status": task.status,
        "is_open": task.is_open,
        "pending": getattr(task, "pending", 0),
        "created_at": task.created_at,
        "closed_at": task.closed_at,
    }


def submission_out(submission: Any) -> dict[str, Any]:
    return {
        "id": submission.pk,
        "task_id": submission.task_id,
        "values": submission.values,
        "status": submission.status,
        "status_label": str(submission.get_status_display()),
        "created_at": submission.created_at,
        "reviewed_at": submission.reviewed_at,
        "reason": submission.reason,
        "batch_id": submission.batch_id,
    }


@router.get("/tasks", response={200: list[TaskOut], **ERRORS}, summary="采集任务列表")
def task_list(request: HttpRequest) -> Any:
    user = calling_user(request)
    if not sources.is_manager(user):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以管理采集任务")
    return [task_out(task) for task in collection.tasks_visible_to(user)]


@router.get(
    "/tasks/{task_id}/submissions", response={200: list[SubmissionOut], **ERRORS}, summary="采集提交列表"
)
def task_submissions(request: HttpRequest, task_id: int, status: str = SubmissionStatus.PENDING) -> Any:
    """Submissions of the task, waiting for review by default; `status` = pending, approved, rejected or all."""
    user = calling_user(request)
    task = collection.get_task(user, task_id)
    if status not in SubmissionStatus.values and status != "all":
        raise ValidationFailed(
            "status 只能是 pending、approved、rejected 或 all", code="invalid", field="status"
        )
    return [
        submission_out(s) for s in collection.submissions_for(user, task, "" if status == "all" else status)
    ]


@router.post(
    "/submissions/{submission_id}/approve", response={200: SubmissionOut, **ERRORS}, summary="采用提交"
)
def submission_approve(request: HttpRequest, submission_id: int) -> Any:
    """Load the submission as a one-row batch; if the engine refuses it, 400 and it stays pending."""
    user = calling_user(request)
    return submission_out(collection.approve(user, collection.get_submission(user, submission_id)))


@router.post(
    "/submissions/{submission_id}/reject", response={200: SubmissionOut, **ERRORS}, summary="不予采用"
)
def submission_reject(request: HttpRequest, submission_id: int, body: RejectIn) -> Any:
    user = calling_user(request)
    return submission_out(
        collection.reject(user, collection.get_submission(user, submission_id), body.reason)
    )
