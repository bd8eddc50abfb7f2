"""Public collection tasks (社会力量自行采集上传, 第十二条).

A department publishes a form for one of its resources at a public link (`/collect/<token>/`, no login) with a
purpose, a deadline and the notice that 个人信息保护法 (第十七条) requires before personal information is collected:
who collects it, why, which items, how long it is kept, and whom to contact. The submitter must accept that notice.
Submissions are rate-limited per client address and per task, validated by the same engine as every other way in,
and held for the department's review: approving one loads it as a one-row batch (source `collection`, upsert);
rejecting it records the reason. Reviewers see sensitive items masked as on the data page; a submission's original
values are shown one audited request at a time (`reveal_submission`, 第三十三条). A task closes at its deadline (checked on every access, and by a periodic job).
A task may first be kept as a draft (its link answers 404), changed, then published; once published its notice no
longer changes (`COLLECTION_TRANSITIONS`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tongshu.accounts.models import User
from tongshu.accounts.roles import DEPARTMENT_MANAGER_ROLES
from tongshu.catalog.models import Resource
from tongshu.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from tongshu.core.services import notify
from tongshu.quality.rules import rules_for_resource
from tongshu.security.audit import record

from . import eforms, ingest_rows, permissions, store
from .browse import record_reveal, reveal_reason
from .masking import mask_row, masked_fields
from .models import BatchMode, BatchSource, BatchStatus
from .models_sources import (
    COLLECTION_TRANSITIONS,
    CollectionStatus,
    CollectionSubmission,
    CollectionTask,
    SubmissionStatus,
)
from .services import published_schema
from .sources.services import is_manager


class TaskClosed(DomainError):
    status = 410
    code = "collection_closed"


# --- the department's side ---------------------------------------------------------------------------------------
def tasks_visible_to(user: Any) -> QuerySet[CollectionTask]:
    if not is_manager(user):
        return CollectionTask.objects.none()
    return (
        CollectionTask.objects.filter(resource__provider_id=user.organization_id)
        .select_related("resource", "resource__published_version", "created_by")
        .annotate(pending=Count("submissions", filter=Q(submissions__status=SubmissionStatus.PENDING)))
        .order_by("-created_at", "-pk")
    )


def get_task(user: Any, task_id: int) -> CollectionTask:
    task = tasks_visible_to(user).filter(pk=task_id).first()
    if task is None:
        raise NotFound("采集任务不存在或无权查看", code="task_not_found")
    return task


def _check_manage(actor: Any, resource: Resource) -> None:
    if getattr(actor, "prefix", None) is not None or not permissions.can_load_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以管理采集任务", code="forbidden")


STATUS_NAMES: dict[str, str] = {
    CollectionStatus.DRAFT: "草稿",
    CollectionStatus.OPEN: "采集中",
    CollectionStatus.CLOSED: "已结束",
}
NOTICE_FIELDS = ("title", "purpose", "collector", "retention", "contact")
EDITABLE = (*NOTICE_FIELDS, "fields", "deadline", "per_address_hourly_limit", "hourly_limit")


def _clean_task(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    """A task's settings checked against the resource's published items (pages and API alike): the notice that
    个人信息保护法 第十七条 requires is complete, every key and required item is collected, the deadline is ahead."""
    schema = published_schema(resource)
    cleaned: dict[str, Any] = {}
    for name in NOTICE_FIELDS:
        text = str(values.get(name) or "").strip()
        if not text:
            raise ValidationFailed("此项必填", code="required", field=name)
        limit = getattr(CollectionTask._meta.get_field(name), "max_length", None) or 2000
        if len(text) > limit:
            raise ValidationFailed(f"不能超过 {limit} 个字符", code="too_long", field=name)
        cleaned[name] = text
    fields = [name for name in values.get("fields") or [] if name]
    known = {column.field_name for column in schema.columns}
    if not fields or not set(fields) <= known:
        raise ValidationFailed("请选择要采集的信息项", code="required", field="fields")
    needed = [c.label for c in schema.columns if (c.is_key or c.is_required) and c.field_name not in fields]
    if needed:
        raise ValidationFailed(
            f"主键和必填信息项必须采集：{'、'.join(needed)}", code="missing_required_items", field="fields"
        )
    if not schema.key_fields:
        raise ValidationFailed("该资源没有主键信息项，不能用于公开采集", code="no_key", field="fields")
    cleaned["fields"] = [c.field_name for c in schema.columns if c.field_name in fields]
    deadline = values.get("deadline")
    if isinstance(deadline, datetime) and timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    if not isinstance(deadline, datetime) or deadline <= timezone.now():
        raise ValidationFailed("截止时间必须晚于现在", code="invalid", field="deadline")
    cleaned["deadline"] = deadline
    for name, default in (("per_address_hourly_limit", 10), ("hourly_limit", 500)):
        limit = values.get(name)
        limit = default if limit is None else limit
        if not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise ValidationFailed("取值应在 1 到 100000 之间", code="out_of_range", field=name)
        cleaned[name] = limit
    return cleaned


def create_task(
    actor: Any, resource: Resource, values: dict[str, Any], *, publish: bool = True
) -> CollectionTask:
    """Create a collection task (第十二条): published at once (its public link opens), or kept as a draft to edit
    and publish later. Every key and required item must be collected; the notice fields are required."""
    _check_manage(actor, resource)
    cleaned = _clean_task(resource, values)
    now = timezone.now()
    with transaction.atomic():
        task = CollectionTask.objects.create(
            resource=resource,
            token=secrets.token_urlsafe(24),
            status=CollectionStatus.OPEN if publish else CollectionStatus.DRAFT,
            published_at=now if publish else None,
            created_by=actor,
            created_at=now,
            **cleaned,
        )
        record(
            "collection.published" if publish else "collection.drafted",
            actor=actor,
            organization=resource.provider,
            target=task,
            details={
                "resource": resource.code,
                "fields": cleaned["fields"],
                "deadline": cleaned["deadline"].isoformat(),
                "from": "",
                "to": task.status,
            },
        )
    return task


def update_task(actor: Any, task: CollectionTask, values: dict[str, Any]) -> CollectionTask:
    """Change a draft; what is not given keeps its value. A published task cannot change: the public has been
    told its notice (close it and publish a new one)."""
    _check_manage(actor, task.resource)
    current = {name: getattr(task, name) for name in EDITABLE}
    cleaned = _clean_task(task.resource, {**current, **values})
    with transaction.atomic():
        locked = CollectionTask.objects.select_for_update().get(pk=task.pk)
        if locked.status != CollectionStatus.DRAFT:
            raise Conflict(
                "只有草稿状态的采集任务可以修改；已发布的任务请关闭后另行发布", code="task_not_draft"
            )
        changed = sorted(name for name in EDITABLE if cleaned[name] != current[name])
        CollectionTask.objects.filter(pk=task.pk).update(**cleaned)
        record(
            "collection.changed",
            actor=actor,
            organization=task.resource.provider,
            target=task,
            details={"changed": changed},
        )
    task.refresh_from_db()
    return task


def move_task(actor: Any, task: CollectionTask, to: str, *, reason: str = "") -> CollectionTask:
    """Move a task along `COLLECTION_TRANSITIONS`, recording who, when, from, to and why. Asking for the state it is
    already in changes nothing; any other move not in the table is 409 `invalid_transition`."""
    _check_manage(actor, task.resource)
    if to == CollectionStatus.OPEN:
        # What is published is checked again: the deadline may have passed, the items may have changed.
        _clean_task(task.resource, {name: getattr(task, name) for name in EDITABLE})
    with transaction.atomic():
        locked = CollectionTask.objects.select_for_update().get(pk=task.pk)
        if locked.status == to:
            task.refresh_from_db()
            return task
        if to not in COLLECTION_TRANSITIONS.get(locked.status, frozenset()):
            raise Conflict(
                f"采集任务当前为“{STATUS_NAMES[locked.status]}”，不能改为“{STATUS_NAMES.get(to, to)}”",
                code="invalid_transition",
            )
        now = timezone.now()
        stamp = {"published_at": now} if to == CollectionStatus.OPEN else {"closed_at": now}
        CollectionTask.objects.filter(pk=task.pk).update(status=to, **stamp)
        record(
            "collection.published" if to == CollectionStatus.OPEN else "collection.closed",
            actor=actor,
            organization=task.resource.provider,
            target=task,
            details={"from": locked.status, "to": to, "reason": reason.strip()[:200]},
        )
    task.refresh_from_db()
    return task


def publish_task(actor: Any, task: CollectionTask) -> CollectionTask:
    """Publish a draft: its public link opens until the deadline (第十二条)."""
    return move_task(actor, task, CollectionStatus.OPEN)


def close_task(actor: Any, task: CollectionTask, reason: str = "") -> CollectionTask:
    """Close a published task (its public link stops taking submissions) or drop a draft."""
    return move_task(actor, task, CollectionStatus.CLOSED, reason=reason)


def close_expired(now: Any = None) -> int:
    """The periodic job: close every open task whose deadline has passed."""
    now = now or timezone.now()
    expired = list(CollectionTask.objects.filter(status=CollectionStatus.OPEN, deadline__lte=now))
    for task in expired:
        CollectionTask.objects.filter(pk=task.pk).update(status=CollectionStatus.CLOSED, closed_at=now)
        record(
            "collection.closed", organization=task.resource.provider, target=task, details={"at": "deadline"}
        )
    return len(expired)


def submissions_for(actor: Any, task: CollectionTask, status: str = "") -> QuerySet[CollectionSubmission]:
    _check_manage(actor, task.resource)
    submissions = task.submissions.select_related("reviewed_by", "batch")
    return submissions.filter(status=status) if status else submissions


def get_submission(actor: Any, submission_id: int) -> CollectionSubmission:
    submission = (
        CollectionSubmission.objects.select_related("task", "task__resource").filter(pk=submission_id).first()
    )
    if (
        submission is None
        or not is_manager(actor)
        or submission.task.resource.provider_id != actor.organization_id
    ):
        raise NotFound("提交记录不存在或无权查看", code="submission_not_found")
    return submission


def review_masking(task: CollectionTask) -> dict[str, str]:
    """The task's items masked for reviewers (field name → how), exactly those the data page masks (第三十三条)."""
    kinds = masked_fields(published_schema(task.resource))
    return {name: kind for name, kind in kinds.items() if name in task.fields}


