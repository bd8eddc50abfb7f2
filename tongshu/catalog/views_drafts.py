"""The draft editor (metadata form + info-item grid) and the department's workflow buttons: save, submit, withdraw,
start a revision. Every rule is the services'; the page puts their errors back beside the fields."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongshu.standards.levels import SecurityLevel
from tongshu.standards.models import DataElement, DataType

from . import editor, permissions, services
from .duplicates import find_similar, similar_to_version
from .forms import ReasonForm, VersionForm
from .models import MaskingMethod, ResourceVersion
from .views_common import PageError, add_form_errors, page, visible_resource, visible_version

TEMPLATE = "catalog/editor.html"


def _editor_url(version_id: Any) -> str:
    if str(version_id or "").isdigit():
        return reverse("catalog:edit_version", args=[int(version_id)])
    return reverse("catalog:new_draft")


def _grid_context(rows: list[dict[str, Any]], version_id: Any = None) -> dict[str, Any]:
    return {
        "editor_url": _editor_url(version_id),
        "version_id": version_id if str(version_id or "").isdigit() else "",
        "rows": rows,
        "data_types": DataType.choices,
        "levels": SecurityLevel.choices,
        "maskings": MaskingMethod.choices,
        "code_sets": editor.code_set_choices(),
    }


def _render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    version = context["version"]
    context.update(_grid_context(context["rows"], version.pk if version else None))
    return render(request, TEMPLATE, context, status=status)


def _editable(request: HttpRequest, version: ResourceVersion) -> None:
    if not permissions.can_edit_version(request.user, version):
        if version.is_frozen:
            raise PageError(
                PermissionDenied("已发布的版本不可修改，请发起修订并提交审核", code="published_immutable")
            )
        raise PageError(PermissionDenied("只有本部门的数据管理员或首席数据官可以修改草稿或被退回的版本"))


@login_required
@page
def new_draft(request: HttpRequest) -> HttpResponse:
    provider = request.user.organization
    if not permissions.can_edit_catalog(request.user, provider):
        raise PageError(PermissionDenied("只有部门数据管理员或首席数据官可以编制目录"))
    return _editor(request, provider=provider, version=None)


@login_required
@page
def edit_version(request: HttpRequest, version_id: int) -> HttpResponse:
    version = visible_version(request.user, version_id)
    _editable(request, version)
    return _editor(request, provider=version.resource.provider, version=version)


def _editor(request: HttpRequest, *, provider: Any, version: ResourceVersion | None) -> HttpResponse:
    context: dict[str, Any] = {"version": version, "provider": provider, "item_errors": [], "similar": None}
    if request.method != "POST":
        if version is not None:
            fields, items = services.version_as_dict(version)
            context["form"] = VersionForm(initial=VersionForm.initial_from(fields), provider=provider)
            context["rows"] = editor.rows_from_items(items)
            context["similar"] = similar_to_version(version)
        else:
            initial = {"open_type": "none", "security_level": "general-1"}
            context["form"] = VersionForm(initial=initial, provider=provider)
            context["rows"] = [editor.blank_row()]
        return _render(request, context)

    form = VersionForm(request.POST, provider=provider)
    form.is_valid()  # shape only; the rules are the services'
    rows = editor.rows_from_post(request.POST)
    action = request.POST.get("action", "save")
    context["form"] = form
    if action != "save":
        rows = editor.apply_action(rows, action)
        if request.htmx:
            return render(
                request, f"{TEMPLATE}#item-grid", _grid_context(rows, version.pk if version else None)
            )
        context["rows"] = rows
        return _render(request, context)

    items, page_errors = editor.service_items(rows)
    context["rows"] = rows
    if page_errors:
        for index, errors in page_errors.items():
            rows[index]["errors"].update({"element": errors["data_element"]})
        return _render(request, context, status=400)
    try:
        if version is None:
            version = services.create_draft(
                request.user, provider=provider, fields=form.service_fields(), items=items, request=request
            )
        else:
            services.update_draft(
                request.user, version, fields=form.service_fields(), items=items, request=request
            )
    except ValidationFailed as exc:
        details = exc.details or []
        add_form_errors(form, details)
        context["item_errors"] = editor.attach_errors(rows, details)
        context["error_count"] = len(details)
        return _render(request, context, status=400)
    except DomainError as exc:
        raise PageError(exc) from exc
    messages.success(request, "已保存草稿")
    return redirect("catalog:resource_detail", version.resource_id)


@login_required
def item_row(request: HttpRequest) -> HttpResponse:
    """A blank row for the grid (htmx: add a row without posting the form)."""
    if not permissions.is_staff(request.user):
        return HttpResponse(status=403)
    context = _grid_context([], request.GET.get("version"))
    return render(request, f"{TEMPLATE}#item-row", {"row": editor.blank_row(), **context})


@login_required
def element_search(request: HttpRequest) -> HttpResponse:
    """Data elements matching `q` (identifier, Chinese or English name) for a row's picker."""
    if not permissions.is_staff(request.user):
        return HttpResponse(status=403)
    query = request.GET.get("q", "").strip()
    key = "".join(ch for ch in request.GET.get("key", "") if ch.isalnum())[:16]
    elements = DataElement.objects.none()
    if query:
        elements = DataElement.objects.filter(is_active=True).filter(
            Q(identifier__icontains=query) | Q(name__icontains=query) | Q(english_name__icontains=query)
        )[:10]
    version_id = request.GET.get("version", "")
    context = {
        "elements": elements,
        "key": key,
        "query": query,
        "version_id": version_id if version_id.isdigit() else "",
    }
    return render(request, f"{TEMPLATE}#element-results", context)


