"""The resource category tree page: browse, import the city master catalog framework, export, sync departments."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError
from tongshu.core.views import error_page

from .. import services
from ..categories import widths
from ..forms import CategoryImportForm
from ..models import ResourceCategory
from ..permissions import can_manage_standards
from .common import apply_error, manager, reader, upload


def _page(
    request: HttpRequest, form: CategoryImportForm, row_errors: list, status: int = 200
) -> HttpResponse:
    categories = ResourceCategory.objects.filter(is_active=True)
    return render(
        request,
        "standards/categories.html",
        {
            "tree": services.category_tree(),
            "form": form,
            "row_errors": row_errors,
            "widths": widths(),
            "total": categories.count(),
            "city_count": categories.filter(source="city").count(),
            "department_count": categories.filter(organization__isnull=False).count(),
            "can_manage": can_manage_standards(request.user),
        },
        status=status,
    )


@reader
def categories(request: HttpRequest) -> HttpResponse:
    return _page(request, CategoryImportForm(), [])


@manager
def import_categories(request: HttpRequest) -> HttpResponse:
    """Import the city master catalog framework (第八条): all or nothing."""
    form = CategoryImportForm(request.POST or None, request.FILES or None)
    row_errors: list = []
    if request.method == "POST" and form.is_valid():
        try:
            content, filename = upload(form)
            counts = services.import_categories(
                request.user,
                content=content,
                filename=filename,
                mode=form.cleaned_data["mode"],
                request=request,
            )
        except DomainError as exc:
            row_errors = apply_error(form, exc)
        else:
            messages.success(
                request,
                f"已导入总目录分类框架：新增 {counts['created']} 个，更新 {counts['updated']} 个，"
                f"停用 {counts['deactivated']} 个。",
            )
            return redirect("standards:categories")
    return _page(request, form, row_errors, status=400 if form.errors or row_errors else 200)


@reader
def export_categories(request: HttpRequest, fmt: str) -> HttpResponse:
    try:
        content, content_type, filename = services.export_categories(fmt)
    except DomainError as exc:
        return error_page(request, exc)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@manager
@require_POST
def sync_departments(request: HttpRequest) -> HttpResponse:
    try:
        result = services.sync_department_branch(request.user, request=request)
    except DomainError as exc:
        return error_page(request, exc)
    text = f"部门分类已同步：新增 {result.created} 个，关联 {result.linked} 个。"
    if result.skipped:
        text += f" {len(result.skipped)} 个机构未建分类（如：{result.skipped[0]}）。"
    messages.success(request, text)
    return redirect("standards:categories")
