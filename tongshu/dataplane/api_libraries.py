"""`/api/v1/data/libraries`: base and thematic libraries (第十四条).

A library is a published resource whose table is assembled from other resources by declared mappings (union of
rows, join of more items on key items). Government staff read libraries, their mappings and lineage (as on the
pages); the operator (大数据中心) and the library resource's own data administrators and CDO declare a library,
add, change and delete its mappings and ask for a refresh, which a worker runs through the ingest pipeline. Every
endpoint calls `libraries`, the services the pages call; a department may only draw from its own resources.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from tongshu.catalog.models import Resource
from tongshu.core.api_auth import calling_user
from tongshu.core.errors import NotFound

from . import libraries
from .api import ERRORS
from .models_libraries import Library, LibraryMapping, LibraryTheme, RefreshStatus

router = Router(tags=["data-libraries"])


class LibraryOut(Schema):
    resource_id: int
    resource_code: str
    name: str
    provider: str
    kind: str
    kind_label: str
    theme: str
    theme_label: str
    description: str
    refresh_status: str
    refresh_status_label: str
    last_refreshed_at: datetime | None
    last_batch_id: int | None
    refresh_message: str
    can_manage: bool


class LibraryIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str
    theme: str = LibraryTheme.OTHER
    description: str = ""


class FieldPairOut(Schema):
    source_field: str
    source_label: str
    target_field: str
    target_label: str


class MappingOut(Schema):
    id: int
    position: int
    kind: str
    source_id: int
    source_code: str
    source_name: str
    field_map: dict[str, str]
    join_on: dict[str, str]


class MappingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    source_id: int
    kind: str
    field_map: dict[str, str]
    join_on: dict[str, str] = {}


class MappingPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    field_map: dict[str, str] | None = None
    join_on: dict[str, str] | None = None
    position: int | None = None


class LineageSourceOut(MappingOut):
    provider: str
    rows: int
    last_loaded_at: datetime | None
    fields: list[FieldPairOut]
    join_fields: list[FieldPairOut]


class LineageOut(Schema):
    library: LibraryOut
    rows: int
    sources: list[LineageSourceOut]


class RefreshOut(Schema):
    resource_id: int
    refresh_status: str
    message: str


def library_out(user: Any, library: Library) -> dict[str, Any]:
    resource = library.resource
    version = resource.published_version
    return {
        "resource_id": resource.pk,
        "resource_code": resource.code or "",
        "name": version.name if version else str(resource),
        "provider": resource.provider.name,
        "kind": library.kind,
        "kind_label": str(library.get_kind_display()),
        "theme": library.theme,
        "theme_label": str(library.get_theme_display()),
        "description": library.description,
        "refresh_status": library.refresh_status,
        "refresh_status_label": str(library.get_refresh_status_display()),
        "last_refreshed_at": library.last_refreshed_at,
        "last_batch_id": library.last_batch_id,
        "refresh_message": library.refresh_message,
        "can_manage": libraries.can_manage_library(user, resource),
    }


def mapping_out(mapping: LibraryMapping) -> dict[str, Any]:
    source = mapping.source
    version = source.published_version
    return {
        "id": mapping.pk,
        "position": mapping.position,
        "kind": mapping.kind,
        "source_id": source.pk,
        "source_code": source.code or "",
        "source_name": version.name if version else str(source),
        "field_map": mapping.field_map,
        "join_on": mapping.join_on,
    }


def _mappings(library: Library) -> list[LibraryMapping]:
    return list(library.mappings.select_related("source__published_version").order_by("position", "pk"))


@router.get("", response={200: list[LibraryOut], **ERRORS}, summary="基础库和主题库列表")
def library_list(request: HttpRequest) -> Any:
    user = calling_user(request)
    libraries.check_can_view_libraries(user)
    return [library_out(user, library) for library in libraries.libraries()]


@router.get("/{resource_id}", response={200: LibraryOut, **ERRORS}, summary="基础库或主题库详情")
def library_detail(request: HttpRequest, resource_id: int) -> Any:
    user = calling_user(request)
    return library_out(user, libraries.get_library(user, resource_id))


@router.put("/{resource_id}", response={200: LibraryOut, **ERRORS}, summary="声明为基础库或主题库")
def library_declare(request: HttpRequest, resource_id: int, body: LibraryIn) -> Any:
    """Mark a published resource as a base (`base`) or thematic (`thematic`) library, or change its theme and
    description. The operator, or the resource's own data administrators and CDO."""
    user = calling_user(request)
    libraries.check_can_view_libraries(user)
    resource = Resource.objects.select_related("published_version", "provider").filter(pk=resource_id).first()
    if resource is None:
        raise NotFound("信息资源不存在", code="resource_not_found")
    libraries.declare_library(
        user,
        resource,
        kind=body.kind,
        theme=body.theme,
        description=body.description.strip(),
        request=request,
    )
    return library_out(user, libraries.get_library(user, resource_id))


