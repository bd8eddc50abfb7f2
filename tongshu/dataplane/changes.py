"""A resource's change log (版本与变更记录, DESIGN §4): the rows every applied batch inserted, updated or retired, in
the order the batches were applied, for incremental sync and data push, and the rows one batch changed, for its page.

`changes()` answers one page of the changes after a batch, continuing after a cursor `<batch>:<_rid>` (keyset paging:
a consumer keeps the cursor of the last change it applied and asks again later from there). Batches are named by id,
but "after" means applied after: batch ids follow creation, and a batch created earlier (an upload waiting at its
mapping step) can be applied after a later one, so its changes come after that one's and a consumer that has read
past it still gets them (`store` keeps an apply sequence number per batch). `batch_changes()` answers the changes of
one applied batch. The log is derived by the store from the live and history tables
(`store.read_changes`); rights and masking are those of browsing (`browse.require_browse`: the provider's own
staff; sensitive items masked), so the log shows nothing the data page would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tongshu.core.errors import ValidationFailed

from . import store
from .browse import require_browse
from .masking import mask_row, masked_fields
from .models import Batch, BatchStatus
from .schema import ResourceSchema

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
BATCH_PAGE_SIZE = 50


@dataclass
class ChangeLog:
    schema: ResourceSchema
    # `_batch`, `_rid`, `_op` (insert/update/retire), `_updated_at` and the values, masked
    changes: list[dict[str, Any]]
    next_cursor: str | None  # None on the last page
    masked: dict[str, str]


def parse_cursor(text: str | None) -> store.ChangeCursor | None:
    """`<batch>:<_rid>` as a page's `next_cursor` gave it; empty means "from the start"."""
    text = (text or "").strip()
    if not text:
        return None
    batch, _, rid = text.partition(":")
    if not (batch.isdigit() and rid.isdigit()):
        raise ValidationFailed("游标格式不正确（应为“批次号:记录号”）", code="invalid_cursor", field="cursor")
    return int(batch), int(rid)


def format_cursor(cursor: store.ChangeCursor | None) -> str | None:
    return None if cursor is None else f"{cursor[0]}:{cursor[1]}"


def _page(schema: ResourceSchema, page: store.ChangePage) -> ChangeLog:
    masked = masked_fields(schema)
    return ChangeLog(
        schema=schema,
        changes=[mask_row(change, masked) for change in page.changes],
        next_cursor=format_cursor(page.next_cursor),
        masked=masked,
    )


def changes(
    actor: Any,
    resource: Any,
    *,
    after_batch: int = 0,
    until_batch: int | None = None,
    batch: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> ChangeLog:
    """The changes of the batches applied after the batch `after_batch` (0: from the first load), up to the batch
    `until_batch` if given, or of the one batch `batch`, in apply order and then `_rid` order. Each batch named must
    be an applied batch of the resource. Rights and masking as browsing."""
    schema = require_browse(actor, resource)
    for name, value in (("after_batch", after_batch), ("until_batch", until_batch), ("batch", batch)):
        if value is not None and value < 0:
            raise ValidationFailed("批次号不能为负数", code="invalid_batch", field=name)
    if batch is not None and (after_batch or until_batch is not None):
        raise ValidationFailed(
            "指定单个批次（batch）时不能同时指定起止批次", code="invalid_batch", field="batch"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"每页条数应在 1 到 {MAX_LIMIT} 之间", code="invalid_limit", field="limit")
    position = parse_cursor(cursor)
    try:
        page = store.read_changes(
            schema, after_batch, limit=limit, cursor=position, until_batch=until_batch, batch=batch
        )
    except store.UnknownBatch as exc:
        if position is not None and exc.batch_id == position[0]:
            raise ValidationFailed(
                "游标中的批次不是本资源已加载的批次", code="invalid_cursor", field="cursor"
            ) from None
        field = next(
            name
            for name, value in (("batch", batch), ("after_batch", after_batch), ("until_batch", until_batch))
            if value == exc.batch_id
        )
        raise ValidationFailed(exc.message, code="invalid_batch", field=field) from None
    return _page(schema, page)


def batch_changes(
    actor: Any, batch: Batch, *, after_rid: int | None = None, limit: int = BATCH_PAGE_SIZE
) -> ChangeLog:
    """The rows one applied batch inserted, updated or retired, in `_rid` order after `after_rid`. A batch that was
    not applied changed nothing."""
    schema = require_browse(actor, batch.resource)
    if batch.status != BatchStatus.APPLIED:
        return ChangeLog(schema=schema, changes=[], next_cursor=None, masked=masked_fields(schema))
    page = store.read_changes(
        schema, batch=batch.pk, limit=limit, cursor=(batch.pk, after_rid) if after_rid else None
    )
    return _page(schema, page)