def masked_values(submission: CollectionSubmission, kinds: dict[str, str]) -> dict[str, Any]:
    """A submission's values as reviewers see them: sensitive items masked (`kinds` from `review_masking`)."""
    return mask_row(dict(submission.values), kinds)


def reveal_submission(
    actor: Any, submission: CollectionSubmission, *, reason: str | None, request: Any = None
) -> dict[str, Any]:
    """A submission's values unmasked, for this request only (第三十三条): for those who may reveal the resource's
    data (`browse.reveal_reason`: the provider's data administrators and CDO, with a typed reason); the audit entry
    is the data page's (`dataplane.data_revealed`, the record's key, the reason) and names the submission."""
    task = submission.task
    checked = reveal_reason(actor, task.resource, reason)
    record_reveal(
        actor,
        task.resource,
        published_schema(task.resource),
        submission.values,
        None,
        checked,
        request=request,
        purpose="collection_review",
        task=task.pk,
        submission=submission.pk,
        fields=sorted(review_masking(task)),
    )
    return dict(submission.values)


def existing_record(task: CollectionTask, submission: CollectionSubmission) -> bool:
    """Whether approving would update a record that exists (the reviewer sees this before deciding)."""
    schema = published_schema(task.resource)
    keys = {
        name: eforms.typed_value(schema, name, submission.values.get(name, "")) for name in schema.key_fields
    }
    if any(value is None for value in keys.values()):
        return False
    return bool(list(store.read_rows(schema, filters=keys, limit=1)))


