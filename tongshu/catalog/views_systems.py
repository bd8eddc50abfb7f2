"""Business systems pages (第十一条, 第十八条) and the catalog settings page (operator)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

from . import permissions, services
from .forms import BusinessSystemForm, SettingsForm
from .models import BusinessSystem, CatalogSettings
from .services.systems import with_catalog_facts
from .views_common import PageError, add_form_errors, page


def _system(request: HttpRequest, system_id: int) -> BusinessSystem:
    system = permissions.systems_visible_to(request.user).filter(pk=system_id).first()
    if system is None:
        raise PageError(NotFound("业务系统不存在或无权查看", code="system_not_found"))
    return system


@login_required
@page
def system_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (permissions.can_view_all_systems(user) or permissions.is_staff(user) and user.organization_id):
        raise PageError(PermissionDenied("无权查看业务系统"))
    systems = with_catalog_facts(permissions.systems_visible_to(user)).order_by("organization__code", "name")
    page_obj = Paginator(systems, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/systems.html",
        {
            "page": page_obj,
            "can_create": permissions.can_manage_systems(user, user.organization),
            "can_view_report": permissions.can_view_systems_report(user),
            "show_organization": permissions.can_view_all_systems(user),
        },
    )


def _save(request: HttpRequest, system: BusinessSystem | None) -> HttpResponse:
    form = BusinessSystemForm(request.POST or None, request.FILES or None, instance=system)
    if request.method == "POST" and form.is_valid():
        document = request.FILES.get("interface_document")
        try:
            if system is None:
                services.create_system(
                    request.user,
                    organization=request.user.organization,
                    fields=form.service_fields(),
                    document=document,
                    request=request,
                )
            else:
                services.update_system(
                    request.user, system, fields=form.service_fields(), document=document, request=request
                )
        except ValidationFailed as exc:
            if exc.details:
                add_form_errors(form, exc.details)
            else:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except DomainError as exc:
            raise PageError(exc) from exc
        else:
            messages.success(request, "已保存业务系统")
            return redirect("catalog:systems")
    status = 400 if request.method == "POST" else 200
    return render(request, "catalog/system_form.html", {"form": form, "system": system}, status=status)


@login_required
@page
def system_new(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_systems(request.user, request.user.organization):
        raise PageError(PermissionDenied("只有部门数据管理员或首席数据官可以登记业务系统"))
    return _save(request, None)


@login_required
@page
def system_edit(request: HttpRequest, system_id: int) -> HttpResponse:
    system = _system(request, system_id)
    if not permissions.can_manage_systems(request.user, system.organization):
        raise PageError(PermissionDenied("只有本部门数据管理员或首席数据官可以修改业务系统"))
    return _save(request, system)


@login_required
@require_POST
@page
def system_delete(request: HttpRequest, system_id: int) -> HttpResponse:
    system = _system(request, system_id)
    try:
        services.delete_system(request.user, system, request=request)
    except DomainError as exc:
        if exc.status == 403:
            raise PageError(exc) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, "已删除业务系统")
    return redirect("catalog:systems")


@login_required
@page
def system_document(request: HttpRequest, system_id: int) -> HttpResponse:
    system = _system(request, system_id)
    if not system.interface_document:
        raise PageError(NotFound("该系统没有上传接口文档", code="document_not_found"))
    name = system.interface_document.name.rsplit("/", 1)[-1]
    return FileResponse(system.interface_document.open("rb"), as_attachment=True, filename=name)


@login_required
@page
def systems_report(request: HttpRequest) -> HttpResponse:
    try:
        rows = services.systems_report(request.user)
    except DomainError as exc:
        raise PageError(exc) from exc
    return render(request, "catalog/systems_report.html", {"rows": rows})


@login_required
@page
def settings_page(request: HttpRequest) -> HttpResponse:
    if not permissions.can_edit_settings(request.user):
        raise PageError(PermissionDenied("只有系统管理员可以修改目录设置"))
    current = CatalogSettings.current()
    initial: dict[str, Any] = {
        "open_max_security_level": current.open_max_security_level,
        "code_sequence_width": current.code_sequence_width,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_settings(request.user, fields=form.cleaned_data, request=request)
        except ValidationFailed as exc:
            add_form_errors(form, exc.details or [])
        else:
            messages.success(request, "已保存目录设置")
            return redirect("catalog:settings")
    return render(request, "catalog/settings.html", {"form": form})
