"""Pages: a resource's data (数据浏览: filters, sort, paging, as-of a batch, masked values with an audited reveal),
its downloads, and the base/thematic libraries with their lineage. Thin: parse, call `browse` / `downloads` /
`libraries`, render."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tongshu.catalog.models import Resource
from tongshu.core.errors import DomainError, NotFound, RateLimited, ValidationFailed
from tongshu.core.views import error_page

from . import browse as browsing
from . import display, downloads, evolution, libraries, permissions
from .browse import BrowseQuery
from .models import Library, SchemaChange


def _resource(resource_id: int) -> Resource:
    resource = (
        Resource.objects.select_related("provider", "published_version", "category")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None or resource.published_version is None:
        raise NotFound("信息资源不存在或尚未发布", code="resource_not_found")
    return resource


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _query(request: HttpRequest) -> BrowseQuery:
    params = request.GET
    return BrowseQuery(
        filters={key[2:]: params.get(key, "") for key in params if key.startswith("f_")},
        sort=params.get("sort", ""),
        descending=params.get("dir") == "desc",
        page=_int(params.get("page")) or 1,
        as_of_batch=_int(params.get("as_of")),
    )


def _display(page: browsing.BrowsePage) -> list[dict[str, Any]]:
    """Rows as cells for the template (already masked by `browse`): codes with their names, masked cells flagged."""
    return display.display_rows(page.schema, page.rows, masked=page.masked)


CHANGE_KINDS = {
    "created": _("Table created"),
    "added": _("Column added"),
    "widened": _("Widened"),
    "converted": _("Type converted"),
    "renamed": _("Renamed"),
    "retired": _("Retired"),
    "revived": _("Revived"),
    "key": _("Key changed"),
    "narrowing_kept": _("Width kept"),
}


def _described(change: SchemaChange) -> SchemaChange:
    """The change with each entry's kind in words (the stored kinds are identifiers)."""
    change.described = [  # type: ignore[attr-defined]
        {**entry, "kind_label": CHANGE_KINDS.get(entry.get("kind", ""), entry.get("kind", ""))}
        for entry in change.changes
    ]
    return change


def _query_string(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    params.pop("page", None) if "page" not in changes else None
    return params.urlencode()


@login_required
def data_browse(request: HttpRequest, resource_id: int) -> HttpResponse:
    try:
        resource = _resource(resource_id)
        query = _query(request)
        error = None
        try:
            page = browsing.browse(request.user, resource, query)
        except (ValidationFailed, RateLimited) as exc:
            error = exc
            page = browsing.browse(request.user, resource, BrowseQuery(as_of_batch=None))
            page.rows, page.total = [], 0
    except DomainError as exc:
        return error_page(request, exc)
    headers = []
    for column in page.schema.columns:
        current = query.sort == column.field_name
        direction = "asc" if current and query.descending else "desc"
        headers.append(
            {
                "label": column.label,
                "link": "?" + _query_string(request, sort=column.field_name, dir=direction),
                "arrow": ("↓" if query.descending else "↑") if current else "",
            }
        )
    context = {
        "resource": resource,
        "version": resource.published_version,
        "page": page,
        "rows": _display(page),
        "columns": page.schema.columns,
        "headers": headers,
        "filters": [
            {"column": c, "value": query.filters.get(c.field_name, "")}
            for c in page.schema.columns
            if c.is_queryable
        ],
        "error": error,
        "batches": browsing.applied_batches(resource, page.schema),
        "previous_link": "?" + _query_string(request, page=query.page - 1) if query.page > 1 else "",
        "next_link": "?" + _query_string(request, page=query.page + 1) if query.page < page.pages else "",
        "can_download": permissions.can_browse_data(request.user, resource),
        "library": Library.objects.filter(resource=resource).first(),
        "schema_changes": [
            _described(change) for change in SchemaChange.objects.filter(resource=resource)[:5]
        ],
        "download_query": f"?as_of={query.as_of_batch}" if query.as_of_batch else "",
        "tab": "browse",
    }
    template = "dataplane/browse/browse.html"
    # The page shows the message; its status says what failed.
    status = error.status if error is not None else 200
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "browse-rows":
        template += "#rows"
        status = 200  # htmx swaps only a 2xx answer into the table
    return render(request, template, context, status=status)


@login_required
@require_POST
def reveal(request: HttpRequest, resource_id: int, rid: int) -> HttpResponse:
    try:
        resource = _resource(resource_id)
        as_of = _int(request.POST.get("as_of"))
        row = browsing.reveal(
            request.user,
            resource,
            rid,
            reason=request.POST.get("reason", ""),
            as_of_batch=as_of,
            request=request,
        )
    except ValidationFailed as exc:
        return render(
            request,
            "dataplane/browse/reveal.html",
            {
                "resource": resource,
                "version": resource.published_version,
                "tab": "browse",
                "error": exc,
                "rid": rid,
                "back": _back(resource_id, request),
            },
            status=400,
        )
    except DomainError as exc:
        return error_page(request, exc)
    schema = evolution.read_schema(resource)
    context = {
        "resource": resource,
        "version": resource.published_version,
        "tab": "browse",
        "rid": rid,
        "fields": [(c.label, display.cell_value(c, row.get(c.field_name))) for c in schema.columns],
        "reason": request.POST.get("reason", "").strip(),
        "back": _back(resource_id, request),
    }
    template = "dataplane/browse/reveal.html"
    if request.headers.get("HX-Request"):
        template += "#record"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def _back(resource_id: int, request: HttpRequest) -> str:
    back = request.POST.get("back", "")
    default = reverse("browse:resource", args=[resource_id])
    return back if back.startswith(default) else default


@login_required
def download(request: HttpRequest, resource_id: int, file_format: str) -> HttpResponseBase:
    data = request.POST if request.method == "POST" else request.GET
    try:
        resource = _resource(resource_id)
        prepared = downloads.start_download(
            request.user,
            resource,
            file_format,
            unmasked=request.method == "POST" and data.get("unmasked") == "1",
            reason=data.get("reason", ""),
            as_of_batch=_int(data.get("as_of")),
            request=request,
        )
    except DomainError as exc:
        return error_page(request, exc)
    response = StreamingHttpResponse(prepared.chunks(), content_type=prepared.content_type)
    response["Content-Disposition"] = content_disposition_header(True, prepared.file_name)
    response["Cache-Control"] = "no-store"
    return response


# --- libraries -------------------------------------------------------------------------------------------------
@login_required
def library_list(request: HttpRequest) -> HttpResponse:
    try:
        libraries.check_can_view_libraries(request.user)
    except DomainError as exc:
        return error_page(request, exc)
    return render(request, "dataplane/browse/libraries.html", {"libraries": libraries.libraries()})


@login_required
def library_detail(request: HttpRequest, resource_id: int) -> HttpResponse:
    try:
        library = libraries.get_library(request.user, resource_id)
    except DomainError as exc:
        return error_page(request, exc)
    context = {
        **libraries.lineage(library),
        "resource": library.resource,
        "version": library.resource.published_version,
        "tab": "browse",
        "can_refresh": libraries.can_manage_library(request.user, library.resource),
        "can_browse": permissions.can_browse_data(request.user, library.resource),
    }
    return render(request, "dataplane/browse/library.html", context)


@login_required
@require_POST
def library_refresh(request: HttpRequest, resource_id: int) -> HttpResponse:
    try:
        library = libraries.get_library(request.user, resource_id)
        libraries.request_refresh(request.user, library, request=request)
    except DomainError as exc:
        return error_page(request, exc)
    return redirect("browse:library", resource_id=resource_id)
