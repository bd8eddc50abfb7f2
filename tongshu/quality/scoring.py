"""A resource's quality score (第十三条: 规范性、完整性、准确性、一致性、时效性), computed from its stored data.

The live rows are scanned in chunks from the store (at most `QUALITY_SCAN_ROWS`, so a huge resource is scored on its
first rows and the details say so). Each dimension is a percentage; one that cannot be measured is None and left out
of the overall score, which is the mean of the others:
- completeness: filled values over all cells (every info item), with each item's fill rate in the details;
- validity: rows passing every value rule (type, length, code set, pattern, checksums, division codes, department
  range and pattern rules; "required" counts under completeness, not here);
- uniqueness: key duplicates cannot exist (unique index), so this measures near-duplicates: rows that repeat another
  row on every non-key item (needs two or more non-key items);
- consistency: rows passing the cross-item rules (those the bound data elements imply, ID ↔ birth date and ID ↔ sex,
  and the department's) and reference checks (None when the resource has none);
- timeliness: the last update against the update cycle (`overdue.Timeliness.score`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import polars as pl
from django.conf import settings
from django.utils import timezone

from tongshu.catalog.models import Resource
from tongshu.dataplane import store
from tongshu.dataplane.schema import ResourceSchema, schema_for_version

from .engine import ERROR, ROW, validate
from .models import QualityScore
from .overdue import timeliness
from .rules import rules_for_resource

NOT_VALIDITY = frozenset({"required", "duplicate_key"})
CROSS_CODES = frozenset({"id_birthdate", "id_sex", "date_order"})
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness")


def _as_text(frame: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """Stored (typed) values back to the strings the engine validates, numbered like a file's data rows."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            column = column.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            column = column.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif dtype == pl.Boolean:
            column = pl.when(column).then(pl.lit("1")).when(~column).then(pl.lit("0")).otherwise(None)
        else:
            column = column.cast(pl.String)
        columns.append(column.alias(name))
    rows = pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias(ROW)
    return frame.select(columns).with_columns(rows)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class _Scan:
    def __init__(self, schema: ResourceSchema, resource: Resource) -> None:
        self.schema = schema
        self.rules = rules_for_resource(resource, schema)
        self.rows = 0
        self.filled: Counter[str] = Counter()
        self.invalid_rows = 0
        self.inconsistent_rows = 0
        self.problems: Counter[str] = Counter()
        keys = set(schema.key_fields)
        self.others = [c.field_name for c in schema.columns if c.field_name not in keys]
        self.hashes: list[pl.Series] = []

    def add(self, frame: pl.DataFrame) -> None:
        text = _as_text(frame, self.rows + 1)
        self.rows += frame.height
        for name, count in zip(frame.columns, frame.select(pl.all().count()).row(0), strict=True):
            self.filled[name] += int(count)
        result = validate(text, self.schema, self.rules.column + self.rules.cross)
        errors = result.errors
        for check in self.rules.references:
            errors = pl.concat([errors, check(result.typed)])
        errors = errors.filter(pl.col("severity") == ERROR)
        for code, count in errors.group_by("code").len().iter_rows():
            self.problems[code] += int(count)
        is_cross = pl.col("code").is_in(list(CROSS_CODES | {"reference"}))
        self.invalid_rows += errors.filter(~is_cross & ~pl.col("code").is_in(list(NOT_VALIDITY)))[
            "row"
        ].n_unique()
        self.inconsistent_rows += errors.filter(is_cross)["row"].n_unique()
        if len(self.others) >= 2:
            others = frame.select(self.others).filter(~pl.all_horizontal(pl.all().is_null()))
            self.hashes.append(others.hash_rows())

    def near_duplicates(self) -> int | None:
        if len(self.others) < 2:
            return None
        if not self.hashes:
            return 0
        hashes = pl.concat(self.hashes)
        return int(hashes.len() - hashes.n_unique())


def compute_score(resource: Resource, *, at: datetime | None = None) -> QualityScore:
    """Score the resource's data as it stands and append the result to its history, recorded at `at` (default now;
    timeliness is judged at that moment too). The demo replays past loads and scores after each at its day."""
    now = at or timezone.now()
    schema = schema_for_version(resource.published_version)
    limit = int(getattr(settings, "QUALITY_SCAN_ROWS", 500_000))
    scan = _Scan(schema, resource)
    for frame in store.read_frame(schema, limit=limit):
        scan.add(frame)
    total = store.count_rows(schema) if scan.rows >= limit else scan.rows
    cells = scan.rows * len(schema.columns)
    near = scan.near_duplicates()
    has_consistency_rules = bool(scan.rules.cross or scan.rules.references)
    timely = timeliness(resource)
    scores: dict[str, float | None] = {
        "completeness": _percent(sum(scan.filled.values()), cells),
        "validity": _percent(scan.rows - scan.invalid_rows, scan.rows),
        "uniqueness": _percent(scan.rows - near, scan.rows) if near is not None else None,
        "consistency": _percent(scan.rows - scan.inconsistent_rows, scan.rows)
        if has_consistency_rules
        else None,
        "timeliness": timely.score(now),
    }
    measured = [value for value in scores.values() if value is not None]
    details: dict[str, Any] = {
        "scanned_rows": scan.rows,
        "sampled": scan.rows < total,
        "items": [
            {
                "field": column.field_name,
                "label": column.label,
                "required": column.is_required,
                "filled": _percent(scan.filled[column.field_name], scan.rows),
            }
            for column in schema.columns
        ],
        "invalid_rows": scan.invalid_rows,
        "inconsistent_rows": scan.inconsistent_rows,
        "near_duplicates": near,
        "problems": dict(scan.problems.most_common()),
        "last_update": timely.last_update.isoformat() if timely.last_update else None,
        "due_at": timely.due_at.isoformat() if timely.due_at else None,
        "overdue": timely.is_overdue(now),
    }
    return QualityScore.objects.create(
        resource=resource,
        computed_at=now,
        row_count=total,
        overall=round(sum(measured) / len(measured), 1) if measured else None,
        details=details,
        **scores,
    )
