"""`/api/v1/data/browse`: a resource's data as the 数据浏览 page gives it — one page of rows with sensitive items
masked, the streamed downloads, the audited reveal of one record (第三十三条), and the change log (the rows each
applied batch inserted, updated or retired, for incremental sync).

Thin: the same services as the pages (`browse.browse`, `browse.reveal`, `downloads.start_download`,
`changes.changes`), so filtering, masking, rights and audit entries are identical. Only signed-in people call these: `permissions.can_browse_data`
answers for the provider's own staff, never for an application key (refused with 403 `user_required`).
Filters are query parameters `f_<field name>=<value>` on queryable items, as on the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Schema
from pydantic import Field

from tongshu.catalog.models import Resource
from tongshu.core.api_auth import calling_user
from tongshu.core.errors import NotFound

from . import browse as browsing
from . import changes as change_log
from . import downloads, evolution
from .api import ERRORS
from .browse import BrowseQuery

router = Router(tags=["data"])
MAX_PAGE_SIZE = 500


class ColumnOut(Schema):
    field: str
    label: str
    masked: bool


class RowsOut(Schema):
    count: int
    page: int
    page_size: int
    pages: int
    can_reveal: bool
    exact_fields: list[str]
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class RowsParams(Schema):
    sort: str = ""
    dir: str = Field("asc", pattern="^(asc|desc)$")
    page: int = Field(1, ge=1, le=browsing.MAX_PAGE)
    page_size: int = Field(browsing.PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    as_of_batch: int | None = None


class ChangesParams(Schema):
    after_batch: int = Field(0, ge=0)
    until_batch: int | None = Field(None, ge=0)
    batch: int | None = Field(None, ge=1)
    cursor: str = Field("", max_length=50)
    limit: int = Field(change_log.DEFAULT_LIMIT, ge=1, le=change_log.MAX_LIMIT)


class ChangeOut(Schema):
    batch: int
    rid: int
    op: str
    updated_at: datetime
    row: dict[str, Any]


class ChangesOut(Schema):
    after_batch: int
    until_batch: int | None
    batch: int | None
    limit: int
    next_cursor: str | None
    columns: list[ColumnOut]
    changes: list[ChangeOut]


class RevealIn(Schema):
    reason: str = ""
    as_of_batch: int | None = None


class RevealOut(Schema):
    rid: int
    row: dict[str, Any]


def _resource(resource_id: int) -> Resource:
    resource = Resource.objects.select_related("provider", "published_version").filter(pk=resource_id).first()
    if resource is None or resource.published_version is None:
        raise NotFound("信息资源不存在或尚未发布", code="resource_not_found")
    return resource


def _row(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {"_rid": row["_rid"], **{name: row.get(name) for name in names}}


@router.get(
    "/{resource_id}/rows",
    response={200: RowsOut, **ERRORS, 422: Any},
    url_name="data_browse_rows",
    summary="浏览数据（敏感项脱敏）",
)
def rows(request: HttpRequest, resource_id: int, params: Annotated[RowsParams, Query()]) -> Any:
    """One page of the resource's rows, live or as of an applied batch (`as_of_batch`). Filter with
        `f_<field>=<value>` on queryable items (text by prefix, other types by equality; masked items by their whole
    value for callers who may not reveal them, `exact_fields`); sort by a field with
        `sort` and `dir=asc|desc`. Sensitive items are masked exactly as on the page; each row carries its `_rid`
        for the reveal."""
    user = calling_user(request)
    resource = _resource(resource_id)
    query = BrowseQuery(
        filters={key[2:]: request.GET.get(key, "") for key in request.GET if key.startswith("f_")},
        sort=params.sort,
        descending=params.dir == "desc",
        page=params.page,
        page_size=params.page_size,
        as_of_batch=params.as_of_batch,
    )
    page = browsing.browse(user, resource, query)
    names = [column.field_name for column in page.schema.columns]
    return {
        "count": page.total,
        "page": page.query.page,
        "page_size": page.query.page_size,
        "pages": page.pages,
        "can_reveal": page.can_reveal,
        "exact_fields": sorted(page.exact),
        "columns": [
            {"field": c.field_name, "label": c.label, "masked": c.field_name in page.masked}
            for c in page.schema.columns
        ],
        "rows": [_row(row, names) for row in page.rows],
    }


@router.get(
    "/{resource_id}/download.{file_format}",
    response={200: None, **ERRORS},
    url_name="data_browse_download",
    summary="下载数据（CSV / JSON / XLSX，敏感项脱敏）",
)
def download(request: HttpRequest, resource_id: int, file_format: str, as_of_batch: int | None = None) -> Any:
    """The whole resource (or as of an applied batch) streamed as the page's download gives it: CSV (UTF-8 with
    BOM), JSON or XLSX, sensitive items masked. Every download is audited."""
    user = calling_user(request)
    resource = _resource(resource_id)
    prepared = downloads.start_download(user, resource, file_format, as_of_batch=as_of_batch, request=request)
    response = StreamingHttpResponse(prepared.chunks(), content_type=prepared.content_type)
    response["Content-Disposition"] = content_disposition_header(True, prepared.file_name)
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "/{resource_id}/reveal/{rid}",
    response={200: RevealOut, **ERRORS, 422: Any},
    url_name="data_browse_reveal",
    summary="查看一条记录的敏感项原文（须填写事由，留痕）",
)
def reveal(request: HttpRequest, resource_id: int, rid: int, body: RevealIn, response: HttpResponse) -> Any:
    """One record unmasked, for the provider's data administrators and CDO, with a typed reason; the audit entry
    names the record's key and the reason. Signed-in people only."""
    user = calling_user(request)
    resource = _resource(resource_id)
    row = browsing.reveal(
        user, resource, rid, reason=body.reason, as_of_batch=body.as_of_batch, request=request
    )
    names = [column.field_name for column in evolution.read_schema(resource).columns]
    response["Cache-Control"] = "no-store"
    return {"rid": rid, "row": {name: row.get(name) for name in names}}


