"""Pages of the catalog exchange: import a department catalog, download the template, export catalogs, and the
public DCAT feed at /catalog/dcat.jsonld. Thin: each calls a service of `catalog.exchange` and renders."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from tongshu.accounts.models import Organization, OrganizationKind
from tongshu.catalog.services.common import version_link
from tongshu.core.errors import DomainError, PermissionDenied, TooLarge
from tongshu.core.views import error_page

from .api_exchange import dcat_response, file_response, stamp
from .exchange import export, importer, permissions
from .exchange.uploads import check_received, guard_upload
from .exchange.xlsx_read import check_upload_size, max_upload_bytes
from .exchange.xlsx_write import build_table

SESSION_ERRORS = "catalog_import_errors"
ERROR_HEADERS = ["工作表", "行号", "列名", "错误原因"]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Catalog spreadsheet (XLSX)"),
        help_text=_(
            "Fill in the platform template; one file holds the resource sheet and the info-item sheet."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return error_page(request, PermissionDenied(message))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    organization = user.organization
    context: dict[str, Any] = {
        "organization": organization,
        "can_import": permissions.can_import_catalog(user, organization),
        "can_template": permissions.can_download_template(user),
        "can_export_own": organization is not None
        and permissions.can_export_department_catalog(user, organization),
        "can_export_drafts": permissions.can_export_department_catalog(
            user, organization, include_drafts=True
        ),
        "can_export_county": permissions.can_export_county_catalog(user),
        "max_mb": max_upload_bytes() // (1024 * 1024),
    }
    if context["can_export_county"]:
        context["departments"] = (
            Organization.objects.active().exclude(kind=OrganizationKind.COMPANY).order_by("kind", "code")
        )
    if not any(context[key] for key in ("can_import", "can_template", "can_export_own", "can_export_county")):
        return _forbidden(request, "无权使用目录导入导出")
    return render(request, "catalog/exchange/home.html", context)


@login_required
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    if not permissions.can_download_template(request.user):
        return _forbidden(request, "无权下载目录模板")
    return file_response(
        export.template_workbook(getattr(request.user, "organization", None)), "部门信息资源目录导入模板.xlsx"
    )


@csrf_exempt  # the CSRF check would read the body; it runs in `_import_form`, after the size guard
@login_required
def import_catalog(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    organization = user.organization
    if not permissions.can_import_catalog(user, organization):
        return _forbidden(request, "只有本单位的数据管理员或首席数据官可以导入本单位目录")
    context: dict[str, Any] = {"organization": organization, "max_mb": max_upload_bytes() // (1024 * 1024)}
    if request.method == "POST":
        try:
            guard_upload(request)
        except TooLarge as exc:
            context.update(form=ImportForm(), failure=exc.message)
            return render(request, "catalog/exchange/import.html", context, status=exc.status)
    return _import_form(request, organization, context)


@csrf_protect
def _import_form(request: HttpRequest, organization: Any, context: dict[str, Any]) -> HttpResponse:
    user: Any = request.user
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        try:
            check_received(request)
        except TooLarge as exc:
            context.update(form=ImportForm(), failure=exc.message)
            return render(request, "catalog/exchange/import.html", context, status=exc.status)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                check_upload_size(upload.size)
                outcome = importer.import_department_catalog(
                    user, organization, upload.read(), filename=upload.name
                )
            except importer.ImportRejected as exc:
                request.session[SESSION_ERRORS] = {"file": upload.name, "errors": exc.details}
                context.update(failure=exc.message, errors=exc.details, total=exc.total)
                status = exc.status
            except DomainError as exc:
                if exc.status in (401, 403):
                    return error_page(request, exc)
                context["failure"] = exc.message
                status = exc.status
            else:
                request.session.pop(SESSION_ERRORS, None)
                context["outcome"] = outcome
                context["changed_versions"] = [
                    {"version": version, "link": version_link(version)}
                    for version in (*outcome.created, *outcome.revised)
                ]
                form = ImportForm()
        else:
            status = 400
    else:
        form = ImportForm()
    context["form"] = form
    return render(request, "catalog/exchange/import.html", context, status=status)


@login_required
@require_GET
def import_errors_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """The problems of the user's last rejected import, as CSV (UTF-8 with BOM, for Excel) or XLSX."""
    stored = request.session.get(SESSION_ERRORS)
    if not stored or fmt not in ("csv", "xlsx"):
        return error_page(request, DomainError("没有可下载的导入错误清单", code="not_found", status=404))
    rows = [[e["sheet"], e["row"] or "", e["column"], e["reason"]] for e in stored["errors"]]
    name = f"目录导入错误清单-{stamp()}"
    if fmt == "xlsx":
        return file_response(build_table("导入错误", ERROR_HEADERS, rows), f"{name}.xlsx")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ERROR_HEADERS)
    for row in rows:
        writer.writerow([_csv_safe(value) for value in row])
    return file_response(("\ufeff" + buffer.getvalue()).encode(), f"{name}.csv", "text/csv; charset=utf-8")


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # keep a spreadsheet program from running cell text as a formula
    return value


@login_required
@require_GET
def export_department(request: HttpRequest) -> HttpResponse:
    """A department catalog as XLSX: the user's own by default; `?organization=` for the authority and operator;
    `?drafts=1` for the department's working versions (its managers only)."""
    user: Any = request.user
    organization = user.organization
    if request.GET.get("organization"):
        try:
            organization = get_object_or_404(Organization, pk=int(request.GET["organization"]))
        except ValueError:
            return error_page(request, DomainError("参数无效", code="bad_request", status=400))
    if organization is None:
        return _forbidden(request, "无权导出信息资源目录")
    drafts = request.GET.get("drafts") == "1"
    try:
        data = export.export_department_catalog(user, organization, include_drafts=drafts)
    except DomainError as exc:
        return error_page(request, exc)
    suffix = "（含草稿）" if drafts else ""
    return file_response(data, f"{organization.name}信息资源目录{suffix}-{stamp()}.xlsx")


@login_required
@require_GET
def county(request: HttpRequest) -> HttpResponse:
    if not permissions.can_export_county_catalog(request.user):
        return _forbidden(request, "只有主管部门和系统管理员可以导出县级分目录")
    versions = export.published_versions()
    departments: dict[int, dict[str, Any]] = {}
    for version in versions:
        provider = version.resource.provider
        entry = departments.setdefault(provider.pk, {"organization": provider, "count": 0})
        entry["count"] += 1
    return render(
        request,
        "catalog/exchange/county.html",
        {"departments": list(departments.values()), "resource_count": len(versions)},
    )


@login_required
@require_GET
def county_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("json", "xlsx"):
        return error_page(request, DomainError("页面不存在", code="not_found", status=404))
    try:
        if fmt == "json":
            body = json.dumps(export.export_county_catalog_json(request.user), ensure_ascii=False, indent=1)
            return file_response(
                body.encode(), f"华容县政务信息资源分目录-{stamp()}.json", "application/json; charset=utf-8"
            )
        return file_response(
            export.export_county_catalog_xlsx(request.user), f"华容县政务信息资源分目录-{stamp()}.xlsx"
        )
    except DomainError as exc:
        return error_page(request, exc)


@require_GET
def dcat_jsonld(request: HttpRequest) -> HttpResponse:
    """Public: the DCAT catalog of open resources (same document as GET /api/v1/catalog/dcat)."""
    return dcat_response(request, request.path)
