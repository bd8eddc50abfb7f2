"""Reading the catalog: a resource's detail page (sections 基本信息 … 审核记录) and a department's catalog with its
completeness (第八条 《部门目录》)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from tongshu.accounts.models import CDO_REQUIRED_KINDS, Organization
from tongshu.accounts.roles import Role
from tongshu.core.errors import NotFound, PermissionDenied

from . import permissions, services
from .choices import VersionState
from .duplicates import similar_to_version
from .forms import CommentForm, ReasonForm
from .models import InfoItem, Resource, ResourceVersion, VersionTransition
from .services.versions import display
from .views_common import PageError, page, visible_resource, visible_version

OPEN_STATES = (VersionState.DRAFT, VersionState.SUBMITTED, VersionState.RETURNED)


def _related(version: ResourceVersion, user: Any) -> dict[str, list[Resource]]:
    visible = permissions.resources_visible_to(user).select_related("published_version", "provider")
    outgoing = list(visible.filter(code__in=version.related_codes)) if version.related_codes else []
    incoming = []
    code = version.resource.code
    if code:
        candidates = ResourceVersion.objects.filter(
            state=VersionState.PUBLISHED, related_codes__icontains=code
        ).values_list("resource_id", "related_codes")
        ids = [resource_id for resource_id, codes in candidates if code in codes]
        incoming = list(visible.filter(pk__in=ids))
    return {"outgoing": outgoing, "incoming": incoming}


@login_required
@page
def resource_detail(request: HttpRequest, resource_id: int) -> HttpResponse:
    user = request.user
    resource = visible_resource(user, resource_id)
    versions = list(
        permissions.versions_visible_to(user)
        .filter(resource=resource)
        .select_related("created_by", "reviewed_by")
        .order_by("-number")
    )
    if not versions:
        raise PageError(NotFound("信息资源不存在或无权查看", code="resource_not_found"))
    wanted = request.GET.get("version", "")
    version = next((v for v in versions if str(v.number) == wanted), None)
    if version is None:
        version = next((v for v in versions if v.pk == resource.published_version_id), versions[0])
    items = list(
        InfoItem.objects.filter(version=version)
        .select_related("data_element", "code_set")
        .order_by("position")
    )
    previous = services.previous_published(version)
    diff = services.diff_versions(previous, version) if previous is not None else None
    transitions = list(
        VersionTransition.objects.filter(version__in=versions)
        .select_related("actor", "version")
        .order_by("-at", "-pk")
    )
    open_version = next((v for v in versions if v.state in OPEN_STATES), None)
    can_edit_catalog = permissions.can_edit_catalog(user, resource.provider)
    context = {
        "resource": resource,
        "version": version,
        "items": items,
        "versions": versions,
        "previous": previous,
        "diff": diff,
        "transitions": transitions,
        "related": _related(version, user),
        "open_version": open_version,
        "completeness": services.completeness(version, items),
        "method_labels": {
            "provision": display("provision_methods", version.provision_methods),
            "usage": display("usage_methods", version.usage_methods),
            "open": display("open_methods", version.open_methods),
        },
        "can_edit": permissions.can_edit_version(user, version),
        "can_submit": permissions.can_submit(user, version),
        "can_withdraw": permissions.can_withdraw(user, version),
        "can_review": permissions.can_review(user, version),
        "can_revise": permissions.can_start_revision(user, resource) and open_version is None,
        "can_retire": permissions.can_retire(user, resource),
        "is_provider_manager": can_edit_catalog,
        "reason_form": ReasonForm(),
        "comment_form": CommentForm(),
    }
    if version.state in OPEN_STATES and (can_edit_catalog or permissions.is_authority(user)):
        context["similar"] = similar_to_version(version)
    return render(request, "catalog/resource_detail.html", context)


@login_required
@page
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = visible_version(request.user, version_id)
    return redirect(
        reverse("catalog:resource_detail", args=[version.resource_id]) + f"?version={version.number}"
    )


def department_rows(organization: Organization) -> list[dict[str, Any]]:
    """Each resource of the department with its current version (the open one, else the published one)."""
    versions = (
        ResourceVersion.objects.filter(resource__provider=organization)
        .exclude(state=VersionState.WITHDRAWN)
        .select_related("resource", "resource__category")
        .prefetch_related(
            Prefetch("items", queryset=InfoItem.objects.only("id", "version_id", "data_element_id"))
        )
        .order_by("resource_id", "-number")
    )
    rows: dict[int, dict[str, Any]] = {}
    for version in versions:
        row = rows.setdefault(
            version.resource_id, {"resource": version.resource, "current": version, "published": None}
        )
        if version.state == VersionState.PUBLISHED:
            row["published"] = version
    result = []
    for row in rows.values():
        row["completeness"] = services.completeness(row["current"], list(row["current"].items.all()))
        result.append(row)
    result.sort(key=lambda row: (row["resource"].code or "~", row["current"].name))
    return result


@login_required
@page
def department_catalog(request: HttpRequest, organization_id: int | None = None) -> HttpResponse:
    user = request.user
    chosen = request.GET.get("department", "")
    if organization_id is None and chosen.isdigit():
        organization_id = int(chosen)
    organization = (
        Organization.objects.filter(pk=organization_id).first() if organization_id else user.organization
    )
    if organization is None:
        raise PageError(NotFound("部门不存在", code="organization_not_found"))
    if not permissions.can_view_department_catalog(user, organization):
        raise PageError(PermissionDenied("无权查看其他部门的目录"))
    rows = department_rows(organization)
    state = request.GET.get("state", "")
    counts = Counter(row["current"].state for row in rows)
    # "Published" counts resources with a live published version, whatever revision is under way.
    counts["published"] = sum(1 for row in rows if row["published"] and not row["resource"].is_retired)
    if state == "published":
        shown = [row for row in rows if row["published"] and not row["resource"].is_retired]
    else:
        shown = [row for row in rows if not state or row["current"].state == state]
    average = round(sum(row["completeness"] for row in rows) / len(rows)) if rows else 0
    context = {
        "organization": organization,
        "rows": shown,
        "state": state,
        "counts": counts,
        "total": len(rows),
        "average_completeness": average,
        "missing_cdo": organization.requires_cdo and organization.chief_data_officer is None,
        "can_create": permissions.can_edit_catalog(user, organization),
        "departments": Organization.objects.active().filter(kind__in=CDO_REQUIRED_KINDS).order_by("code")
        if user.has_role(Role.AUTHORITY, Role.OPERATOR_ADMIN)
        else [],
    }
    return render(request, "catalog/department.html", context)
