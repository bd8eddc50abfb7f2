"""Rows into the shared pipeline: the ways in that produce rows rather than files (pulls, e-forms, collection) write
them as a CSV file into the upload directory through `services.submit_file`, then `services.apply_batch` runs the one
pipeline. A way in that fails before it has rows records a failed batch with the reason, so every attempt shows in the
resource's batch list and the data stays as it was.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.utils import timezone

from tongshu.security.audit import record

from . import services
from .models import Batch, BatchStatus


def cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    from .sources.database import to_text

    return to_text(value)


def rows_to_csv(rows: Iterable[dict[str, Any]], header: list[str], target: Any) -> int:
    """Write rows (dicts) under `header` into a binary file; returns the number of rows."""
    text = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in header])
        count += 1
    text.flush()
    text.detach()
    return count


def submit_rows(
    actor: Any,
    resource: Any,
    rows: list[dict[str, Any]],
    *,
    source: str,
    mode: str = "upsert",
    file_name: str = "rows.csv",
    mapping: dict[str, str] | None = None,
    apply: bool = True,
) -> Batch:
    """A small batch of rows (keys = field names, or source names with `mapping`) through submit_file and the
    pipeline. Large pulls spool to disk with `submit_spooled` instead."""
    header = list(dict.fromkeys(name for row in rows for name in row))
    buffer = io.BytesIO()
    rows_to_csv(rows, header, buffer)
    buffer.seek(0)
    batch = services.submit_file(
        actor,
        resource,
        buffer,
        file_name=file_name,
        mode=mode,
        mapping=mapping or {name: name for name in header},
        source=source,
    )
    return services.apply_batch(batch.pk) if apply else batch


def submit_spooled(
    actor: Any,
    resource: Any,
    path: Path,
    *,
    source: str,
    mode: str,
    mapping: dict[str, str],
    file_name: str,
) -> Batch:
    with open(path, "rb") as handle:
        batch = services.submit_file(
            actor, resource, handle, file_name=file_name, mode=mode, mapping=mapping, source=source
        )
    return services.apply_batch(batch.pk)


def spool_file() -> Path:
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        dir=services.upload_dir(), prefix="spool-", suffix=".csv", delete=False
    )
    handle.close()
    return Path(handle.name)


def record_failure(
    actor: Any, resource: Any, *, source: str, mode: str, message: str, reason_code: str = "source_fault"
) -> Batch:
    """A batch that never reached the pipeline (the source could not be read): failed, with the reason."""
    now = timezone.now()
    batch = Batch.objects.create(
        resource=resource,
        source=source,
        mode=mode,
        status=BatchStatus.FAILED,
        submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
        started_at=now,
        finished_at=now,
        message=message,
        reason_code=reason_code,
    )
    record(
        "batch.failed",
        actor=actor if getattr(actor, "pk", None) else None,
        organization=resource.provider,
        target=batch,
        details={"resource": resource.code, "source": source, "message": message},
    )
    return batch