def approve(actor: Any, submission: CollectionSubmission) -> CollectionSubmission:
    """Load an approved submission as a one-row batch (source `collection`, upsert by key)."""
    task = submission.task
    _check_manage(actor, task.resource)
    if submission.status != SubmissionStatus.PENDING:
        raise ValidationFailed("该提交已审核", code="already_reviewed")
    batch = ingest_rows.submit_rows(
        actor,
        task.resource,
        [{name: submission.values.get(name, "") for name in task.fields}],
        source=BatchSource.COLLECTION,
        mode=BatchMode.UPSERT,
        file_name=f"采集任务{task.pk}-提交{submission.pk}.csv",
    )
    if batch.status != BatchStatus.APPLIED:
        raise ValidationFailed(
            f"加载未成功，提交仍待审核：{batch.message or '数据未通过校验'}", code="batch_rejected"
        )
    with transaction.atomic():
        updated = CollectionSubmission.objects.filter(
            pk=submission.pk, status=SubmissionStatus.PENDING
        ).update(status=SubmissionStatus.APPROVED, reviewed_by=actor, reviewed_at=timezone.now(), batch=batch)
        if updated:
            record(
                "collection.approved",
                actor=actor,
                organization=task.resource.provider,
                target=submission,
                details={"task": task.pk, "batch": batch.pk},
            )
    submission.refresh_from_db()
    return submission


def reject(actor: Any, submission: CollectionSubmission, reason: str) -> CollectionSubmission:
    task = submission.task
    _check_manage(actor, task.resource)
    if submission.status != SubmissionStatus.PENDING:
        raise ValidationFailed("该提交已审核", code="already_reviewed")
    if not reason.strip():
        raise ValidationFailed("请填写不予采用的理由", code="required", field="reason")
    with transaction.atomic():
        CollectionSubmission.objects.filter(pk=submission.pk).update(
            status=SubmissionStatus.REJECTED,
            reviewed_by=actor,
            reviewed_at=timezone.now(),
            reason=reason.strip()[:1000],
        )
        record(
            "collection.rejected",
            actor=actor,
            organization=task.resource.provider,
            target=submission,
            details={"task": task.pk, "reason": reason.strip()[:200]},
        )
    submission.refresh_from_db()
    return submission


