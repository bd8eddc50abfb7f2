"""Electronic form pages (电子表单, 第十九条(三)): the department's resources, their records with search, add, edit,
retire. Findings of the validation engine show beside the fields, in Chinese."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongshu.core.http import AuthenticatedHttpRequest

from . import display, eforms
from .masking import masked_fields
from .services import published_schema
from .sources.services import is_manager, loadable_resources
from .views_ways import loadable_resource, page, put_error


@login_required
@page
def eform_resources(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以使用电子表单")
    resources = loadable_resources(request.user).select_related("data")
    return render(request, "dataplane/ways/eform_resources.html", {"resources": resources})


@login_required
@page
def eform_records(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    resource = loadable_resource(request.user, resource_id)
    schema = published_schema(resource)
    field, value = request.GET.get("field", ""), request.GET.get("q", "")
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    error = ""
    try:
        rows, has_next = eforms.list_records(request.user, resource, field=field, value=value, page=number)
    except DomainError as exc:
        if exc.status == 403:
            raise
        rows, has_next, error = [], False, exc.message
    columns = list(schema.columns)[:8]
    # Masked by the service, shown with the code names and masked-cell style of the data browse page.
    table = display.display_rows(schema, rows, columns=columns, masked=masked_fields(schema))
    return render(
        request,
        "dataplane/ways/eform_records.html",
        {
            "resource": resource,
            "version": resource.published_version,
            "tab": "eform",
            "columns": columns,
            "table": table,
            "searchable": eforms.searchable_columns(schema),
            "field": field,
            "q": value,
            "error": error,
            "page_number": number,
            "has_next": has_next,
        },
    )


def _record_page(request: AuthenticatedHttpRequest, resource_id: int, rid: int | None) -> HttpResponse:
    """Add or edit. An edit opens with sensitive items masked; "show the original values" (POST `reveal` with a
    reason) opens it unmasked and audited; saving a masked form keeps the items left empty."""
    resource = loadable_resource(request.user, resource_id)
    schema = published_schema(resource)
    opened, reveal_error = None, ""
    revealing = request.method == "POST" and "reveal" in request.POST
    if rid is not None:
        try:
            reason = request.POST.get("reason", "") if revealing else None
            opened = eforms.open_record(request.user, resource, rid, reveal_reason=reason, request=request)
        except ValidationFailed as exc:
            reveal_error = exc.message
            opened = eforms.open_record(request.user, resource, rid)
    revealed = opened.revealed if revealing and opened else request.POST.get("revealed") == "1"
    bound = request.POST if request.method == "POST" and not revealing else None
    form = eforms.record_form(
        schema,
        bound,
        initial=opened.initial if opened else None,
        lock_keys=rid is not None,
        masked=opened.placeholders if opened and not revealed else None,
    )
    status = 400 if reveal_error else 200
    if bound is not None:
        values = eforms.form_values(form)
        try:
            eforms.save_record(request.user, resource, values, rid=rid, keep_blank_masked=not revealed)
        except DomainError as exc:
            if exc.status == 403:
                raise
            form.is_valid()
            put_error(form, exc)
            status = 400
        else:
            messages.success(request, "已保存，数据已加载" if rid is None else "已保存修改")
            return redirect("ways:eform_records", resource.pk)
    return render(
        request,
        "dataplane/ways/eform_record.html",
        {
            "resource": resource,
            "version": resource.published_version,
            "tab": "eform",
            "form": form,
            "rid": rid,
            "revealed": revealed,
            "can_reveal": bool(opened and opened.can_reveal and opened.placeholders and not revealed),
            "reveal_error": reveal_error,
        },
        status=status,
    )


@login_required
@page
def eform_new(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    return _record_page(request, resource_id, None)


@login_required
@page
def eform_edit(request: AuthenticatedHttpRequest, resource_id: int, rid: int) -> HttpResponse:
    return _record_page(request, resource_id, rid)


@login_required
@require_POST
@page
def eform_retire(request: AuthenticatedHttpRequest, resource_id: int, rid: int) -> HttpResponse:
    resource = loadable_resource(request.user, resource_id)
    eforms.retire_record(request.user, resource, rid, reason=request.POST.get("reason", ""))
    messages.success(request, "已注销该记录（历史版本保留）")
    return redirect("ways:eform_records", resource.pk)
