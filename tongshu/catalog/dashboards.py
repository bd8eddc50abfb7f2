"""Home-page panels of the catalog: the authority's pending reviews; a department's drafts, returns, submissions."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from tongshu.accounts.roles import Role
from tongshu.core.dashboards import register

from .choices import VersionState
from .models import ResourceVersion


@register("catalog.review", {Role.AUTHORITY}, "catalog/panels/review.html", order=20)
def review_panel(user: Any) -> dict[str, Any]:
    pending = ResourceVersion.objects.filter(state=VersionState.SUBMITTED)
    latest = pending.select_related("resource__provider").order_by("submitted_at", "pk")[:5]
    return {"pending": pending.count(), "latest": list(latest)}


@register("catalog.department", {Role.CDO, Role.DATA_ADMIN}, "catalog/panels/department.html", order=20)
def department_panel(user: Any) -> dict[str, Any]:
    organization = user.organization
    if organization is None:
        return {"drafts": 0, "returned": 0, "submitted": 0, "published": 0, "missing_cdo": False}
    counts = ResourceVersion.objects.filter(resource__provider=organization).aggregate(
        drafts=Count("pk", filter=Q(state=VersionState.DRAFT)),
        returned=Count("pk", filter=Q(state=VersionState.RETURNED)),
        submitted=Count("pk", filter=Q(state=VersionState.SUBMITTED)),
        published=Count("pk", filter=Q(state=VersionState.PUBLISHED, resource__is_retired=False)),
    )
    return {**counts, "missing_cdo": organization.requires_cdo and organization.chief_data_officer is None}
