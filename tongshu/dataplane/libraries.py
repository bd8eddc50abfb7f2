"""Base and thematic libraries (第十四条): 人口, 法人, 自然资源和空间地理, 信用信息, 电子证照 base libraries and thematic
libraries are published resources whose tables are assembled from other resources by declared mappings.

A library's mappings, in order: each *union* mapping adds the rows of a source (mapped field by field; when two
sources hold the same key, the earlier mapping wins), each *join* mapping fills more fields of the rows already there
from a source matched on key items. A refresh assembles the whole table and loads it as one batch (source `library`,
mode replace) through the same pipeline as every other load, so the library's data is validated against its own
items and its history and change log are kept. A refresh is queued whenever a batch is applied to one of its
sources (`signals.batch_applied`), and can be asked for by hand.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task

from tongshu.accounts.roles import DEPARTMENT_MANAGER_ROLES, Role
from tongshu.catalog.models import Resource
from tongshu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import evolution, services, store
from .models import Batch, BatchMode, BatchSource, BatchStatus, ResourceData
from .models_libraries import (
    Library,
    LibraryKind,
    LibraryMapping,
    LibraryTheme,
    MappingKind,
    RefreshStatus,
)
from .schema import ResourceSchema
from .signals import batch_applied

log = logging.getLogger(__name__)


# --- who may manage libraries ----------------------------------------------------------------------------------
def can_manage_library(user: Any, resource: Any) -> bool:
    """The operator (大数据中心 builds the base libraries) and the library resource's own managers."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    if user.has_role(Role.OPERATOR_ADMIN):
        return True
    return bool(user.organization_id == resource.provider_id and user.has_role(*DEPARTMENT_MANAGER_ROLES))