@router.get(
    "/{resource_id}/changes",
    response={200: ChangesOut, **ERRORS, 422: Any},
    url_name="data_browse_changes",
    summary="变更记录（增量同步，敏感项脱敏）",
)
def changes(request: HttpRequest, resource_id: int, params: Annotated[ChangesParams, Query()]) -> Any:
    """The rows each batch applied after the batch `after_batch` inserted, updated or retired (`op`: `insert`,
    `update`, `retire`), in the order the batches were applied (not always the order of their ids: an upload can be
    applied after a later push), with the row's values after the change (for a retire, as it was retired). `rid` is
    the record's stable identity. Page with `cursor` = the previous page's `next_cursor` (null on the last page); to
    resume later, keep `<batch>:<rid>` of the last change applied. `until_batch` stops at that batch; `batch` gives
    one batch's changes. Batches named must be applied batches of the resource (`400 invalid_batch`). Sensitive items
    are masked as on the data page."""
    user = calling_user(request)
    resource = _resource(resource_id)
    log = change_log.changes(
        user,
        resource,
        after_batch=params.after_batch,
        until_batch=params.until_batch,
        batch=params.batch,
        cursor=params.cursor,
        limit=params.limit,
    )
    names = [column.field_name for column in log.schema.columns]
    return {
        "after_batch": params.after_batch,
        "until_batch": params.until_batch,
        "batch": params.batch,
        "limit": params.limit,
        "next_cursor": log.next_cursor,
        "columns": [
            {"field": c.field_name, "label": c.label, "masked": c.field_name in log.masked}
            for c in log.schema.columns
        ],
        "changes": [
            {
                "batch": change["_batch"],
                "rid": change["_rid"],
                "op": change["_op"],
                "updated_at": change["_updated_at"].replace(tzinfo=UTC),  # the store keeps UTC, naive
                "row": {name: change.get(name) for name in names},
            }
            for change in log.changes
        ],
    }
