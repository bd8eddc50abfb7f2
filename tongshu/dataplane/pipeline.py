"""One pipeline for every way data comes in: map columns → validate → write, one transaction per batch.

`run_pipeline` takes string chunks (from a file reader, a push, a pull or a form), validates them column-wise,
tracks key uniqueness across chunks, writes good rows through the store's BatchWriter and either commits or rolls
back according to the batch's mode and the resource's bad-row policy:
- policy `reject`: any error rejects the whole batch;
- policy `skip`: bad rows are left out and reported, the rest is applied;
- a full replace is always rejected whole on any error (loading it without the bad rows would retire their records).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import polars as pl

from tongshu.quality.engine import ERROR, ROW, Rule, empty_errors, validate

from . import store
from .schema import ResourceSchema
from .store import BatchWriter, Prepared, WriteSummary

KEY = "_key"
# Validated chunks the producer may hold ready for the writer. The writer stops now and then for longer than a chunk
# takes to validate (on SQLite it copies each full stage part in; on PostgreSQL the server may lag): with room for
# four, validation goes on meanwhile. A million rows: ~0.15 s sooner than with one, for some 10 MB more at the peak.
AHEAD_CHUNKS = 4
T = TypeVar("T")
REPORT_HEADER = ["行号", "信息项", "字段", "值", "问题代码", "原因", "级别"]


@dataclass
class PipelineResult:
    status: str  # "applied" or "rejected"
    total_rows: int = 0
    bad_rows: int = 0
    warnings: int = 0
    summary: WriteSummary = field(default_factory=WriteSummary)
    errors_sample: list[dict[str, object]] = field(default_factory=list)
    report_path: Path | None = None


class ErrorReport:
    """Streams every error row to a CSV report file and keeps the first few in memory for the response."""

    def __init__(self, path: Path | None, sample_size: int = 200) -> None:
        self.path, self.sample_size = path, sample_size
        self.sample: list[dict[str, object]] = []
        self.errors = self.warnings = 0
        self._bad_rows: set[int] = set()
        self._handle: BinaryIO | None = None

    def add(self, errors: pl.DataFrame) -> None:
        if errors.height == 0:
            return
        is_error = errors["severity"] == ERROR
        self.errors += int(is_error.sum())
        self.warnings += int((~is_error).sum())
        self._bad_rows.update(errors.filter(is_error)["row"].to_list())
        if len(self.sample) < self.sample_size:
            self.sample.extend(errors.head(self.sample_size - len(self.sample)).to_dicts())
        if self.path is not None:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "wb")  # noqa: SIM115
                self._handle.write(b"\xef\xbb\xbf" + ",".join(REPORT_HEADER).encode() + b"\n")
            errors.select("row", "label", "field", "value", "code", "reason", "severity").write_csv(
                self._handle, include_header=False
            )

    @property
    def bad_row_count(self) -> int:
        return len(self._bad_rows)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _key_expr(keys: list[str]) -> pl.Expr:
    parts = [pl.col(k).cast(pl.String).fill_null("") for k in keys]
    return pl.concat_str(parts, separator="\x1f") if len(parts) > 1 else parts[0]


class _KeyTracker:
    """Key uniqueness across chunks (the engine checks within a chunk), in memory that stays small.

    Each key is identified by two independent 64-bit hashes of its text. A Bloom filter (a bit set, four positions
    a key, kept under one key per sixteen bits: ~0.25% false "maybe seen") picks the few rows of a chunk whose key
    may have been seen; those are confirmed against per-chunk tables of both hashes and the row where each key first
    appeared, so a false positive of the filter or a collision of one hash never reports a false duplicate, and the
    report names the earlier row. About 26 bytes a row (a Python set of the hashes took ~90), all column-wise."""

    SEEDS = (0x5EED_0001, 0x5EED_0002)
    BITS_PER_KEY = 16

    def __init__(self, schema: ResourceSchema) -> None:
        self.keys = list(schema.key_fields)
        self.label = schema.column(self.keys[0]).label if self.keys else ""
        self.firsts: list[pl.DataFrame] = []  # h1, h2, first_row: the first row of each key, per chunk
        self.count = 0
        self.bits = self._empty(1 << 20)

    @staticmethod
    def _empty(size: int) -> pl.Series:
        return pl.repeat(False, size, dtype=pl.Boolean, eager=True)

    def _positions(self, hashes: pl.DataFrame) -> list[pl.Series]:
        size = self.bits.len()  # a power of two
        return hashes.select(
            (pl.col("h1") % size).alias("p0"),
            (pl.col("h1") // (1 << 32) % size).alias("p1"),
            (pl.col("h2") % size).alias("p2"),
            (pl.col("h2") // (1 << 32) % size).alias("p3"),
        ).get_columns()

    def _set(self, positions: list[pl.Series]) -> None:
        # One scatter for the four positions: each call copies the bit set.
        self.bits.scatter(pl.concat(positions), True)

    def _remember(self, hashes: pl.DataFrame, positions: list[pl.Series] | None) -> None:
        """Add a chunk's keys (already appended to `firsts`); `positions` are theirs in the current bit set, if
        known."""
        self.count += hashes.height
        if self.count * self.BITS_PER_KEY > self.bits.len():  # keep false positives rare: grow and re-add all
            size = self.bits.len()
            while self.count * self.BITS_PER_KEY > size:
                size *= 4
            self.bits = self._empty(size)
            for frame in self.firsts:
                self._set(self._positions(frame))
            return
        self._set(positions if positions is not None else self._positions(hashes))

    def check(self, typed: pl.DataFrame, errors: pl.DataFrame) -> pl.DataFrame:
        if not self.keys:
            return errors
        key = _key_expr(self.keys)
        hashed = typed.select(
            pl.col(ROW),
            key.alias(KEY),
            key.hash(self.SEEDS[0]).alias("h1"),
            key.hash(self.SEEDS[1]).alias("h2"),
        )
        # The chunk's positions in the bit set: looked up here, then set (`_remember`).
        positions: list[pl.Series] | None = self._positions(hashed)
        if self.firsts:
            assert positions is not None
            p0, p1, p2, p3 = (self.bits.gather(each) for each in positions)
            maybe = p0 & p1 & p2 & p3
            candidates = hashed.filter(maybe)
            if candidates.height:
                # One pass over the earlier chunks' tables (kept as chunks of one frame, never copied together).
                earlier = (
                    pl.concat(self.firsts, rechunk=False)
                    .filter(pl.col("h1").is_in(candidates["h1"].implode()))
                    .unique(subset=["h1", "h2"], keep="first", maintain_order=True)
                )
                repeated = candidates.join(earlier, on=["h1", "h2"], how="inner")
                if repeated.height:
                    errors = pl.concat([errors, self._errors(repeated)]).sort("row")
        firsts = hashed.select("h1", "h2", pl.col(ROW).alias("first_row"))
        # A key repeated within the chunk (rare): keep its first row only.
        if firsts["h1"].n_unique() < firsts.height:
            firsts = firsts.unique(subset=["h1", "h2"], keep="first", maintain_order=True)
            positions = None  # those of the rows kept are computed again
        self.firsts.append(firsts)
        self._remember(firsts, positions)
        return errors

    def _errors(self, repeated: pl.DataFrame) -> pl.DataFrame:
        return repeated.select(
            pl.col(ROW).alias("row"),
            pl.lit(self.keys[0]).alias("field"),
            pl.lit(self.label).alias("label"),
            pl.col(KEY).alias("value"),
            pl.lit("duplicate_key").alias("code"),
            pl.format("主键重复（与第{}行相同）", pl.col("first_row")).alias("reason"),
            pl.lit(ERROR).alias("severity"),
        )


def in_background(items: Iterator[T], ahead: int = 1) -> Iterator[T]:
    """Run an iterator on a producer thread, up to `ahead` items ahead of the consumer (a bounded queue: bounded
    memory).
    An exception in the producer is raised in the consumer; closing the consumer stops the producer."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                put(("item", item))
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(("error", exc))
        finally:
            # The producer may touch the control plane (progress updates): close this thread's connections.
            from django.db import connections

            connections.close_all()

    producer = threading.Thread(target=produce, name="tongshu-ingest", daemon=True)
    producer.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        producer.join()


