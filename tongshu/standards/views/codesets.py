"""Code set pages: the list, one set with its values and versions, importing a set or a version, the diff."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError
from tongshu.core.views import error_page

from .. import services
from ..forms import NewCodeSetForm, UploadForm
from ..models import CodeSet
from ..permissions import can_manage_standards
from .common import apply_error, manager, reader, upload

VALUES_PER_PAGE = 50


@reader
def code_sets(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = Paginator(services.code_sets_overview(query), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "standards/code_sets.html",
        {"page": page, "q": query, "can_manage": can_manage_standards(request.user)},
    )


def _detail_context(request: HttpRequest, code_set: CodeSet) -> dict:
    versions = list(services.versions_overview(code_set))
    chosen_label = request.GET.get("version", "")
    chosen = next((v for v in versions if v.version == chosen_label), None) if chosen_label else None
    chosen = (
        chosen or next((v for v in versions if v.is_current), None) or (versions[0] if versions else None)
    )
    query = request.GET.get("q", "").strip()
    values = services.search_values(chosen, query) if chosen else code_set.versions.none()
    page = Paginator(values, VALUES_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "code_set": code_set,
        "versions": versions,
        "chosen": chosen,
        "q": query,
        "page": page,
        "can_manage": can_manage_standards(request.user),
        "element_count": code_set.data_elements.count(),
    }


@reader
def code_set_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        code_set = services.get_code_set(identifier)
    except DomainError as exc:
        return error_page(request, exc)
    context = _detail_context(request, code_set)
    context["form"] = UploadForm()
    template = "standards/code_set_detail.html"
    if request.htmx and request.htmx.target == "values":
        template += "#values"
    return render(request, template, context)


@manager
def upload_version(request: HttpRequest, identifier: str) -> HttpResponse:
    """A new version of an existing set (第九条): the whole file is checked; on any error nothing is saved."""
    try:
        code_set = services.get_code_set(identifier)
    except DomainError as exc:
        return error_page(request, exc)
    form = UploadForm(request.POST or None, request.FILES or None)
    row_errors: list = []
    if request.method == "POST" and form.is_valid():
        try:
            content, filename = upload(form)
            version = services.import_code_set(
                request.user,
                content=content,
                filename=filename,
                identifier=code_set.identifier,
                version=form.cleaned_data["version"],
                note=form.cleaned_data["note"],
                make_current=form.cleaned_data["make_current"],
                request=request,
            )
        except DomainError as exc:
            row_errors = apply_error(form, exc)
        else:
            messages.success(request, f"已导入版本 {version.version}（{version.values.count()} 条代码）。")
            return redirect("standards:code_set", identifier=code_set.identifier)
    context = _detail_context(request, code_set)
    context.update(form=form, row_errors=row_errors, show_upload=True)
    return render(
        request, "standards/code_set_detail.html", context, status=400 if form.errors or row_errors else 200
    )


@manager
def new_code_set(request: HttpRequest) -> HttpResponse:
    form = NewCodeSetForm(request.POST or None, request.FILES or None)
    row_errors: list = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            content, filename = upload(form)
            version = services.import_code_set(
                request.user,
                content=content,
                filename=filename,
                identifier=data["identifier"],
                name=data["name"],
                standard=data["standard"],
                description=data["description"],
                version=data["version"],
                note=data["note"],
                make_current=True,
                expect_new=True,
                request=request,
            )
        except DomainError as exc:
            row_errors = apply_error(form, exc)
        else:
            messages.success(request, f"已新建代码集“{version.code_set.name}”。")
            return redirect("standards:code_set", identifier=version.code_set.identifier)
    return render(
        request,
        "standards/code_set_new.html",
        {"form": form, "row_errors": row_errors},
        status=400 if form.errors or row_errors else 200,
    )


@manager
@require_POST
def make_current(request: HttpRequest, identifier: str, version: str) -> HttpResponse:
    try:
        code_set = services.get_code_set(identifier)
        chosen = services.get_version(code_set, version)
        services.set_current_version(request.user, chosen, request=request)
    except DomainError as exc:
        return error_page(request, exc)
    messages.success(request, f"版本 {chosen.version} 已设为当前版本，校验从现在起使用该版本。")
    return redirect("standards:code_set", identifier=identifier)


@reader
def code_set_diff(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        code_set = services.get_code_set(identifier)
        previous, current = services.default_diff_pair(code_set)
        old_label, new_label = request.GET.get("from", ""), request.GET.get("to", "")
        old = services.get_version(code_set, old_label) if old_label else previous
        new = services.get_version(code_set, new_label) if new_label else current
        diff = services.diff_versions(old, new) if old and new else None
    except DomainError as exc:
        return error_page(request, exc)
    return render(
        request,
        "standards/code_set_diff.html",
        {
            "code_set": code_set,
            "versions": list(services.versions_overview(code_set)),
            "old": old,
            "new": new,
            "diff": diff,
        },
    )