@router.get("/{resource_id}/lineage", response={200: LineageOut, **ERRORS}, summary="数据血缘")
def library_lineage(request: HttpRequest, resource_id: int) -> Any:
    """Sources → library, as on the library's page: each source with its provider, records and last load, and the
    fields it maps (source → library)."""
    user = calling_user(request)
    library = libraries.get_library(user, resource_id)
    view = libraries.lineage(library)
    return {
        "library": library_out(user, library),
        "rows": view["rows"],
        "sources": [
            {
                **mapping_out(source["mapping"]),
                "provider": source["resource"].provider.name,
                "rows": source["rows"],
                "last_loaded_at": source["last_loaded_at"],
                "fields": source["field_pairs"],
                "join_fields": source["join_pairs"],
            }
            for source in view["sources"]
        ],
    }


@router.get("/{resource_id}/mappings", response={200: list[MappingOut], **ERRORS}, summary="映射列表")
def mapping_list(request: HttpRequest, resource_id: int) -> Any:
    """In order: unions first win on the same key; joins fill items of the rows already there."""
    library = libraries.get_library(calling_user(request), resource_id)
    return [mapping_out(mapping) for mapping in _mappings(library)]


@router.post("/{resource_id}/mappings", response={201: MappingOut, **ERRORS}, summary="新增映射")
def mapping_create(request: HttpRequest, resource_id: int, body: MappingIn) -> Any:
    """`kind` = `union` (field_map must cover the library's key items) or `join` (with `join_on`: source field →
    library key field). Field names are the `f001`… names of each side's published version. Takes effect at the
    next refresh."""
    user = calling_user(request)
    library = libraries.get_library(user, resource_id)
    source = (
        Resource.objects.select_related("published_version", "provider").filter(pk=body.source_id).first()
    )
    if source is None:
        raise NotFound("数据来源资源不存在", code="source_not_found")
    mapping = libraries.add_mapping(
        user,
        library,
        source,
        kind=body.kind,
        field_map=body.field_map,
        join_on=body.join_on,
        request=request,
    )
    return Status(201, mapping_out(libraries.get_mapping(library, mapping.pk)))


@router.patch(
    "/{resource_id}/mappings/{mapping_id}", response={200: MappingOut, **ERRORS}, summary="修改映射"
)
def mapping_update(request: HttpRequest, resource_id: int, mapping_id: int, body: MappingPatch) -> Any:
    """Change field_map, join_on or position (source and kind stay: delete and add instead)."""
    user = calling_user(request)
    mapping = libraries.get_mapping(libraries.get_library(user, resource_id), mapping_id)
    changes = body.dict(exclude_unset=True)
    libraries.update_mapping(
        user,
        mapping,
        field_map=changes.get("field_map"),
        join_on=changes.get("join_on"),
        position=changes.get("position"),
        request=request,
    )
    return mapping_out(mapping)


@router.delete("/{resource_id}/mappings/{mapping_id}", response={204: None, **ERRORS}, summary="删除映射")
def mapping_delete(request: HttpRequest, resource_id: int, mapping_id: int) -> Any:
    user = calling_user(request)
    mapping = libraries.get_mapping(libraries.get_library(user, resource_id), mapping_id)
    libraries.delete_mapping(user, mapping, request=request)
    return Status(204, None)


@router.post("/{resource_id}/refresh", response={202: RefreshOut, **ERRORS}, summary="刷新基础库或主题库")
def library_refresh(request: HttpRequest, resource_id: int) -> Any:
    """Queue a refresh: a worker assembles the library from its sources and loads it as one replace batch. Poll the
    library (`refresh_status`, `last_batch_id`) for the result."""
    user = calling_user(request)
    library = libraries.get_library(user, resource_id)
    libraries.request_refresh(user, library, request=request)
    library.refresh_from_db()
    return Status(
        202,
        {
            "resource_id": resource_id,
            "refresh_status": library.refresh_status or RefreshStatus.QUEUED,
            "message": "已加入刷新队列，完成后在库的刷新状态中显示结果",
        },
    )