def run_pipeline(
    schema: ResourceSchema,
    chunks: Iterable[pl.DataFrame],
    *,
    batch_id: int,
    mode: str,
    policy: str,
    rules: list[Rule],
    report_path: Path | None = None,
    checks: Sequence[Callable[[pl.DataFrame], pl.DataFrame]] = (),
    progress: Callable[[int], None] | None = None,
) -> PipelineResult:
    """Validate and write a batch, chunk by chunk.

    A producer thread reads, validates and prepares the next chunks (up to `AHEAD_CHUNKS`; polars and Arrow release
    the GIL) while this thread writes the current one (and reports `progress`, the rows read so far, from this
    thread: the control plane's connection is this thread's): on PostgreSQL the server does the COPY work on the
    other core; on SQLite the ADBC driver writes the chunk's Arrow columns into the batch's stage file without
    holding the GIL (`store.SqliteStage`)."""
    report = ErrorReport(report_path)
    tracker = _KeyTracker(schema)
    state = {"rejecting": False, "total": 0}

    def checked(writer: BatchWriter) -> Iterator[tuple[int, Prepared | None]]:
        # On PostgreSQL the writing thread mostly waits for the server, so reading gets a thread of its own and the
        # otherwise idle share of the cores (a million rows: ~0.2 s sooner). On SQLite the writer is busy itself
        # (ADBC staging, copies): a third thread gained nothing measurable and cost a chunk of memory.
        source = chunks if store.is_sqlite(writer.engine) else in_background(iter(chunks))
        for chunk in source:
            state["total"] += chunk.height
            result = validate(chunk, schema, rules)
            errors = result.errors
            # Checks beyond the chunk (quality.rules.ReferenceCheck: values that must exist in another resource).
            for check in checks:
                errors = pl.concat([errors, check(result.typed)]).sort("row")
            errors = tracker.check(result.typed, errors)
            report.add(errors)
            has_errors = bool(errors.height) and bool((errors["severity"] == ERROR).any())
            if has_errors and (policy == "reject" or mode == "replace"):
                state["rejecting"] = True
            if state["rejecting"]:
                yield chunk.height, None  # keep validating, to report every error, but write nothing more
                continue
            typed = result.typed
            if has_errors:
                bad = errors.filter(pl.col("severity") == ERROR)["row"].unique()
                typed = typed.filter(~pl.col(ROW).is_in(bad.implode()))
            yield chunk.height, writer.prepare(typed.drop(ROW))

    try:
        with BatchWriter(schema, batch_id, mode) as writer:
            prepared = in_background(checked(writer), AHEAD_CHUNKS)
            read = 0
            try:
                for rows, item in prepared:
                    if item is not None and not state["rejecting"]:
                        writer.write_prepared(item)
                    read += rows
                    if progress is not None:
                        progress(read)
            finally:
                close = getattr(prepared, "close", None)
                if close is not None:
                    close()
            total = state["total"]
            if state["rejecting"] or (total and report.bad_row_count == total):
                writer.abort()
                status, summary = "rejected", WriteSummary()
            else:
                summary = writer.commit()
                status = "applied"
    finally:
        report.close()
    return PipelineResult(
        status=status,
        total_rows=total,
        bad_rows=report.bad_row_count,
        warnings=report.warnings,
        summary=summary,
        errors_sample=report.sample,
        report_path=report_path if report.errors or report.warnings else None,
    )


def map_columns(
    chunks: Iterable[pl.DataFrame], mapping: dict[str, str], schema: ResourceSchema
) -> Iterator[pl.DataFrame]:
    """Rename source columns to field names; fields the source lacks become empty (required-rules then catch them)."""
    fields = [column.field_name for column in schema.columns]
    for chunk in chunks:
        renamed = chunk.rename(
            {source: target for source, target in mapping.items() if source in chunk.columns}
        )
        missing = [name for name in fields if name not in renamed.columns]
        if missing:
            renamed = renamed.with_columns([pl.lit(None, dtype=pl.String).alias(name) for name in missing])
        yield renamed.select([*fields, ROW])


__all__ = ["PipelineResult", "empty_errors", "map_columns", "run_pipeline"]
