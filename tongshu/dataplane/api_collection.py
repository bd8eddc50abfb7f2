"""`/api/v1/data/ways/tasks` and `/submissions`: public collection tasks (第十二条, 社会力量自行采集上传).

A task is created as a draft (or published at once with `"publish": true`), changed while a draft, published (its
public link opens until the deadline) and closed. Purpose, deadline and the personal-information notice that
个人信息保护法 第十七条 requires (collector, retention, contact) are required, checked by `collection`, the service the
pages call. Submissions are listed and reviewed (approve loads a one-row batch, reject needs a reason), their
sensitive items masked as on the data page (`masked` names them); `POST /submissions/{id}/reveal` with a reason returns
one submission's original values, audited (第三十三条). Only the resource's provider: its data administrators and CDO.
Mounted by `api_ways`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import PermissionDenied, ValidationFailed

from . import collection
from .api import ERRORS
from .models_sources import CollectionSubmission, CollectionTask, SubmissionStatus
from .sources.services import is_manager
from .views_ways import loadable_resource

router = Router(tags=["data-ways"])


class TaskOut(Schema):
    id: int
    resource_id: int
    resource_code: str
    title: str
    purpose: str
    fields: list[str]
    deadline: datetime
    collector: str
    retention: str
    contact: str
    per_address_hourly_limit: int
    hourly_limit: int
    status: str
    is_open: bool
    pending: int
    public_url: str
    notice: str
    created_at: datetime
    published_at: datetime | None
    closed_at: datetime | None


class TaskPatch(Schema):
    """A draft's settings; on PATCH only those sent change."""

    model_config = ConfigDict(extra="forbid")

    title: str = ""
    purpose: str = ""
    fields: list[str] = []
    deadline: datetime | None = None
    collector: str = ""
    retention: str = ""
    contact: str = ""
    per_address_hourly_limit: int = 10
    hourly_limit: int = 500


class TaskIn(TaskPatch):
    resource_id: int
    publish: bool = False


class CloseIn(Schema):
    reason: str = ""


class SubmissionOut(Schema):
    id: int
    task_id: int
    values: dict[str, Any]
    masked: list[str]
    status: str
    status_label: str
    created_at: datetime
    reviewed_at: datetime | None
    reason: str
    batch_id: int | None


class RejectIn(Schema):
    reason: str = ""


class RevealIn(Schema):
    reason: str = ""


class RevealOut(Schema):
    id: int
    values: dict[str, Any]


def task_out(request: HttpRequest, task: CollectionTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "resource_id": task.resource_id,
        "resource_code": task.resource.code,
        "title": task.title,
        "purpose": task.purpose,
        "fields": list(task.fields),
        "deadline": task.deadline,
        "collector": task.collector,
        "retention": task.retention,
        "contact": task.contact,
        "per_address_hourly_limit": task.per_address_hourly_limit,
        "hourly_limit": task.hourly_limit,
        "status": task.status,
        "is_open": task.is_open,
        "pending": getattr(task, "pending", 0),
        "public_url": request.build_absolute_uri(reverse("collect:form", args=[task.token])),
        "notice": collection.notice_text(task),
        "created_at": task.created_at,
        "published_at": task.published_at,
        "closed_at": task.closed_at,
    }


def submission_out(submission: CollectionSubmission, kinds: dict[str, str]) -> dict[str, Any]:
    """A submission with its sensitive items masked (`kinds` from `collection.review_masking`)."""
    return {
        "id": submission.pk,
        "task_id": submission.task_id,
        "values": collection.masked_values(submission, kinds),
        "masked": sorted(kinds),
        "status": submission.status,
        "status_label": str(submission.get_status_display()),
        "created_at": submission.created_at,
        "reviewed_at": submission.reviewed_at,
        "reason": submission.reason,
        "batch_id": submission.batch_id,
    }


def _require_manager(user: Any) -> None:
    if not is_manager(user):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以管理采集任务")


@router.get("/tasks", response={200: list[TaskOut], **ERRORS}, summary="采集任务列表")
def task_list(request: HttpRequest) -> Any:
    user = calling_user(request)
    _require_manager(user)
    return [task_out(request, task) for task in collection.tasks_visible_to(user)]


