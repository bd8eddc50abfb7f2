"""Data element pages: search, detail, and (for the operator) create, edit, deactivate and delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError
from tongshu.core.views import error_page

from .. import services
from ..formats import LengthNotationError, parse_length
from ..forms import DataElementForm
from ..models import DataElement, DataType
from ..permissions import can_manage_standards
from .common import apply_error, manager, reader


@reader
def data_elements(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    data_type = request.GET.get("data_type", "")
    status = request.GET.get("status", "")
    active = {"active": True, "inactive": False}.get(status)
    elements = services.search_data_elements(query, data_type=data_type, active=active)
    page = Paginator(elements, 30).get_page(request.GET.get("page"))
    template = "standards/data_elements.html#rows" if request.htmx else "standards/data_elements.html"
    return render(
        request,
        template,
        {
            "page": page,
            "q": query,
            "data_type": data_type,
            "status": status,
            "data_types": DataType.choices,
            "can_manage": can_manage_standards(request.user),
        },
    )


@reader
def data_element_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        element = services.get_data_element(identifier)
    except DomainError as exc:
        return error_page(request, exc)
    try:
        spec = parse_length(element.length) if element.length else None
    except LengthNotationError:
        spec = None
    return render(
        request,
        "standards/data_element_detail.html",
        {
            "element": element,
            "spec": spec,
            "usage_count": element.info_items.count(),
            "can_manage": can_manage_standards(request.user),
        },
    )


def _initial(element: DataElement) -> dict[str, Any]:
    fields = ("identifier", "name", "english_name", "definition", "data_type", "length", "value_domain")
    initial = {name: getattr(element, name) for name in fields}
    initial.update(
        pattern=element.pattern,
        check_rule=element.check_rule,
        source_standard=element.source_standard,
        version=element.version,
        code_set=element.code_set.identifier if element.code_set else "",
    )
    return initial


@manager
def data_element_edit(request: HttpRequest, identifier: str | None = None) -> HttpResponse:
    element = None
    if identifier is not None:
        try:
            element = services.get_data_element(identifier)
        except DomainError as exc:
            return error_page(request, exc)
    form = DataElementForm(
        request.POST or None,
        initial=_initial(element) if element else {"identifier": services.next_identifier()},
        editing=element is not None,
    )
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        fields["code_set"] = fields.get("code_set") or None
        try:
            if element is None:
                element = services.create_data_element(request.user, request=request, **fields)
                messages.success(request, f"已新建数据元 {element.identifier}。")
            else:
                fields.pop("identifier", None)
                services.update_data_element(request.user, element, request=request, **fields)
                messages.success(request, f"已保存数据元 {element.identifier}。")
        except DomainError as exc:
            apply_error(form, exc)
        else:
            return redirect("standards:data_element", identifier=element.identifier)
    return render(
        request,
        "standards/data_element_form.html",
        {"form": form, "element": element},
        status=400 if form.errors else 200,
    )


@manager
@require_POST
def data_element_active(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        element = services.get_data_element(identifier)
        active = request.POST.get("active") == "1"
        services.set_data_element_active(request.user, element, active, request=request)
    except DomainError as exc:
        return error_page(request, exc)
    messages.success(request, "数据元已启用。" if active else "数据元已停用，已引用它的信息项不受影响。")
    return redirect("standards:data_element", identifier=identifier)


@manager
@require_POST
def data_element_delete(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        element = services.get_data_element(identifier)
        services.delete_data_element(request.user, element, request=request)
    except DomainError as exc:
        if exc.status == 409:
            messages.error(request, exc.message)
            return redirect("standards:data_element", identifier=identifier)
        return error_page(request, exc)
    messages.success(request, f"已删除数据元 {identifier}。")
    return redirect("standards:data_elements")