def can_view_libraries(user: Any) -> bool:
    """Libraries, their mappings and lineage are shown to government staff (anyone of an organization)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "organization_id", None) is not None
    )


def check_can_view_libraries(user: Any) -> None:
    if not can_view_libraries(user):
        raise PermissionDenied("基础库和主题库仅对政务部门用户开放", code="forbidden")


def get_library(user: Any, resource_id: Any) -> Library:
    """The library of a resource, for someone who may see libraries (403 otherwise; 404 when it is none)."""
    check_can_view_libraries(user)
    library = (
        Library.objects.select_related("resource__published_version", "resource__provider", "last_batch")
        .filter(resource_id=resource_id)
        .first()
    )
    if library is None:
        raise NotFound("该信息资源不是基础库或主题库", code="library_not_found")
    return library


def get_mapping(library: Library, mapping_id: int) -> LibraryMapping:
    mapping = (
        library.mappings.select_related("source__published_version", "source__provider")
        .filter(pk=mapping_id)
        .first()
    )
    if mapping is None:
        raise NotFound("该库没有这条映射", code="mapping_not_found")
    mapping.library = library
    return mapping


def _require_manager(actor: Any, resource: Any) -> None:
    if not can_manage_library(actor, resource):
        raise PermissionDenied(
            "只有系统管理员或本资源提供部门的数据管理员可以管理基础库和主题库", code="forbidden"
        )


def _published(resource: Resource, what: str) -> ResourceSchema:
    if resource.published_version is None or resource.is_retired:
        raise ValidationFailed(f"{what}必须是已发布的信息资源", code="resource_not_published")
    return evolution.read_schema(resource)


# --- declaring -------------------------------------------------------------------------------------------------
def declare_library(
    actor: Any, resource: Resource, *, kind: str, theme: str, description: str = "", request: Any = None
) -> Library:
    _require_manager(actor, resource)
    _published(resource, "基础库或主题库")
    if kind not in LibraryKind.values:
        raise ValidationFailed("库的类型无效（base 或 thematic）", code="invalid_kind", field="kind")
    if theme not in LibraryTheme.values:
        raise ValidationFailed("主题无效", code="invalid_theme", field="theme")
    with transaction.atomic():
        library, created = Library.objects.update_or_create(
            resource=resource,
            defaults={"kind": kind, "theme": theme, "description": description, "created_by": actor},
        )
        record(
            "dataplane.library_declared",
            actor=actor,
            organization=resource.provider,
            target=library,
            request=request,
            details={"resource": resource.code, "kind": kind, "theme": theme, "created": created},
        )
    return library


def _sources_of(resource_id: int, seen: set[int] | None = None) -> set[int]:
    """Every resource a library (transitively) draws from."""
    seen = seen if seen is not None else set()
    for source_id in LibraryMapping.objects.filter(library__resource_id=resource_id).values_list(
        "source_id", flat=True
    ):
        if source_id not in seen:
            seen.add(source_id)
            _sources_of(source_id, seen)
    return seen


def can_draw_from(user: Any, source: Any) -> bool:
    """Which resources may feed a library the user manages: any, for the operator (大数据中心 integrates every
    department's resources, 第十四条); for a department, its own and its affiliated units' (本部门数据资源库)."""
    if user.has_role(Role.OPERATOR_ADMIN):
        return True
    return bool(
        user.organization_id
        and (source.provider_id == user.organization_id or source.provider.parent_id == user.organization_id)
    )


def _checked_map(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationFailed(
            "字段映射应为“来源字段名 → 库字段名”的 JSON 对象", code="invalid_field_map", field=field
        )
    return dict(value)


def _check_mapping(
    actor: Any,
    library: Library,
    source: Resource,
    kind: str,
    field_map: dict[str, str],
    join_on: dict[str, str],
) -> None:
    """One check for creating and changing a mapping: both resources published, no cycle, fields exist on both
    sides, a union maps every key of the library, a join names the items it matches on."""
    target = library.resource
    _require_manager(actor, target)
    target_schema = _published(target, "基础库或主题库")
    if not can_draw_from(actor, source):
        raise PermissionDenied(
            "部门只能以本部门（含归口管理单位）的信息资源作为数据来源；跨部门汇聚由县大数据中心进行",
            code="source_forbidden",
        )
    source_schema = _published(source, "数据来源")
    if kind not in MappingKind.values:
        raise ValidationFailed("映射方式无效", code="invalid_kind", field="kind")
    if source.pk == target.pk or target.pk in _sources_of(source.pk):
        raise ValidationFailed("数据来源不能是本库自身或以本库为来源的资源（循环引用）", code="mapping_cycle")
    source_fields = {c.field_name for c in source_schema.columns}
    target_fields = {c.field_name for c in target_schema.columns}
    wrong = [f for f in [*field_map, *join_on] if f not in source_fields]
    wrong += [f for f in [*field_map.values(), *join_on.values()] if f not in target_fields]
    if wrong or not field_map:
        raise ValidationFailed(
            f"字段映射无效：{'、'.join(wrong) or '未映射任何字段'}",
            code="invalid_field_map",
            field="field_map",
        )
    if kind == MappingKind.UNION:
        missing = [k for k in target_schema.key_fields if k not in field_map.values()]
        if missing:
            labels = "、".join(target_schema.column(k).label for k in missing)
            raise ValidationFailed(f"合并映射须映射库的全部主键：{labels}", code="key_not_mapped")
    elif not join_on:
        raise ValidationFailed("关联映射须指定关联的主键信息项", code="join_on_required", field="join_on")


def add_mapping(
    actor: Any,
    library: Library,
    source: Resource,
    *,
    kind: str,
    field_map: dict[str, str],
    join_on: dict[str, str] | None = None,
    request: Any = None,
) -> LibraryMapping:
    """Declare one source of a library, after the others (a union's earlier sources win on the same key). Field
    names are checked against both published versions; a source is declared once per kind (409)."""
    _require_manager(actor, library.resource)
    field_map = _checked_map(field_map, "field_map")
    join_on = _checked_map(join_on or {}, "join_on")
    _check_mapping(actor, library, source, kind, field_map, join_on)
    with transaction.atomic():
        Library.objects.select_for_update().filter(pk=library.pk).first()  # positions are handed out in turn
        if LibraryMapping.objects.filter(library=library, source=source, kind=kind).exists():
            raise Conflict("该数据来源已以同一方式映射到本库，请修改已有的映射", code="mapping_exists")
        last = LibraryMapping.objects.filter(library=library).order_by("-position").first()
        mapping = LibraryMapping.objects.create(
            library=library,
            source=source,
            kind=kind,
            field_map=field_map,
            join_on=join_on,
            position=last.position + 1 if last else 0,
        )
        record(
            "dataplane.library_mapping_added",
            actor=actor,
            organization=library.resource.provider,
            target=library,
            request=request,
            details={"source": source.code, "kind": kind, "field_map": field_map, "join_on": join_on},
        )
    return mapping


def update_mapping(
    actor: Any,
    mapping: LibraryMapping,
    *,
    field_map: dict[str, str] | None = None,
    join_on: dict[str, str] | None = None,
    position: int | None = None,
    request: Any = None,
) -> LibraryMapping:
    """Change a mapping's fields, join items or place in the order; its source and kind stay (delete and add
    instead). Takes effect at the next refresh."""
    _require_manager(actor, mapping.library.resource)
    new_map = _checked_map(mapping.field_map if field_map is None else field_map, "field_map")
    new_join = _checked_map(mapping.join_on if join_on is None else join_on, "join_on")
    if position is not None and not 0 <= position <= 10_000:
        raise ValidationFailed("顺序应在 0 到 10000 之间", code="out_of_range", field="position")
    _check_mapping(actor, mapping.library, mapping.source, mapping.kind, new_map, new_join)
    with transaction.atomic():
        mapping.field_map, mapping.join_on = new_map, new_join
        if position is not None:
            mapping.position = position
        mapping.save(update_fields=["field_map", "join_on", "position"])
        record(
            "dataplane.library_mapping_changed",
            actor=actor,
            organization=mapping.library.resource.provider,
            target=mapping.library,
            request=request,
            details={
                "source": mapping.source.code,
                "kind": mapping.kind,
                "field_map": new_map,
                "join_on": new_join,
                "position": mapping.position,
            },
        )
    return mapping


def delete_mapping(actor: Any, mapping: LibraryMapping, *, request: Any = None) -> None:
    """Remove a source from a library; its rows leave the library at the next refresh."""
    library = mapping.library
    _require_manager(actor, library.resource)
    with transaction.atomic():
        record(
            "dataplane.library_mapping_deleted",
            actor=actor,
            organization=library.resource.provider,
            target=library,
            request=request,
            details={"source": mapping.source.code, "kind": mapping.kind},
        )
        mapping.delete()


# --- assembling ------------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    return str(value)


def _source_rows(mapping: LibraryMapping, fields: list[str]) -> Iterator[dict[str, str]]:
    schema = evolution.read_schema(mapping.source)
    for page in store.iter_pages(schema, columns=fields):
        for row in page:
            yield {name: _text(row[name]) for name in fields}


def assemble(library: Library, path: Path) -> int:
    """Write the library's rows as CSV (its items' field names as header). Memory: the keys seen, and the rows of
    the join sources, indexed by their join key."""
    target_schema = evolution.read_schema(library.resource)
    header = [column.field_name for column in target_schema.columns]
    keys = list(target_schema.key_fields)
    mappings = list(
        library.mappings.select_related("source", "source__published_version").order_by("position")
    )
    joins = []
    for mapping in (m for m in mappings if m.kind == MappingKind.JOIN):
        source_fields = list(dict.fromkeys([*mapping.join_on, *mapping.field_map]))
        index = {tuple(row[f] for f in mapping.join_on): row for row in _source_rows(mapping, source_fields)}
        joins.append((mapping, index))
    seen: set[tuple[str, ...]] = set()
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for mapping in (m for m in mappings if m.kind == MappingKind.UNION):
            for source_row in _source_rows(mapping, list(mapping.field_map)):
                row = dict.fromkeys(header, "")
                for source_field, target_field in mapping.field_map.items():
                    row[target_field] = source_row[source_field]
                key = tuple(row[k] for k in keys)
                if keys and key in seen:
                    continue  # an earlier source already holds this record
                seen.add(key)
                for join, index in joins:
                    match = index.get(tuple(row[t] for t in join.join_on.values()))
                    if match is not None:
                        for source_field, target_field in join.field_map.items():
                            if match[source_field] != "":
                                row[target_field] = match[source_field]
                writer.writerow([row[name] for name in header])
                count += 1
    return count


UNCHANGED = "数据来源自上次刷新以来没有变化，未生成新批次"


def _unchanged_since_last_refresh(resource: Resource, digest: str) -> Batch | None:
    """The library batch the resource's data comes from, if it held exactly the rows just assembled: then no source
    changed anything the library shows, and a new full replace would only be an empty batch in its history."""
    data = ResourceData.objects.filter(resource=resource).select_related("last_batch").first()
    last = data.last_batch if data is not None else None
    if (
        last is not None
        and last.source == BatchSource.LIBRARY
        and last.status == BatchStatus.APPLIED
        and last.content_hash == digest
    ):
        return last
    return None


def refresh(library: Library, *, actor: Any = None) -> Batch | None:
    """Assemble the library and load it as one replace batch through the pipeline. Returns None when no batch was
    made: the sources hold no rows yet, or nothing changed since the last refresh (the assembled rows are those the
    library's last batch loaded)."""
    resource = Resource.objects.select_related("published_version", "provider").get(pk=library.resource_id)
    upload = services.upload_dir()
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    path = upload / f"library-{resource.pk}-{stamp}.csv"
    try:
        rows = assemble(library, path)
    except Exception as exc:
        path.unlink(missing_ok=True)
        _set_status(library, RefreshStatus.FAILED, f"汇聚失败：{exc}")
        raise
    if rows == 0:
        path.unlink(missing_ok=True)
        _set_status(library, RefreshStatus.REJECTED, "数据来源中还没有数据，未刷新")
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if _unchanged_since_last_refresh(resource, digest) is not None:
        path.unlink(missing_ok=True)
        _set_status(library, RefreshStatus.APPLIED, UNCHANGED)
        return None
    batch = Batch.objects.create(
        resource=resource,
        source=BatchSource.LIBRARY,
        mode=BatchMode.REPLACE,
        content_hash=digest,
        file_path=str(path),
        file_name=f"{resource.published_version.name}.csv",  # type: ignore[union-attr]
        file_format="csv",
        file_size=path.stat().st_size,
        submitted_by=actor if getattr(actor, "pk", None) else None,
    )
    batch = services.apply_batch(batch.pk)
    status = RefreshStatus.APPLIED if batch.status == BatchStatus.APPLIED else RefreshStatus.REJECTED
    message = "" if status == RefreshStatus.APPLIED else (batch.message or "汇聚结果未通过校验")
    Library.objects.filter(pk=library.pk).update(
        refresh_status=status,
        last_refreshed_at=timezone.now(),
        last_batch=batch,
        refresh_message=message,
    )
    return batch


def _set_status(library: Library, status: str, message: str) -> None:
    Library.objects.filter(pk=library.pk).update(
        refresh_status=status, refresh_message=message, last_refreshed_at=timezone.now()
    )


def request_refresh(actor: Any, library: Library, *, request: Any = None) -> None:
    _require_manager(actor, library.resource)
    record(
        "dataplane.library_refresh_requested",
        actor=actor,
        organization=library.resource.provider,
        target=library,
        request=request,
        details={"resource": library.resource.code},
    )
    _queue(library)


def _queue(library: Library) -> None:
    Library.objects.filter(pk=library.pk).update(refresh_status=RefreshStatus.QUEUED)
    transaction.on_commit(lambda: refresh_library.enqueue(library.pk))


@task()
def refresh_library(library_id: int) -> int | None:
    library = Library.objects.select_related("resource").filter(pk=library_id).first()
    if library is None:
        return None
    batch = refresh(library)
    return batch.pk if batch else None


@receiver(batch_applied)
def refresh_libraries_fed_by(sender: Any, batch: Any, resource: Any, **kwargs: Any) -> None:
    """A source changed: queue a refresh of every library it feeds."""
    for library in Library.objects.filter(mappings__source=resource).distinct():
        _queue(library)


# --- lineage ---------------------------------------------------------------------------------------------------
def lineage(library: Library) -> dict[str, Any]:
    """Sources → library, with each source's last load and the library's last refresh, for its page."""
    target_schema = evolution.read_schema(library.resource)
    labels = {c.field_name: c.label for c in target_schema.columns}
    sources = []
    for mapping in library.mappings.select_related("source", "source__published_version", "source__provider"):
        source_labels = {c.field_name: c.label for c in evolution.read_schema(mapping.source).columns}
        data = ResourceData.objects.filter(resource=mapping.source).first()
        pairs = {
            name: [
                {
                    "source_field": s,
                    "source_label": source_labels.get(s, s),
                    "target_field": t,
                    "target_label": labels.get(t, t),
                }
                for s, t in getattr(mapping, name).items()
            ]
            for name in ("field_map", "join_on")
        }
        sources.append(
            {
                "mapping": mapping,
                "resource": mapping.source,
                "fields": [(p["source_label"], p["target_label"]) for p in pairs["field_map"]],
                "join_on": [(p["source_label"], p["target_label"]) for p in pairs["join_on"]],
                "field_pairs": pairs["field_map"],
                "join_pairs": pairs["join_on"],
                "last_loaded_at": data.last_loaded_at if data else None,
                "rows": data.row_count if data else 0,
            }
        )
    data = ResourceData.objects.filter(resource=library.resource).first()
    return {"library": library, "sources": sources, "rows": data.row_count if data else 0}


def libraries() -> list[Library]:
    return list(
        Library.objects.select_related(
            "resource", "resource__published_version", "resource__provider", "last_batch"
        )
        .prefetch_related("mappings__source__published_version")
        .order_by("kind", "resource__code")
    )