@router.post("/tasks", response={201: TaskOut, **ERRORS}, summary="新建采集任务")
def task_create(request: HttpRequest, body: TaskIn) -> Any:
    """A draft by default; `"publish": true` opens the public link at once. 400 with `field` (`required`,
    `missing_required_items`, `invalid` deadline, `out_of_range`) and nothing stored when a check fails."""
    user = calling_user(request)
    _require_manager(user)
    values = body.dict()
    resource = loadable_resource(user, values.pop("resource_id"))
    publish = values.pop("publish")
    task = collection.create_task(user, resource, values, publish=publish)
    return Status(201, task_out(request, collection.get_task(user, task.pk)))


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="采集任务详情")
def task_detail(request: HttpRequest, task_id: int) -> Any:
    return task_out(request, collection.get_task(calling_user(request), task_id))


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="修改采集任务（草稿）")
def task_update(request: HttpRequest, task_id: int, body: TaskPatch) -> Any:
    """Drafts only: a published task answers 409 `task_not_draft` (close it and create another)."""
    user = calling_user(request)
    task = collection.update_task(user, collection.get_task(user, task_id), body.dict(exclude_unset=True))
    return task_out(request, collection.get_task(user, task.pk))


@router.post("/tasks/{task_id}/publish", response={200: TaskOut, **ERRORS}, summary="发布采集任务")
def task_publish(request: HttpRequest, task_id: int) -> Any:
    """Open the public link (the deadline and items are checked again); a closed task answers 409."""
    user = calling_user(request)
    task = collection.publish_task(user, collection.get_task(user, task_id))
    return task_out(request, collection.get_task(user, task.pk))


@router.post("/tasks/{task_id}/close", response={200: TaskOut, **ERRORS}, summary="关闭采集任务")
def task_close(request: HttpRequest, task_id: int, body: CloseIn) -> Any:
    """Close a published task (its link stops taking submissions; pending ones can still be reviewed) or drop a
    draft. Body: `{}` or `{"reason": "…"}`. Closing a closed task changes nothing."""
    user = calling_user(request)
    task = collection.close_task(user, collection.get_task(user, task_id), body.reason)
    return task_out(request, collection.get_task(user, task.pk))


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
    kinds = collection.review_masking(task)
    submissions = collection.submissions_for(user, task, "" if status == "all" else status)
    return [submission_out(s, kinds) for s in submissions]


@router.post(
    "/submissions/{submission_id}/approve", response={200: SubmissionOut, **ERRORS}, summary="采用提交"
)
def submission_approve(request: HttpRequest, submission_id: int) -> Any:
    """Load the submission as a one-row batch; if the engine refuses it, 400 and it stays pending."""
    user = calling_user(request)
    submission = collection.approve(user, collection.get_submission(user, submission_id))
    return submission_out(submission, collection.review_masking(submission.task))


@router.post(
    "/submissions/{submission_id}/reject", response={200: SubmissionOut, **ERRORS}, summary="不予采用"
)
def submission_reject(request: HttpRequest, submission_id: int, body: RejectIn) -> Any:
    user = calling_user(request)
    submission = collection.reject(user, collection.get_submission(user, submission_id), body.reason)
    return submission_out(submission, collection.review_masking(submission.task))


@router.post(
    "/submissions/{submission_id}/reveal",
    response={200: RevealOut, **ERRORS},
    summary="查看提交的敏感项原文（须填写事由，留痕）",
)
def submission_reveal(
    request: HttpRequest, submission_id: int, body: RevealIn, response: HttpResponse
) -> Any:
    """One submission's original values, for the provider's data administrators and CDO, with a typed reason (400
    `reason_required` otherwise); the audit entry (`dataplane.data_revealed`) names the record's key, the submission
    and the reason, as the data page's reveal does."""
    user = calling_user(request)
    submission = collection.get_submission(user, submission_id)
    values = collection.reveal_submission(user, submission, reason=body.reason, request=request)
    response["Cache-Control"] = "no-store"
    return {"id": submission.pk, "values": values}
