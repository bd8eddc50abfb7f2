"""Electronic form pages (电子表单, 第十九条(三)): the department's resources, their records with search, add, edit,
retire. Findings of the validation engine show beside the fields, in Chinese."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, PermissionDenied
from tongshu.core.http import AuthenticatedHttpRequest

from . import display, eforms
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
    # The same masking and code names as the data browse page.
    table = display.display_rows(schema, rows, columns=columns)
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
    resource = loadable_resource(request.user, resource_id)
    schema = published_schema(resource)
    initial = None
    if rid is not None:
        initial = eforms.initial_from_row(schema, eforms.get_record(request.user, resource, rid))
    form = eforms.record_form(schema, request.POST or None, initial=initial, lock_keys=rid is not None)
    status = 200
    if request.method == "POST":
        values = eforms.form_values(form)
        try:
            eforms.save_record(request.user, resource, values, rid=rid)
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
        {"resource": resource, "form": form, "rid": rid},
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
