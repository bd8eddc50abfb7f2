"""`/api/v1/data/ways/sources`: pull sources (第十九条: 数据下发接口, a department's own database).

List, detail, create, change (PATCH), delete, run now, recent runs. Creating and changing go through
`sources.services.save_source`, the service the pages call, so the checks are the same: a single SELECT, http(s)
URLs, JSON paths, cron, mapping onto the resource's fields, limits, and the addresses a source may reach
(`sources.guard`: no SQLite, not the platform's own databases, no internal address unless TONGSHU_PULL_ALLOWED_HOSTS
lists it; 400 `database_not_allowed`, `address_not_allowed`, `platform_database`, `url_option_not_allowed`,
`host_unresolvable`). Secrets (the auth header value, the database URL
with its password) are write-only: stored encrypted with the sources key, never returned by any endpoint; answers
only say whether one is set. Mounted by `api_ways`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import PermissionDenied, ValidationFailed

from .api import ERRORS
from .models import BatchMode
from .models_sources import Cipher, PullSource, SourceRun
from .sources import services as sources
from .sources.database import show_mark
from .views_ways import loadable_resource

router = Router(tags=["data-ways"])


class SourceOut(Schema):
    id: int
    resource_id: int
    resource_code: str
    kind: str
    name: str
    is_enabled: bool
    mode: str
    schedule: str
    every_minutes: int | None
    cron: str
    mapping: dict[str, Any]
    cipher: str
    timeout_seconds: int
    page_size: int
    max_pages: int
    url: str
    auth_header_name: str
    auth_header_set: bool
    rows_path: str
    page_param: str
    size_param: str
    first_page: int
    next_link_path: str
    database_dialect: str
    database_url_set: bool
    query: str
    incremental_column: str
    high_water_mark: str
    owner: str
    updated_at: datetime
    next_run_at: datetime | None
    last_run_at: datetime | None


class SourcePatch(Schema):
    """The settings of a source; on PATCH only those sent change. Secrets: absent, null or "" keep the stored one."""

    model_config = ConfigDict(extra="forbid")  # a misspelt secret must not be silently ignored

    kind: str = ""
    name: str = ""
    is_enabled: bool = True
    mode: str = BatchMode.UPSERT
    every_minutes: int | None = None
    cron: str = ""
    mapping: dict[str, str] = {}
    cipher: str = Cipher.FERNET
    timeout_seconds: int = 30
    page_size: int = 1000
    max_pages: int = 1000
    # HTTP
    url: str = ""
    auth_header_name: str = ""
    auth_header_value: str | None = None
    rows_path: str = ""
    page_param: str = ""
    size_param: str = ""
    first_page: int = 1
    next_link_path: str = ""
    # Database
    database_url: str | None = None
    query: str = ""
    incremental_column: str = ""


class SourceIn(SourcePatch):
    resource_id: int


class RunOut(Schema):
    id: int
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    rows_fetched: int
    pages: int
    message: str
    batch_id: int | None
    batch_status: str | None


class QueuedOut(Schema):
    source_id: int
    message: str


def source_out(source: PullSource) -> dict[str, Any]:
    """What the detail page shows; secrets only as set / not set, never decrypted."""
    return {
        "id": source.pk,
        "resource_id": source.resource_id,
        "resource_code": source.resource.code,
        "kind": source.kind,
        "name": source.name,
        "is_enabled": source.is_enabled,
        "mode": source.mode,
        "schedule": source.schedule_display,
        "every_minutes": source.every_minutes,
        "cron": source.cron,
        "mapping": source.mapping or {},
        "cipher": source.cipher,
        "timeout_seconds": source.timeout_seconds,
        "page_size": source.page_size,
        "max_pages": source.max_pages,
        "url": source.url,
        "auth_header_name": source.auth_header_name,
        "auth_header_set": bool(source.auth_header_secret),
        "rows_path": source.rows_path,
        "page_param": source.page_param,
        "size_param": source.size_param,
        "first_page": source.first_page,
        "next_link_path": source.next_link_path,
        "database_dialect": source.database_dialect,
        "database_url_set": bool(source.database_secret),
        "query": source.query,
        "incremental_column": source.incremental_column,
        "high_water_mark": show_mark(source.high_water_mark),
        "owner": source.owner.get_full_name() or source.owner.get_username(),
        "updated_at": source.updated_at,
        "next_run_at": source.next_run_at,
        "last_run_at": source.last_run_at,
    }


def run_out(run: SourceRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "rows_fetched": run.rows_fetched,
        "pages": run.pages,
        "message": run.message,
        "batch_id": run.batch_id,
        "batch_status": run.batch.status if run.batch else None,
    }


def _save(actor: Any, resource: Any, values: dict[str, Any], source: PullSource | None) -> PullSource:
    auth_value = values.pop("auth_header_value", None)
    database_url = values.pop("database_url", None)
    try:
        saved = sources.save_source(
            actor, resource, values, source=source, auth_value=auth_value, database_url=database_url
        )
    except ValidationFailed as exc:
        if exc.field == "auth_value":  # the page's name for it
            exc.field = "auth_header_value"
        raise
    return sources.get_source(actor, saved.pk)


@router.get("/sources", response={200: list[SourceOut], **ERRORS}, summary="数据接入源列表")
def source_list(request: HttpRequest) -> Any:
    """The pull sources of the caller's own department (the operator admin sees all, as on the page)."""
    user = calling_user(request)
    visible = sources.sources_visible_to(user)
    if not (sources.is_manager(user) or visible.exists()):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以查看数据接入源")
    return [source_out(source) for source in visible]