@login_required
@require_POST
def bind_element(request: HttpRequest) -> HttpResponse:
    """Re-render one row bound to the picked data element (type, length and code set follow it)."""
    if not permissions.is_staff(request.user):
        return HttpResponse(status=403)
    # Inside the editor form htmx posts every row; the picked one is named by `row_key`.
    key = request.POST.get("row_key", "")
    rows = [row for row in editor.rows_from_post(request.POST) if row["key"] == key]
    element = DataElement.objects.filter(pk=request.POST.get("element_id") or 0, is_active=True).first()
    if not rows or element is None:
        return HttpResponse(status=400)
    return render(
        request,
        f"{TEMPLATE}#item-row",
        {"row": editor.bind_element(rows[0], element), **_grid_context([], request.POST.get("version"))},
    )


@login_required
@require_POST
def editor_similar(request: HttpRequest) -> HttpResponse:
    """The duplicate-suggestions panel for what is being typed (第十三条)."""
    if not permissions.is_staff(request.user):
        return HttpResponse(status=403)
    rows = editor.rows_from_post(request.POST)
    identifiers = [row["element"] for row in rows if row["element"]]
    element_ids = list(DataElement.objects.filter(identifier__in=identifiers).values_list("pk", flat=True))
    exclude = request.POST.get("resource_id")
    similar = find_similar(
        request.POST.get("name", "").strip(),
        [row["name"] for row in rows],
        element_ids,
        exclude_resource_id=int(exclude) if exclude and exclude.isdigit() else None,
    )
    return render(request, f"{TEMPLATE}#similar-panel", {"similar": similar})


def _back(version: ResourceVersion) -> HttpResponse:
    return redirect(
        reverse("catalog:resource_detail", args=[version.resource_id]) + f"?version={version.number}"
    )


def _flash_error(request: HttpRequest, exc: DomainError) -> None:
    text = exc.message
    if isinstance(exc, ValidationFailed) and exc.details:
        text += "：" + "；".join(detail["message"] for detail in exc.details[:5])
    messages.error(request, text)


@login_required
@require_POST
@page
def submit_version(request: HttpRequest, version_id: int) -> HttpResponse:
    version = visible_version(request.user, version_id)
    try:
        services.submit(request.user, version, request=request)
    except (ValidationFailed, DomainError) as exc:
        if exc.status == 403:
            raise PageError(exc) from exc
        _flash_error(request, exc)
    else:
        messages.success(request, "已提交主管部门审核")
    return _back(version)


@login_required
@require_POST
@page
def withdraw_version(request: HttpRequest, version_id: int) -> HttpResponse:
    version = visible_version(request.user, version_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        services.withdraw(request.user, version, reason=form.cleaned_data.get("reason", ""), request=request)
    except DomainError as exc:
        if exc.status == 403:
            raise PageError(exc) from exc
        _flash_error(request, exc)
    else:
        messages.success(request, "已撤销该版本")
    return _back(version)


@login_required
@require_POST
@page
def start_revision(request: HttpRequest, resource_id: int) -> HttpResponse:
    resource = visible_resource(request.user, resource_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        revision = services.start_revision(
            request.user, resource, reason=form.cleaned_data.get("reason", ""), request=request
        )
    except DomainError as exc:
        if exc.status == 403:
            raise PageError(exc) from exc
        _flash_error(request, exc)
        return redirect("catalog:resource_detail", resource.pk)
    messages.success(request, "已创建修订草稿")
    return redirect("catalog:edit_version", revision.pk)
