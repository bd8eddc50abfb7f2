"""Browsing a resource's data (数据浏览) and the audited reveal of masked values.

`browse()` answers one page of a resource's rows (live, or as of an applied batch) with filters on its queryable
items and a sort, sensitive items masked; a masked item is filtered by its whole value only for those who may not
reveal it (a prefix would give it away). `reveal()` returns one row unmasked for the request that asked, after
checking the right and a typed reason, and writes the audit entry with the record's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongshu.core.errors import NotFound, PermissionDenied, RateLimited, ValidationFailed
from tongshu.security.audit import record
from tongshu.security.models import AuditEntry

from . import evolution, permissions, store
from .masking import mask_row, masked_fields
from .models import Batch, BatchStatus
from .schema import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    DECIMAL_TYPES,
    FLOAT_TYPES,
    INTEGER_TYPES,
    Column,
    ResourceSchema,
)

PAGE_SIZE = 50
MAX_PAGE = 10_000  # deep pages are for downloads, not for paging by hand


@dataclass
class BrowseQuery:
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    page: int = 1
    page_size: int = PAGE_SIZE
    as_of_batch: int | None = None


@dataclass
class BrowsePage:
    schema: ResourceSchema
    rows: list[dict[str, Any]]
    total: int
    query: BrowseQuery
    masked: dict[str, str]
    can_reveal: bool
    exact: set[str] = field(
        default_factory=set
    )  # text items this user filters by equality (masked, no reveal)

    @property
    def pages(self) -> int:
        return max((self.total + self.query.page_size - 1) // self.query.page_size, 1)


def require_browse(actor: Any, resource: Any) -> ResourceSchema:
    if not permissions.can_browse_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的工作人员可以浏览本资源的数据", code="forbidden")
    if resource.published_version is None:
        raise NotFound("该信息资源尚未发布", code="resource_not_published")
    return evolution.read_schema(resource)


def parse_filter(column: Column, text: str, *, exact: bool = False) -> tuple[str, str, Any]:
    """A filter value typed as its item: text matches by prefix (by equality when `exact`), everything else by
    equality."""
    text = text.strip()
    kind = column.data_type
    try:
        if kind in INTEGER_TYPES:
            return column.field_name, "eq", int(text)
        if kind in DECIMAL_TYPES:
            return column.field_name, "eq", Decimal(text)
        if kind in FLOAT_TYPES:
            return column.field_name, "eq", float(text)
        if kind in DATE_TYPES:
            return column.field_name, "eq", date.fromisoformat(text)
        if kind in DATETIME_TYPES:
            return column.field_name, "eq", datetime.fromisoformat(text)
        if kind in BOOLEAN_TYPES:
            return column.field_name, "eq", text in ("1", "是", "true", "True")
    except (ValueError, InvalidOperation):
        raise ValidationFailed(
            f"“{column.label}”的筛选值格式不正确", code="invalid_filter", field=column.field_name
        ) from None
    if column.code_values:
        names = {name: code for code, name in column.code_values}
        return column.field_name, "eq", names.get(text, text)
    return column.field_name, "eq" if exact else "prefix", text


def exact_only(actor: Any, resource: Any, masked: dict[str, str]) -> set[str]:
    """Masked items a user may not reveal are matched exactly, never by prefix: otherwise a browse-only user could
    recover a masked ID number digit by digit (f_resident_id=430623195903 …) without any audited reveal."""
    return set() if permissions.can_reveal_data(actor, resource) else set(masked)


MASKED_LOOKUP = "dataplane.masked_lookup"


def _limit_masked_lookups(actor: Any, resource: Any, schema: ResourceSchema, fields: list[str]) -> None:
    """An exact-match filter on a masked item, by a user who may not reveal it, confirms or refutes a guess of the
    hidden value (is this ID number in the data?). Each such query is audited (the items, never the value), and a
    user who made `DATAPLANE_MASKED_LOOKUPS_PER_HOUR` of them on the resource in the last hour is refused (429)."""
    limit = settings.DATAPLANE_MASKED_LOOKUPS_PER_HOUR
    recent = AuditEntry.objects.filter(
        action=MASKED_LOOKUP,
        actor_id=getattr(actor, "pk", None),
        object_type=resource._meta.label_lower,
        object_id=str(resource.pk),
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    if recent >= limit:
        raise RateLimited(
            f"按敏感信息项精确查询过于频繁：每小时最多 {limit} 次，请稍后再试；需要核对更多记录请联系有查看权限的人员",
            code="masked_lookup_limited",
        )
    record(
        MASKED_LOOKUP,
        actor=actor,
        organization=resource.provider,
        target=resource,
        details={"resource": resource.code, "fields": [schema.column(name).label for name in fields]},
    )


def applied_batches(resource: Any, schema: ResourceSchema, limit: int = 100) -> list[Batch]:
    """The resource's applied batches for the as-of choice, the last applied first: the store's apply order, which
    is not the order of their ids (an upload applied after a later push comes after it)."""
    order = store.apply_order(schema)[::-1][:limit]
    found = Batch.objects.in_bulk(order)
    return [found[pk] for pk in order if pk in found and found[pk].status == BatchStatus.APPLIED]


def _check_batch(resource: Any, batch_id: int | None) -> None:
    if (
        batch_id is not None
        and not Batch.objects.filter(pk=batch_id, resource=resource, status=BatchStatus.APPLIED).exists()
    ):
        raise ValidationFailed("所选批次不存在或未加载成功", code="invalid_batch", field="as_of")


def browse(actor: Any, resource: Any, query: BrowseQuery) -> BrowsePage:
    schema = require_browse(actor, resource)
    _check_batch(resource, query.as_of_batch)
    queryable = {column.field_name: column for column in schema.columns if column.is_queryable}
    masked = masked_fields(schema)
    exact = exact_only(actor, resource, masked)
    conditions, guessed = [], []
    for name, text in query.filters.items():
        if not (text or "").strip():
            continue
        if name not in queryable:
            raise ValidationFailed("只能按可查询的信息项筛选", code="not_queryable", field=name)
        conditions.append(parse_filter(queryable[name], text, exact=name in exact))
        if name in exact:
            guessed.append(name)
    if guessed:
        _limit_masked_lookups(actor, resource, schema, guessed)
    fields = {column.field_name for column in schema.columns}
    sort = query.sort if query.sort in fields else ""
    query.page = min(max(query.page, 1), MAX_PAGE)
    total, rows = store.search_rows(
        schema,
        conditions=conditions,
        sort=sort or None,
        descending=query.descending,
        limit=query.page_size,
        offset=(query.page - 1) * query.page_size,
        as_of_batch=query.as_of_batch,
    )
    return BrowsePage(
        schema=schema,
        rows=[mask_row(row, masked) for row in rows],
        total=total,
        query=query,
        masked=masked,
        can_reveal=permissions.can_reveal_data(actor, resource),
        exact=exact,
    )


def reveal_reason(actor: Any, resource: Any, reason: str | None) -> str:
    """The checked reason for revealing a resource's sensitive items: only those who may reveal them
    (`permissions.can_reveal_data`), with a typed reason (第三十三条)."""
    if not permissions.can_reveal_data(actor, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以查看敏感项原文", code="forbidden")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed("查看敏感项原文须填写事由", code="reason_required", field="reason")
    return reason


def record_reveal(
    actor: Any,
    resource: Any,
    schema: ResourceSchema,
    row: dict[str, Any],
    rid: int | None,
    reason: str,
    *,
    request: Any = None,
    **details: Any,
) -> None:
    """The audit entry of a reveal: the record's key, the masked items shown and the reason (plus `details`, which
    may narrow `fields`). `rid` is None for values not stored yet (a collection submission under review)."""
    record(
        "dataplane.data_revealed",
        actor=actor,
        organization=resource.provider,
        target=resource,
        request=request,
        details={
            "resource": resource.code,
            "record_key": {name: str(row.get(name)) for name in schema.key_fields} or {"_rid": str(rid)},
            "rid": rid,
            "fields": sorted(masked_fields(schema)),
            "reason": reason[:500],
            **details,
        },
    )


def reveal(
    actor: Any,
    resource: Any,
    rid: int,
    *,
    reason: str,
    as_of_batch: int | None = None,
    request: Any = None,
) -> dict[str, Any]:
    """One record unmasked, for this request only (第三十三条). The audit entry names the record's key and the
    reason the user typed."""
    schema = require_browse(actor, resource)
    reason = reveal_reason(actor, resource, reason)
    _check_batch(resource, as_of_batch)
    row = store.get_row(schema, rid, as_of_batch=as_of_batch)
    if row is None:
        raise NotFound("记录不存在", code="record_not_found")
    record_reveal(actor, resource, schema, row, rid, reason, request=request, as_of_batch=as_of_batch)
    return row