@router.post("/sources", response={201: SourceOut, **ERRORS}, summary="新建数据接入源")
def source_create(request: HttpRequest, body: SourceIn) -> Any:
    """`kind` = `http` (url, auth header, pagination, rows_path) or `database` (database_url, query,
    incremental_column). Same checks as the page; 400 with `field` and nothing stored when one fails."""
    user = calling_user(request)
    if not sources.is_manager(user):
        raise PermissionDenied("只有部门数据管理员或首席数据官可以配置数据接入源")
    values = body.dict()
    resource = loadable_resource(user, values.pop("resource_id"))
    return Status(201, source_out(_save(user, resource, values, None)))


@router.get("/sources/{source_id}", response={200: SourceOut, **ERRORS}, summary="数据接入源详情")
def source_detail(request: HttpRequest, source_id: int) -> Any:
    return source_out(sources.get_source(calling_user(request), source_id))


@router.patch("/sources/{source_id}", response={200: SourceOut, **ERRORS}, summary="修改数据接入源")
def source_update(request: HttpRequest, source_id: int, body: SourcePatch) -> Any:
    """Only the settings sent change; `{"is_enabled": false}` stops the timetable (run now still works). A new
    secret replaces the stored one. Scheduled runs then load on behalf of the caller (the source's new owner)."""
    user = calling_user(request)
    source = sources.get_source(user, source_id)
    return source_out(_save(user, source.resource, body.dict(exclude_unset=True), source))


@router.delete("/sources/{source_id}", response={204: None, **ERRORS}, summary="删除数据接入源")
def source_delete(request: HttpRequest, source_id: int) -> Any:
    """The source and its runs go; the data and batches it loaded stay."""
    user = calling_user(request)
    sources.delete_source(user, sources.get_source(user, source_id))
    return Status(204, None)


@router.get("/sources/{source_id}/runs", response={200: list[RunOut], **ERRORS}, summary="最近运行")
def source_runs(request: HttpRequest, source_id: int) -> Any:
    """The last 20 runs, newest first, each with the batch it produced (failed runs carry the reason)."""
    source = sources.get_source(calling_user(request), source_id)
    return [run_out(run) for run in sources.recent_runs(source)]


@router.post("/sources/{source_id}/run", response={202: QueuedOut, **ERRORS}, summary="立即运行")
def source_run(request: HttpRequest, source_id: int) -> Any:
    """Queue a run now on behalf of the caller (pulls can take minutes); poll `runs` for its result. A source whose
    address is no longer allowed (TONGSHU_PULL_ALLOWED_HOSTS, DNS) is refused with 400 and is not queued."""
    from .tasks_sources import run_pull_source

    user = calling_user(request)
    source = sources.get_source(user, source_id)
    sources.check_manage(user, source.resource)
    sources.check_target(source)
    run_pull_source.enqueue(source.pk, user.pk)
    return Status(202, {"source_id": source.pk, "message": "已加入运行队列，完成后在最近运行中显示结果"})
