"""One pipeline for every way data comes in: map columns → validate → write, one transaction per batch.

`run_pipeline` takes string chunks (from a file reader, a push, a pull or a form), validates them column-wise,
tracks key uniqueness across chunks, writes good rows through the store's BatchWriter and either commits or rolls
back according to the batch's mode and the resource's bad-row policy:
- policy `reject`: any error rejects the whole batch;
- policy `skip`: bad rows are left out and reported, the rest is applied;
- a full replace is always rejected whole on any error (loading it without the bad rows would retire their records).
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.ipc

from tongshu.quality.engine import ERROR, ROW, Rule, empty_errors, validate

from .schema import ResourceSchema
from .store import BatchWriter, Prepared, WriteSummary

KEY = "_key"
# Validated chunks the producer may hold ready for the writer. The writer stops now and then for longer than a chunk
# takes to validate (on SQLite it copies each full stage part in; on PostgreSQL the server may lag): with room for
# two, validation goes on meanwhile. With reading on a thread of its own, four gained nothing over two and held some
# 10-15 MB more at the peak (a million rows, the same time within the noise).
AHEAD_CHUNKS = 2
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
        self.bad_row_count = 0  # rows with at least one error
        self._handle: BinaryIO | None = None

    def add(self, errors: pl.DataFrame, *, new_bad_rows: int | None = None) -> None:
        """Report `errors`. Their rows with an error count as bad rows, unless `new_bad_rows` says how many of them
        were not reported bad before (the rows of one chunk are reported together, so a chunk's errors need not say:
        nothing is kept per row, whatever the batch's size)."""
        if errors.height == 0:
            return
        is_error = errors["severity"] == ERROR
        self.errors += int(is_error.sum())
        self.warnings += int((~is_error).sum())
        if new_bad_rows is None:
            new_bad_rows = errors.filter(is_error)["row"].n_unique()
        self.bad_row_count += new_bad_rows
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

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _key_expr(keys: list[str]) -> pl.Expr:
    parts = [pl.col(k).cast(pl.String).fill_null("") for k in keys]
    return pl.concat_str(parts, separator="\x1f") if len(parts) > 1 else parts[0]


class _KeyTracker:
    """Key uniqueness across chunks (the engine checks within a chunk), in memory that does not grow with the batch.

    For the first row of each key in a chunk it keeps two independent 64-bit hashes of the key as stored, the row
    number, whether the row was bad, its write position (its place among the rows sent to the store; -1 for a row
    not sent) and the key as stored. They wait in memory until `FLUSH_ROWS` have come (some 10 MB), then go, split by
    the hash, to `PARTITIONS` scratch files (about 50 bytes a row on disk): one split every 131,072 rows, not one a
    chunk (a million rows: 0.14-0.2 s of the producer's time, was 0.21-0.3). `duplicates()`, once the last chunk is
    in, finds every key seen before: exact (both hashes must match, so a collision of one never reports a false
    duplicate), naming the row where the key first appeared. A batch that never filled the buffer is checked in
    memory at once; a larger one a partition at a time, reading its file back (a sixty-fourth of the batch's keys in
    memory)."""

    SEEDS = (0x5EED_0001, 0x5EED_0002)
    PARTITIONS = 64
    FLUSH_ROWS = 131_072

    def __init__(self, schema: ResourceSchema, directory: Path | None = None) -> None:
        self.keys = list(schema.key_fields)
        self.label = schema.column(self.keys[0]).label if self.keys else ""
        self._directory = directory
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self._files: dict[int, tuple[BinaryIO, pa.ipc.RecordBatchStreamWriter]] = {}

    def add(
        self, typed: pl.DataFrame, bad: pl.Series | None, written_from: int | None, *, distinct: bool = False
    ) -> None:
        """Record a chunk's keys. `bad`: its rows with errors (None: none); `written_from`: the write position of its
        first row sent to the store (its good rows are sent, in order), None if none is sent; `distinct`: the
        chunk's keys are known to differ (the engine's duplicate-key rule ran on a chunk without errors)."""
        if not self.keys:
            return
        key = _key_expr(self.keys)
        # Column-wise (a literal would be one value for the whole chunk, and its running count one).
        is_bad = pl.col(ROW).is_in((bad if bad is not None else pl.Series(ROW, [], dtype=pl.Int64)).implode())
        sent = ~is_bad if written_from is not None else is_bad & False
        firsts = typed.select(
            key.hash(self.SEEDS[0]).alias("h1"),
            key.hash(self.SEEDS[1]).alias("h2"),
            pl.col(ROW),
            is_bad.alias("bad"),
            pl.when(sent)
            .then(sent.cast(pl.Int64).cum_sum() - 1 + (written_from or 0))
            .otherwise(-1)
            .alias("wpos"),
            key.alias(KEY),
        )
        # A key repeated within the chunk (rare, and reported by the engine): keep its first row only.
        if not distinct and firsts["h1"].n_unique() < firsts.height:
            firsts = firsts.unique(subset=["h1", "h2"], keep="first", maintain_order=True)
        self._pending.append(firsts)
        self._pending_rows += firsts.height
        if self._pending_rows >= self.FLUSH_ROWS:
            self._flush()

    def _take_waiting(self) -> pl.DataFrame | None:
        """What waits in memory, as one frame (the buffer emptied); None if nothing waits."""
        if not self._pending:
            return None
        frame = pl.concat(self._pending, rechunk=False)
        self._pending, self._pending_rows = [], 0
        return frame

    def _split(self) -> dict[int, pl.DataFrame]:
        """What waits in memory, by partition (the buffer emptied)."""
        frame = self._take_waiting()
        if frame is None:
            return {}
        parts = frame.with_columns((pl.col("h1") % self.PARTITIONS).alias("_part"))
        return {
            int(part): table
            for (part,), table in parts.partition_by("_part", as_dict=True, include_key=False).items()
        }

    def _flush(self) -> None:
        for part, frame in self._split().items():
            table = frame.to_arrow()
            if part not in self._files:
                if self._scratch is None:
                    self._scratch = tempfile.TemporaryDirectory(prefix="tongshu-keys-", dir=self._directory)
                handle = open(Path(self._scratch.name) / f"{part}.arrows", "wb")  # noqa: SIM115 (closed in close())
                self._files[part] = (handle, pa.ipc.new_stream(handle, table.schema))
            self._files[part][1].write_table(table)

    def duplicates(self) -> Iterator[pl.DataFrame]:
        """The rows whose key an earlier row had (columns _row, first_row, bad, wpos, _key), a partition at a time
        (each in row order), so what is held stays bounded however many there are."""
        if not self._files:  # a batch that never filled the buffer: all of it at once
            if (frame := self._take_waiting()) is not None:
                yield from self._repeated(frame)
            return
        waiting = self._split()
        for part in range(self.PARTITIONS):
            frames = [waiting.pop(part)] if part in waiting else []
            if part in self._files:
                handle, writer = self._files.pop(part)
                writer.close()
                handle.close()
                with pa.ipc.open_stream(handle.name) as reader:
                    stored = pl.from_arrow(reader.read_all())
                assert isinstance(stored, pl.DataFrame)
                frames.insert(0, stored)  # written before what was still waiting: rows stay in order
                Path(handle.name).unlink()
            if frames:
                yield from self._repeated(pl.concat(frames))

    @staticmethod
    def _repeated(frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
        if frame["h1"].n_unique() == frame.height:  # the usual case: no key repeated
            return
        repeated = frame.with_columns(pl.col(ROW).first().over("h1", "h2").alias("first_row")).filter(
            pl.col(ROW) != pl.col("first_row")
        )
        if repeated.height:
            yield repeated.select(ROW, "first_row", "bad", "wpos", KEY)

    def errors(self, repeated: pl.DataFrame) -> pl.DataFrame:
        return repeated.select(
            pl.col(ROW).alias("row"),
            pl.lit(self.keys[0]).alias("field"),
            pl.lit(self.label).alias("label"),
            pl.col(KEY).alias("value"),
            pl.lit("duplicate_key").alias("code"),
            pl.format("主键重复（与第{}行相同）", pl.col("first_row")).alias("reason"),
            pl.lit(ERROR).alias("severity"),
        )

    def close(self) -> None:
        for handle, writer in self._files.values():
            with contextlib.suppress(Exception):
                writer.close()
            handle.close()
        self._files.clear()
        self._pending, self._pending_rows = [], 0
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


@dataclass(frozen=True)
class Exclusion:
    """Rows already sent to the store that must not be applied: their write positions (0 is the batch's first row
    sent)."""

    positions: pl.Series


def scratch_directory() -> Path | None:
    """Where a batch's scratch files go: the instance's temporary directory (beside its uploads), else the system's."""
    from django.conf import settings

    directory = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    return Path(directory) if directory else None


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

    A reading thread parses the next chunk and a producer thread validates and prepares the next ones (up to
    `AHEAD_CHUNKS`; polars and Arrow release the GIL) while this thread writes the current one (and reports
    `progress`, the rows read so far, from this thread: the control plane's connection is this thread's): on
    PostgreSQL the server does the COPY work on the other core; on SQLite the ADBC driver writes the chunk's Arrow
    columns into the batch's stage file without holding the GIL (`store.SqliteStage`)."""
    report = ErrorReport(report_path)
    tracker = _KeyTracker(schema, scratch_directory())
    all_or_nothing = policy == "reject" or mode == "replace"
    state = {"rejecting": False, "total": 0, "written": 0}
    checks_keys = any(rule.code == "duplicate_key" for rule in rules)

    def checked(writer: BatchWriter) -> Iterator[tuple[int, Prepared | Exclusion | None]]:
        # Reading has a thread of its own: the producer is the busier half (validation, the key check, preparing),
        # and Arrow's CSV parsing then overlaps it. On PostgreSQL the writing thread mostly waits for the server; on
        # SQLite the writer waited 0.15-0.5 s a million rows for the producer without it (0.05-0.1 s with it).
        source = in_background(iter(chunks))
        for chunk in source:
            state["total"] += chunk.height
            result = validate(chunk, schema, rules)
            errors = result.errors
            # Checks beyond the chunk (quality.rules.ReferenceCheck: values that must exist in another resource).
            for check in checks:
                errors = pl.concat([errors, check(result.typed)]).sort("row")
            report.add(errors)
            has_errors = bool(errors.height) and bool((errors["severity"] == ERROR).any())
            bad = errors.filter(pl.col("severity") == ERROR)["row"].unique() if has_errors else None
            if has_errors and all_or_nothing:
                state["rejecting"] = True
            # The engine's duplicate-key rule checked the chunk's keys among themselves: if it ran and the chunk has
            # no error at all, the tracker need not look for repeats within it. (A chunk with errors is looked at
            # again: a key that fails its type is null to the tracker, which compares keys as stored, but its text
            # to the engine.)
            distinct = checks_keys and not has_errors
            if state["rejecting"]:
                tracker.add(result.typed, bad, None, distinct=distinct)
                yield chunk.height, None  # keep validating, to report every error, but write nothing more
                continue
            tracker.add(result.typed, bad, state["written"], distinct=distinct)
            typed = result.typed
            if bad is not None:
                typed = typed.filter(~pl.col(ROW).is_in(bad.implode()))
            state["written"] += typed.height
            yield chunk.height, writer.prepare(typed.drop(ROW))
        # Keys repeated across chunks, found once every chunk is in (while the writer still drains the queue).
        for repeated in tracker.duplicates():
            report.add(tracker.errors(repeated), new_bad_rows=int((~repeated["bad"]).sum()))
            if all_or_nothing:
                state["rejecting"] = True
            else:  # policy `skip`: the repeats already sent to the store are taken out again before the commit
                sent = repeated.filter(pl.col("wpos") >= 0)["wpos"]
                if len(sent):
                    yield 0, Exclusion(sent)

    try:
        with BatchWriter(schema, batch_id, mode) as writer:
            prepared = in_background(checked(writer), AHEAD_CHUNKS)
            read = 0
            try:
                for rows, item in prepared:
                    if isinstance(item, Exclusion):
                        writer.exclude(item.positions)
                    elif item is not None and not state["rejecting"]:
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
        tracker.close()
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
