"""Helpers shared by the catalog services: rights, transitions, recipients and links of notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from tongshu.accounts.models import User
from tongshu.accounts.roles import Role
from tongshu.core.errors import PermissionDenied, ValidationFailed

from ..models import ResourceVersion, VersionTransition
from ..validation import FieldError


def require(allowed: bool, message: str, code: str = "forbidden") -> None:
    if not allowed:
        raise PermissionDenied(message, code=code)


def raise_validation(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(
            f"信息资源有 {len(errors)} 处填写有误，请修改后再保存",
            code="invalid",
            details=[error.as_dict() for error in errors],
        )


def record_transition(
    version: ResourceVersion, from_state: str, to_state: str, actor: Any, reason: str = ""
) -> None:
    VersionTransition.objects.create(
        version=version,
        from_state=from_state,
        to_state=to_state,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
    )


def authority_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role_assignments__role=Role.AUTHORITY).distinct()


def provider_managers(organization: Any) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, organization=organization, role_assignments__role__in=[Role.CDO, Role.DATA_ADMIN]
    ).distinct()


def provider_cdos(organization: Any) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, organization=organization, role_assignments__role=Role.CDO
    ).distinct()


def review_topic(version: ResourceVersion) -> str:
    return f"catalog.review.{version.pk}"


def returned_topic(version: ResourceVersion) -> str:
    return f"catalog.returned.{version.pk}"


def version_link(version: ResourceVersion, name: str = "catalog:version_detail") -> str:
    try:
        return reverse(name, args=[version.pk])
    except NoReverseMatch:
        return ""


def clean_reason(reason: str | None, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(message, code="reason_required", field="reason")
    if len(reason) > 2000:
        raise ValidationFailed("说明不能超过 2000 个字符", code="reason_too_long", field="reason")
    return reason


__all__ = [
    "authority_users",
    "clean_reason",
    "provider_cdos",
    "provider_managers",
    "raise_validation",
    "record_transition",
    "require",
    "returned_topic",
    "review_topic",
    "version_link",
]