# --- the public side ---------------------------------------------------------------------------------------------
def public_task(token: str) -> CollectionTask:
    """The task behind a public link; a task past its deadline is closed here and answers 410."""
    task = (
        CollectionTask.objects.select_related("resource", "resource__provider", "resource__published_version")
        .filter(token=token)
        .first()
    )
    if task is None or task.status == CollectionStatus.DRAFT:  # a draft's link tells nothing
        raise NotFound("采集任务不存在", code="task_not_found")
    if task.status == CollectionStatus.OPEN and timezone.now() >= task.deadline:
        close_expired()
        task.refresh_from_db()
    if not task.is_open:
        raise TaskClosed(f"采集任务“{task.title}”已于截止时间结束，不再接受提交")
    return task


def collected_labels(task: CollectionTask) -> list[str]:
    schema = published_schema(task.resource)
    return [column.label for column in schema.columns if column.field_name in task.fields]


def notice_text(task: CollectionTask) -> str:
    """The personal-information notice (个人信息保护法 第十七条) as the submitter reads and accepts it."""
    deadline = timezone.localtime(task.deadline).strftime("%Y年%m月%d日 %H:%M")
    version = task.resource.published_version
    name = version.name if version is not None else str(task.resource)
    return (
        f"个人信息处理者：{task.collector}。\n"
        f"处理目的：{task.purpose}\n"
        f"收集的信息：{'、'.join(collected_labels(task))}。\n"
        f"处理方式：由{task.resource.provider.name}审核后载入政务信息资源“{name}”，"
        "仅用于上述目的，未经您同意不向其他单位提供与上述目的无关的信息。\n"
        f"保存期限：{task.retention}。\n"
        f"采集截止：{deadline}。\n"
        f"联系方式：{task.contact}。您可以通过上述方式查阅、更正、删除您的个人信息或撤回同意。"
    )


def client_hash(address: str) -> str:
    """A keyed hash of the client address: enough to count submissions, never the address itself."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


def submit(
    token: str, values: dict[str, str], *, client_address: str, accepted_notice: bool
) -> CollectionSubmission:
    """A public submission: deadline, notice, rate limits, then the engine's rules; stored for review."""
    task = public_task(token)
    if not accepted_notice:
        raise ValidationFailed(
            "请先阅读并同意个人信息处理告知", code="notice_not_accepted", field="accept_notice"
        )
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    who = client_hash(client_address)
    recent = task.submissions.filter(created_at__gte=hour_ago)
    if recent.filter(client_hash=who).count() >= task.per_address_hourly_limit:
        raise RateLimited(
            f"提交过于频繁：同一网络地址每小时最多提交 {task.per_address_hourly_limit} 次，请稍后再试",
            code="rate_limited_address",
        )
    if recent.count() >= task.hourly_limit:
        raise RateLimited("该采集任务当前提交人数较多，请稍后再试", code="rate_limited_task")
    schema = published_schema(task.resource)
    cleaned = {name: str(values.get(name) or "").strip() for name in task.fields}
    # The resource's own rules, cross-item ones included (a birth date that contradicts the ID number is refused
    # now, not at review). Reference checks are left for the load: run here, they would tell an anonymous visitor
    # whether a value exists in another department's data.
    rules = rules_for_resource(task.resource, schema)
    check = eforms.check_values(schema, cleaned, rules.column + rules.cross)
    if not check.ok:
        raise ValidationFailed(
            "填写的内容未通过校验，请按提示修改", code="invalid_record", details=check.errors
        )
    with transaction.atomic():
        had_pending = task.submissions.filter(status=SubmissionStatus.PENDING).exists()
        submission = CollectionSubmission.objects.create(
            task=task,
            values=cleaned,
            client_hash=who,
            notice_accepted_at=now,
            notice_text=notice_text(task),
        )
        record(
            "collection.submitted",
            organization=task.resource.provider,
            target=submission,
            details={"task": task.pk},
            actor_name="公众（匿名）",
        )
        if not had_pending:
            reviewers = User.objects.filter(organization_id=task.resource.provider_id, is_active=True).filter(
                role_assignments__role__in=DEPARTMENT_MANAGER_ROLES
            )
            notify(
                list(reviewers.distinct()),
                f"采集任务“{task.title}”有新的提交待审核",
                link=f"/data/ways/collection/{task.pk}/",
                topic=f"collection-{task.pk}",
            )
    return submission
