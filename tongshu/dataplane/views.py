"""Data pages (第十二条, 第十九条): the department's data list, a resource's batches, upload → mapping → progress →
result with the problem table and its downloads. Thin: every rule is in services/uploads/permissions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from tongshu.catalog.models import Resource
from tongshu.core.errors import DomainError, NotFound, PermissionDenied
from tongshu.core.http import AuthenticatedHttpRequest
from tongshu.core.views import error_page

from . import changes, display, permissions, resource_settings, services, tabs, uploads
from .forms import DataSettingsForm, UploadForm
from .models import Batch, BatchStatus

ERROR_ROWS_SHOWN = 200


P = ParamSpec("P")
PageView = Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponseBase]


def _page(view: PageView[P]) -> PageView[P]:
    """Answer a domain error raised by a view with the error page."""

    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return error_page(request, exc)

    return wrapper


def _resource(user: Any, resource_id: int) -> Resource:
    resource = (
        Resource.objects.select_related("provider", "published_version", "category")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None or not permissions.can_view_batches(user, resource):
        raise NotFound("信息资源不存在或无权查看其数据", code="resource_not_found")
    return resource


def _batch(user: Any, batch_id: int) -> Batch:
    batch = services.get_batch(user, batch_id)
    return Batch.objects.select_related("resource", "resource__published_version", "submitted_by").get(
        pk=batch.pk
    )


@login_required
@_page
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """数据管理: the published resources whose data the user manages (every department's for the operator), with
    their last load and row count."""
    user = request.user
    if not user.has_role(*permissions.DEPARTMENT_MANAGER_ROLES, permissions.Role.OPERATOR_ADMIN):
        raise PermissionDenied("只有数据管理员、首席数据官和系统管理员可以管理数据", code="forbidden")
    resources = (
        permissions.managed_resources(user)
        .select_related("provider", "published_version", "data", "data__last_batch")
        .order_by("provider__code", "code")
    )
    page = Paginator(resources, 30).get_page(request.GET.get("page"))
    for resource in page:
        resource.can_load = permissions.can_load_data(user, resource)
        resource.can_browse = permissions.can_browse_data(user, resource)
    return render(
        request,
        "dataplane/index.html",
        {"page": page, "all_departments": user.has_role(permissions.Role.OPERATOR_ADMIN)},
    )


@login_required
@_page
def resource_data(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    """A resource's data page, tab 批次: every load with its status, counts and problem report."""
    resource = _resource(request.user, resource_id)
    batches = uploads.batches_of(request.user, resource)
    page = Paginator(batches, 20).get_page(request.GET.get("page"))
    data = getattr(resource, "data", None)
    return render(
        request,
        "dataplane/resource.html",
        {
            "resource": resource,
            "version": resource.published_version,
            "data": data,
            "page": page,
            "can_load": permissions.can_load_data(request.user, resource),
            "can_manage_settings": permissions.can_manage_data_settings(request.user, resource),
            "tab": "batches",
        },
    )


def upload_limits() -> dict[str, int]:
    """Upload limits in MB by format (the page lists them; its script checks a file's size before sending it)."""
    return {name: size for name, size in settings.DATAPLANE_UPLOAD_LIMITS_MB.items() if name != "default"}


def _mb(size: int) -> int:
    return int(size) * 1024 * 1024


@login_required
@require_http_methods(["GET", "POST"])
@_page
def data_settings(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    """Tab 设置: the bad-row policy, changed by the provider's data administrators and CDO."""
    resource = _resource(request.user, resource_id)
    if not permissions.can_manage_data_settings(request.user, resource):
        raise PermissionDenied(
            "只有资源提供部门的数据管理员或首席数据官可以修改数据加载设置", code="forbidden"
        )
    data = resource_settings.get_settings(request.user, resource)
    form = DataSettingsForm(request.POST or None, initial={"bad_row_policy": data.bad_row_policy})
    if request.method == "POST" and form.is_valid():
        try:
            resource_settings.change_settings(
                request.user, resource, bad_row_policy=form.cleaned_data["bad_row_policy"]
            )
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            form.add_error("bad_row_policy", exc.message)
        else:
            messages.success(request, "数据加载设置已保存")
            return redirect("dataplane:resource", resource.pk)
    return render(
        request,
        "dataplane/settings.html",
        {
            "resource": resource,
            "version": resource.published_version,
            "data": data,
            "form": form,
            "can_load": permissions.can_load_data(request.user, resource),
            "can_manage_settings": True,
            "tab": "settings",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@_page
def upload(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    """Step 1: the file and the load mode. Sent by htmx (with an upload progress bar) or as a plain form post; an
    accepted file goes on to the mapping step, a refused one comes back with the reason beside the field."""
    resource = _resource(request.user, resource_id)
    if not permissions.can_load_data(request.user, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以加载数据", code="forbidden")
    services.published_schema(resource)
    data = services.resource_data(resource)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and not form.is_valid():
        status = 400
    elif request.method == "POST":
        sheet = form.cleaned_data["sheet"].strip()
        remembered = data.column_mapping
        try:
            batch = services.submit_file(
                request.user,
                resource,
                form.cleaned_data["file"],
                file_name=form.cleaned_data["file"].name,
                mode=form.cleaned_data["mode"],
                mapping={**remembered, services.SHEET_KEY: sheet} if sheet else None,
            )
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            form.add_error("file", exc.message)
            status = exc.status  # 413 too large, 400 unsupported format or empty file
        else:
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(reverse("dataplane:mapping", args=[batch.pk]))
            return redirect("dataplane:mapping", batch.pk)
    limits = upload_limits()
    default = settings.DATAPLANE_UPLOAD_LIMITS_MB["default"]
    template = (
        "dataplane/upload.html#upload-form" if getattr(request, "htmx", False) else "dataplane/upload.html"
    )
    return render(
        request,
        template,
        {
            "resource": resource,
            "version": resource.published_version,
            "form": form,
            "limits": {name.upper(): size for name, size in limits.items()},
            "upload_rules": {
                "limits": {ext: _mb(limits.get(fmt, default)) for ext, fmt in services.FORMATS.items()},
                "extensions": list(services.FORMATS),
            },
            "extensions": ",".join(services.FORMATS),
            "policy": data.bad_row_policy,
            "policy_label": data.get_bad_row_policy_display(),
            "can_manage_settings": permissions.can_manage_data_settings(request.user, resource),
            "tab": "upload",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@_page
def mapping(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    """Step 2: the file's columns, each mapped to an info item (pre-filled: remembered, item name, field name)."""
    batch = _batch(request.user, batch_id)
    resource = batch.resource
    if not permissions.can_load_data(request.user, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以加载数据", code="forbidden")
    if not uploads.is_pending(batch):
        return redirect("dataplane:batch", batch.pk)
    schema = services.published_schema(resource)
    error = ""
    status = 200
    try:
        header = uploads.source_header(batch)
    except DomainError as exc:
        # The file cannot be read at all (bomb, garbage, empty): record the rejection and show it.
        services.apply_batch(batch.pk)
        return redirect("dataplane:batch", batch.pk) if exc.status == 400 else error_page(request, exc)
    remembered = {**services.resource_data(resource).column_mapping, **batch.column_mapping}
    suggested = uploads.suggested_mapping(header, schema, remembered)
    if request.method == "POST":
        chosen = {name: request.POST.get(f"column-{index}", "") for index, name in enumerate(header)}
        sheet = batch.column_mapping.get(services.SHEET_KEY)
        if sheet:
            chosen[services.SHEET_KEY] = sheet
        try:
            batch = uploads.confirm_mapping(request.user, batch, chosen)
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            error = exc.message
            status = exc.status
            suggested = {name: chosen.get(name, "") for name in header}
        else:
            uploads.enqueue(batch)
            return redirect("dataplane:batch", batch.pk)
    columns = [
        {"index": index, "name": name, "target": suggested.get(name, "")} for index, name in enumerate(header)
    ]
    return render(
        request,
        "dataplane/mapping.html",
        {
            "batch": batch,
            "resource": resource,
            "version": resource.published_version,
            "columns": columns,
            "items": schema.columns,
            "error": error,
            "can_manage_settings": permissions.can_manage_data_settings(request.user, resource),
            "tab": "upload",
        },
        status=status,
    )


@login_required
@_page
def batch_detail(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    """Progress while the batch loads (htmx polls the `status` fragment every second), then its result."""
    batch = _batch(request.user, batch_id)
    context = {
        **_changed_rows(request, batch),
        "batch": batch,
        "resource": batch.resource,
        "version": batch.resource.published_version,
        "progress": uploads.estimated_progress(batch),
        "problems": batch.error_sample[:ERROR_ROWS_SHOWN],
        "can_load": permissions.can_load_data(request.user, batch.resource),
        "can_manage_settings": permissions.can_manage_data_settings(request.user, batch.resource),
        "tab": "batches",
    }
    template = "dataplane/batch.html#status" if getattr(request, "htmx", False) else "dataplane/batch.html"
    return render(request, template, context)


def _changed_rows(request: AuthenticatedHttpRequest, batch: Batch) -> dict[str, Any]:
    """The rows an applied batch inserted, updated or retired, a page at a time (`?after=<_rid>`), masked as on the
    data page; shown to those who may browse the resource's data (the operator sees the counts only)."""
    if batch.status != BatchStatus.APPLIED or not permissions.can_browse_data(request.user, batch.resource):
        return {}
    after = request.GET.get("after", "")
    log = changes.batch_changes(request.user, batch, after_rid=int(after) if after.isdigit() else None)
    labels = {
        "insert": pgettext("batch", "Inserted"),
        "update": pgettext("batch", "Updated"),
        "retire": pgettext("batch", "Retired"),
    }
    rows = [
        {
            "rid": change["_rid"],
            "op": change["_op"],
            "op_label": labels[change["_op"]],
            "cells": [
                {
                    "value": display.cell_value(column, change.get(column.field_name)),
                    "masked": column.field_name in log.masked,
                }
                for column in log.schema.columns
            ],
        }
        for change in log.changes
    ]
    return {
        "changes": {
            "columns": log.schema.columns,
            "rows": rows,
            "is_first_page": not after,
            "next_after": log.next_cursor.split(":")[1] if log.next_cursor else "",
        }
    }


@login_required
@_page
def resource_ways(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    """A resource's ways in besides the upload (第十二条, 第十九条): its pull sources with their last run, its public
    collection tasks, and the push API address for the business system that sends it rows."""
    from .collection import tasks_visible_to
    from .sources.services import sources_visible_to

    resource = _resource(request.user, resource_id)
    if not tabs.can_view_ways(request.user, resource):
        raise PermissionDenied(
            "只有资源提供部门的数据管理员或首席数据官可以查看本资源的数据接入方式", code="forbidden"
        )
    sources = list(sources_visible_to(request.user).filter(resource=resource).prefetch_related("runs__batch"))
    can_manage = permissions.can_load_data(request.user, resource)
    return render(
        request,
        "dataplane/ways_tab.html",
        {
            "resource": resource,
            "version": resource.published_version,
            "sources": [(source, next(iter(source.runs.all()), None)) for source in sources],
            "tasks": tasks_visible_to(request.user).filter(resource=resource)[:50],
            "can_manage": can_manage,
            "push_url": request.build_absolute_uri(f"/api/v1/data/resources/{resource.pk}/rows"),
            "tab": "ways",
        },
    )


@login_required
@_page
def report_csv(request: AuthenticatedHttpRequest, batch_id: int) -> StreamingHttpResponse:
    batch = _batch(request.user, batch_id)
    response = StreamingHttpResponse(uploads.report_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-report.csv"'
    return response


@login_required
@_page
def report_xlsx(request: AuthenticatedHttpRequest, batch_id: int) -> FileResponse:
    batch = _batch(request.user, batch_id)
    path = uploads.report_xlsx(batch)
    handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    path.unlink()
    return FileResponse(handle, as_attachment=True, filename=f"batch-{batch.pk}-report.xlsx")
