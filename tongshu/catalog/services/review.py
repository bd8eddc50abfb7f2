"""The review workflow (第八条: 报县政务信息资源主管部门审核后…发布): submit, return with a reason, publish, retire.

Transitions and who may make them are declared once in `choices.TRANSITIONS` and checked by
`permissions.may_transition`. Each step records who, when, from, to and why (`VersionTransition`), writes the audit
log and posts to the message centre: a submission is a to-do for the authority, a return a to-do for the provider's
data administrators and CDO, a publication a notice; to-dos close when the step they ask for is taken.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from tongshu.core.errors import Conflict
from tongshu.core.models import MessageKind
from tongshu.core.services import complete_todos, notify
from tongshu.security.audit import record

from .. import permissions
from ..choices import EDITABLE_STATES, VersionState
from ..models import CatalogSettings, CodeSequence, Resource, ResourceVersion
from ..signals import resource_published, resource_retired
from ..validation import clean_version
from .common import (
    authority_users,
    clean_reason,
    provider_managers,
    raise_validation,
    record_transition,
    require,
    returned_topic,
    review_topic,
    version_link,
)
from .drafts import version_as_dict
from .versions import diff_versions


def _revalidate(version: ResourceVersion) -> None:
    fields, items = version_as_dict(version)
    raise_validation(
        clean_version(fields, items, provider=version.resource.provider, resource=version.resource).errors
    )


def _lock(version: ResourceVersion, expected: set[str], message: str) -> ResourceVersion:
    locked = ResourceVersion.objects.select_for_update().get(pk=version.pk)
    if locked.state not in expected:
        raise Conflict(message, code="invalid_transition")
    return locked


def submit(actor: Any, version: ResourceVersion, *, request: Any = None) -> ResourceVersion:
    """The department's CDO submits a draft (or a returned version, fixed) to the authority (第六条, 第八条)."""
    if version.state not in EDITABLE_STATES:
        raise Conflict("只能提交草稿或被退回的版本", code="invalid_transition")
    require(permissions.can_submit(actor, version), "只有本部门的首席数据官可以提交目录审核")
    resource = version.resource
    if resource.is_retired:
        raise Conflict("该信息资源已停用，不能再提交", code="resource_retired")
    _revalidate(version)
    if (
        resource.published_version is not None
        and not diff_versions(resource.published_version, version)["has_changes"]
    ):
        raise Conflict("该版本与已发布版本没有任何差异，无需提交", code="no_changes")
    with transaction.atomic():
        locked = _lock(version, set(EDITABLE_STATES), "只能提交草稿或被退回的版本")
        version.state = VersionState.SUBMITTED
        version.submitted_at = timezone.now()
        version.save(update_fields=["state", "submitted_at"])
        record_transition(version, locked.state, VersionState.SUBMITTED, actor)
        record(
            "catalog.version_submitted",
            actor=actor,
            organization=resource.provider,
            target=version,
            request=request,
            details={"number": version.number, "resubmission": locked.state == VersionState.RETURNED},
        )
        complete_todos(returned_topic(version))
        notify(
            authority_users(),
            f"待审核目录：{resource.provider.name}「{version.name}」第 {version.number} 版",
            body=version.change_reason,
            link=version_link(version, "catalog:review_detail"),
            kind=MessageKind.TODO,
            topic=review_topic(version),
        )
    return version


def return_version(
    actor: Any, version: ResourceVersion, *, reason: str, request: Any = None
) -> ResourceVersion:
    """The authority returns a submitted version with its reason; the department fixes and resubmits it."""
    if version.state != VersionState.SUBMITTED:
        raise Conflict("只能退回待审核的版本", code="invalid_transition")
    require(
        permissions.may_transition(actor, version, VersionState.RETURNED), "只有主管部门审核员可以退回目录"
    )
    reason = clean_reason(reason, "退回时须说明原因")
    resource = version.resource
    with transaction.atomic():
        _lock(version, {VersionState.SUBMITTED}, "只能退回待审核的版本")
        now = timezone.now()
        version.state = VersionState.RETURNED
        version.reviewed_at, version.reviewed_by, version.review_comment = now, actor, reason
        version.save(update_fields=["state", "reviewed_at", "reviewed_by", "review_comment"])
        record_transition(version, VersionState.SUBMITTED, VersionState.RETURNED, actor, reason)
        record(
            "catalog.version_returned",
            actor=actor,
            organization=resource.provider,
            target=version,
            request=request,
            details={"reason": reason},
        )
        complete_todos(review_topic(version))
        notify(
            provider_managers(resource.provider),
            f"目录被退回：「{version.name}」第 {version.number} 版",
            body=f"退回原因：{reason}",
            link=version_link(version, "catalog:edit_version"),
            kind=MessageKind.TODO,
            topic=returned_topic(version),
        )
    return version


