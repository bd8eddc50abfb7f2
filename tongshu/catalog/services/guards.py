"""Refusing changes that bypass review (第三十五条(一): 擅自变更政务信息资源共享开放类型).

A published version is immutable. An attempt to change it directly is refused; if the attempt would change the share
or open type, it is also recorded as a violation (counted in assessment, 第三十四条) and in the audit log. The
violation is written outside any transaction the refusal rolls back.
"""

from __future__ import annotations

from typing import Any

from tongshu.assessment.models import ViolationKind
from tongshu.assessment.services import record_violation
from tongshu.core.errors import Conflict, PermissionDenied
from tongshu.security.audit import record

from .. import permissions
from ..models import ResourceVersion

TYPE_FIELDS = ("share_type", "open_type")
ARTICLE = "第三十五条(一)"


def type_changes(version: ResourceVersion, fields: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The share/open type changes `fields` asks for, as {field: {"from": …, "to": …}}."""
    changes = {}
    for name in TYPE_FIELDS:
        if name in fields and fields[name] not in (None, "") and str(fields[name]) != getattr(version, name):
            changes[name] = {"from": getattr(version, name), "to": str(fields[name])}
    return changes


def refuse_published_change(
    actor: Any, version: ResourceVersion, fields: dict[str, Any], *, request: Any = None
) -> None:
    """Always raises. Records a violation when the refused change touches the share or open type."""
    resource = version.resource
    changes = type_changes(version, fields)
    if not changes:
        raise Conflict("已发布的版本不可修改，请发起修订并提交审核", code="published_immutable")
    organization = getattr(actor, "organization", None) or resource.provider
    details = {"resource": resource.pk, "code": resource.code or "", "version": version.number, **changes}
    record_violation(
        organization=organization,
        kind=ViolationKind.UNAUTHORIZED_TYPE_CHANGE,
        article=ARTICLE,
        description=f"试图绕过审核直接变更信息资源“{version.name}”的共享或开放类型",
        actor=actor,
        target=resource,
        details=details,
        request=request,
    )
    record(
        "catalog.type_change_refused",
        actor=actor,
        organization=organization,
        target=resource,
        request=request,
        details=details,
    )
    message = "变更共享类型或开放类型须说明原因，通过新版本提交主管部门审核；本次直接变更已被拒绝并记录"
    if permissions.can_edit_catalog(actor, resource.provider):
        raise Conflict(message, code="type_change_requires_review")
    raise PermissionDenied(message, code="type_change_requires_review")