def assign_code(resource: Resource) -> str:
    """信息资源代码 = 前段码/后段码: the category's full code, then the next number of the sequence of that prefix.

    Called inside the publishing transaction. The sequence row is locked, so two publications in the same prefix
    get different numbers; numbers only grow and are never handed out again, whatever becomes of their resource.
    """
    prefix = resource.category.code
    width = CatalogSettings.current().code_sequence_width
    CodeSequence.objects.get_or_create(prefix=prefix)
    sequence = CodeSequence.objects.select_for_update().get(prefix=prefix)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    resource.code_prefix = prefix
    resource.code_sequence = sequence.last_value
    resource.code = f"{prefix}/{sequence.last_value:0{width}d}"
    return resource.code


def publish(
    actor: Any, version: ResourceVersion, *, comment: str = "", request: Any = None
) -> ResourceVersion:
    """The authority publishes a submitted version: the previous one is superseded, a first publication gets its
    code, and `resource_published` goes out after the commit (search index, data plane)."""
    if version.state != VersionState.SUBMITTED:
        raise Conflict("只能发布待审核的版本", code="invalid_transition")
    require(permissions.can_review(actor, version), "只有主管部门审核员可以发布目录")
    _revalidate(version)
    comment = (comment or "").strip()
    with transaction.atomic():
        resource = Resource.objects.select_for_update().select_related("category").get(pk=version.resource_id)
        _lock(version, {VersionState.SUBMITTED}, "只能发布待审核的版本")
        previous = (
            ResourceVersion.objects.get(pk=resource.published_version_id)
            if resource.published_version_id
            else None
        )
        if previous is not None:
            previous.state = VersionState.SUPERSEDED
            previous.save(update_fields=["state"])
            record_transition(previous, VersionState.PUBLISHED, VersionState.SUPERSEDED, actor)
        first_code = not resource.code
        if first_code:
            assign_code(resource)
        now = timezone.now()
        version.state = VersionState.PUBLISHED
        version.published_at = version.reviewed_at = now
        version.reviewed_by = actor
        version.review_comment = comment
        version.save(update_fields=["state", "published_at", "reviewed_at", "reviewed_by", "review_comment"])
        record_transition(version, VersionState.SUBMITTED, VersionState.PUBLISHED, actor, comment)
        resource.published_version = version
        resource.save(update_fields=["published_version", "code", "code_prefix", "code_sequence"])
        version.resource = resource
        record(
            "catalog.version_published",
            actor=actor,
            organization=resource.provider,
            target=version,
            request=request,
            details={"code": resource.code, "number": version.number, "code_assigned": first_code},
        )
        complete_todos(review_topic(version))
        notify(
            provider_managers(resource.provider),
            f"目录已发布：「{version.name}」（{resource.code}）第 {version.number} 版",
            body=comment,
            link=version_link(version),
        )
        transaction.on_commit(
            lambda: resource_published.send(sender=Resource, resource=resource, version=version, actor=actor)
        )
    return version


def retire(actor: Any, resource: Resource, *, reason: str, request: Any = None) -> Resource:
    """The authority retires a published resource. It keeps its code (never reused) and its versions."""
    require(permissions.can_retire(actor, resource), "只有主管部门审核员可以停用已发布的信息资源")
    reason = clean_reason(reason, "停用时须说明原因")
    with transaction.atomic():
        locked = Resource.objects.select_for_update().get(pk=resource.pk)
        if locked.is_retired:
            raise Conflict("该信息资源已停用", code="resource_retired")
        resource.is_retired = True
        resource.retired_at = timezone.now()
        resource.save(update_fields=["is_retired", "retired_at"])
        record(
            "catalog.resource_retired",
            actor=actor,
            organization=resource.provider,
            target=resource,
            request=request,
            details={"reason": reason, "code": resource.code},
        )
        notify(provider_managers(resource.provider), f"信息资源已停用：{resource.code}", body=reason)
        transaction.on_commit(lambda: resource_retired.send(sender=Resource, resource=resource, actor=actor))
    return resource
