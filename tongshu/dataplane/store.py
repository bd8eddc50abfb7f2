"""The data-plane store: the only code that builds SQL for resource tables (SQLAlchemy Core, bound parameters).

One physical table per published resource (`r<resource id>`, in the schema `org_<organization id>` on PostgreSQL):
typed columns from its info items, `_rid` (surrogate key), a unique index on the key items, indexes on queryable
items, and `_batch`, `_updated_at`, `_deleted`. Beside it, `<table>__h` keeps every superseded row version with the
batch range it was current in, so the resource can be read as of any batch, and `_tongshu_batches` records each
applied batch in the same transaction as its rows (the source of truth for "was this batch applied?").

Batch ids are the control plane's, in the order batches were *created*; batches are not always *applied* in that order
(an upload waiting at its mapping step is applied after a later push). So each applied batch also gets an apply
sequence number, `seq`, per resource: assigned by `BatchWriter` under the resource's write lock (SQLite's
`BEGIN IMMEDIATE`; PostgreSQL's advisory lock per resource) as the last one plus one, and recorded in its marker
(`_tongshu_batches`: batch id → seq). The row columns that order versions, `_batch` (live and history) and
`_superseded_by` (history), hold this sequence number, not the batch id: as-of reads and the change log compare
them, so they follow apply order, and they take batch ids from callers and translate them through the markers
(`UnknownBatch` for an id that names no applied batch of the resource). Markers written before the sequence existed
get seq = their batch id (`ensure_markers`), which is what their rows already hold, so no row is rewritten.

Writing goes through `BatchWriter`: one database transaction per batch, so a batch is applied whole or not at all,
whatever happens to the process.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from django.conf import settings

from tongshu.core.errors import ValidationFailed

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

# `_batch` holds the apply sequence number of the batch that last wrote the row (see above).
SYSTEM_COLUMNS = ("_rid", "_batch", "_updated_at", "_deleted")
_engines: dict[str, sa.Engine] = {}
# Engine URLs whose marker table has its `seq` column and index (`ensure_markers`).
_markers_ready: set[str] = set()
_lock = threading.Lock()
WRITE_LOCK_BASE = 7_000_000_000  # PostgreSQL advisory lock of resource r: WRITE_LOCK_BASE + r
# The data-plane SQLite file's page size, set when the file is created (an existing file keeps its own): resource
# rows are a hundred bytes and more and are written in bulk, and 16 KB pages cut the b-tree and WAL work of a first
# load, an upsert and an index build by a fifth or more against SQLite's default of 4 KB (benchmarks/ingest.py).
SQLITE_PAGE_SIZE = 16384
# Page cache of a data-plane SQLite connection, in KiB. Temporary tables and the sorter of an index build spill to
# files past it (an in-memory temp store held a whole first load's key sort in RAM). A first load's copy and an index
# build gain nothing from a larger one (measured: 8 MB builds a million-row table's indexes in 1.5 s, 32 MB in 2.2 s,
# and holds 30 MB less); a merge, which updates rows scattered over the table and its indexes, takes MERGE_CACHE_KIB.
CACHE_KIB = 8192
MERGE_CACHE_KIB = 32768
# Pages: SQLite's default, set back on the connection after a first load's commit (BatchWriter.commit).
WAL_AUTOCHECKPOINT = 1000
# The scratch stage files are written once and read once, front to back: the largest page SQLite has.
STAGE_PAGE_SIZE = 65536
MARKERS_LOCK = WRITE_LOCK_BASE - 1  # … and of the marker table's migration


class UnknownBatch(ValidationFailed):
    """A batch id given for an as-of read or the change log that names no applied batch of the resource (a domain
    error, so one that reaches a page or the API is a 400 `invalid_batch`, not a server error)."""

    def __init__(self, batch_id: int) -> None:
        super().__init__(
            f"批次 {batch_id} 不存在或不是本资源已加载的批次", code="invalid_batch", field="batch"
        )
        self.batch_id = batch_id


def normalized_url(url: str) -> str:
    """`postgres://` and `postgresql://` name the psycopg 3 driver here (the store uses its COPY API)."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def get_engine(url: str | None = None) -> sa.Engine:
    url = normalized_url(url or settings.DATA_URL)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = sa.create_engine(url, connect_args={"timeout": 60, "isolation_level": None})
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
    return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _markers_ready.clear()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL: no effect once the file has a header
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sql_type(column: Column) -> sa.types.TypeEngine[Any]:
    dtype, length = column.data_type, column.length
    if dtype in INTEGER_TYPES:
        return sa.BigInteger()
    if dtype in DECIMAL_TYPES:
        precision = length.maximum or (18 if dtype == "Y" else 38)
        scale = length.scale if length.scale is not None else (2 if dtype == "Y" else 0)
        return sa.Numeric(precision, scale)
    if dtype in FLOAT_TYPES:
        return sa.Float()
    if dtype in DATE_TYPES:
        return sa.Date()
    if dtype in DATETIME_TYPES:
        return sa.DateTime()
    if dtype in BOOLEAN_TYPES:
        return sa.Boolean()
    if dtype == "M" or length.maximum is None or length.maximum > 4000:
        return sa.Text()
    return sa.String(length.maximum)


def _namespace(engine: sa.Engine, schema: ResourceSchema) -> str | None:
    return None if is_sqlite(engine) else schema.namespace or None


def build_tables(engine: sa.Engine, schema: ResourceSchema) -> tuple[sa.Table, sa.Table]:
    """The SQLAlchemy definitions of a resource's table and its history table."""
    metadata = sa.MetaData(schema=_namespace(engine, schema))
    data_columns = [
        sa.Column(column.field_name, sql_type(column), nullable=True) for column in schema.columns
    ]
    table = sa.Table(
        schema.table_name,
        metadata,
        sa.Column(
            "_rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        *data_columns,
        sa.Column("_batch", sa.BigInteger(), nullable=False),
        sa.Column("_updated_at", sa.DateTime(), nullable=False),
        sa.Column("_deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if schema.key_fields:
        sa.Index(f"{schema.table_name}_key", *[table.c[name] for name in schema.key_fields], unique=True)
    for column in schema.columns:
        if column.is_queryable and not (column.is_key and len(schema.key_fields) == 1):
            sa.Index(f"{schema.table_name}_q_{column.field_name}", table.c[column.field_name])
    sa.Index(f"{schema.table_name}_batch", table.c["_batch"])
    # History: `_batch` … `_superseded_by` is the apply-sequence range a version was current in.
    history = sa.Table(
        f"{schema.table_name}__h",
        metadata,
        sa.Column("_rid", sa.BigInteger(), nullable=False),
        *[sa.Column(column.field_name, sql_type(column), nullable=True) for column in schema.columns],
        sa.Column("_batch", sa.BigInteger(), nullable=False),
        sa.Column("_updated_at", sa.DateTime(), nullable=False),
        sa.Column("_deleted", sa.Boolean(), nullable=False),
        sa.Column("_superseded_by", sa.BigInteger(), nullable=False),
        sa.Index(f"{schema.table_name}__h_rid", "_rid", "_superseded_by"),
        sa.Index(f"{schema.table_name}__h_batch", "_batch", "_rid"),  # the change log's range scans
    )
    return table, history


def ensure_indexes(schema: ResourceSchema, engine: sa.Engine | None = None) -> int:
    """Build what a first load left out (see `BatchWriter.commit`): on PostgreSQL the primary key, then the unique
    key index and the query indexes, and any index a table made by an older version lacks (the history table's
    `__h_batch`); returns how many were built. Safe to run again and beside readers; each is built in its own
    transaction (on SQLite holding the write lock while it builds)."""
    engine = engine or get_engine()
    table, history = build_tables(engine, schema)
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table.name, schema=table.schema):
            return 0
        missing = _missing_structures(conn, table, history)
    for statement in missing:
        with engine.begin() as conn:
            statement(conn)
    if is_sqlite(engine):
        # A first load commits without checkpointing its WAL (`BatchWriter.commit`): copy it into the database file
        # here, with the index pages, in one pass. PASSIVE: readers and writers are not waited for; what a reader
        # still needs is copied by a later checkpoint.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    return len(missing)


def _missing_structures(conn: sa.Connection, table: sa.Table, history: sa.Table) -> list[Any]:
    """Statements (callables on a connection) building the primary key (PostgreSQL) and the indexes `table` and its
    history table lack."""
    engine = conn.engine
    inspector = sa.inspect(conn)
    statements: list[Any] = []
    if not is_sqlite(engine) and not inspector.get_pk_constraint(table.name, schema=table.schema).get(
        "constrained_columns"
    ):
        target, name = _qualified(engine, table), _quote(engine, table.name + "_pkey")
        statements.append(
            lambda c: c.exec_driver_sql(f"ALTER TABLE {target} ADD CONSTRAINT {name} PRIMARY KEY (_rid)")
        )
    for each in (table, history):
        existing = {index["name"] for index in inspector.get_indexes(each.name, schema=each.schema)}
        for index in each.indexes:
            if index.name not in existing:
                statements.append(
                    lambda c, index=index: c.execute(sa.schema.CreateIndex(index, if_not_exists=True))
                )
    return statements


def batches_table(engine: sa.Engine) -> sa.Table:
    metadata = sa.MetaData(schema=None if is_sqlite(engine) else "tongshu")
    return sa.Table(
        "_tongshu_batches",
        metadata,
        sa.Column("batch_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("resource_id", sa.BigInteger(), nullable=False, index=True),
        # The apply sequence number within the resource (see the module docstring); NULL only in a table made
        # before it existed, until `ensure_markers` fills it.
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("inserted", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("retired", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Index("_tongshu_batches_seq", "resource_id", "seq", unique=True),
    )


def ensure_markers(engine: sa.Engine | None = None) -> sa.Table:
    """The marker table, created, or migrated from before apply sequence numbers: the `seq` column is added and
    filled with each marker's batch id (the order its rows were written in, and the value their `_batch` and
    `_superseded_by` columns hold), and the (resource, seq) index built. Checked once per process and database; the
    migration runs under the write lock, so concurrent processes do it once."""
    engine = engine or get_engine()
    markers = batches_table(engine)
    key = str(engine.url)
    if key in _markers_ready:
        return markers
    with engine.connect() as conn:
        ready = _markers_current(conn, markers)
    if not ready:
        with engine.connect() as conn:
            if is_sqlite(engine):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.begin()
                conn.execute(sa.text('CREATE SCHEMA IF NOT EXISTS "tongshu"'))
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MARKERS_LOCK})
            try:
                _migrate_markers(conn, markers)
            except BaseException:
                _rollback(conn)
                raise
            _commit(conn)
    _markers_ready.add(key)
    return markers


def _markers_current(conn: sa.Connection, markers: sa.Table) -> bool:
    inspector = sa.inspect(conn)
    if not inspector.has_table(markers.name, schema=markers.schema):
        return False
    columns = {column["name"] for column in inspector.get_columns(markers.name, schema=markers.schema)}
    indexes = {index["name"] for index in inspector.get_indexes(markers.name, schema=markers.schema)}
    return "seq" in columns and "_tongshu_batches_seq" in indexes


def _migrate_markers(conn: sa.Connection, markers: sa.Table) -> None:
    inspector = sa.inspect(conn)
    if not inspector.has_table(markers.name, schema=markers.schema):
        markers.create(conn)
        return
    columns = {column["name"] for column in inspector.get_columns(markers.name, schema=markers.schema)}
    if "seq" not in columns:
        conn.exec_driver_sql(f"ALTER TABLE {_qualified(conn.engine, markers)} ADD COLUMN seq BIGINT")
    conn.execute(markers.update().where(markers.c.seq.is_(None)).values(seq=markers.c.batch_id))
    for index in markers.indexes:
        conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def begin_write(conn: sa.Connection, resource_id: int) -> None:
    """Begin a transaction that writes a resource's tables: on SQLite `BEGIN IMMEDIATE` (the database's write lock,
    taken at once); on PostgreSQL a transaction holding the resource's advisory lock (one writer per resource at a
    time; other resources are not blocked). End it with `_commit` or `_rollback`."""
    if is_sqlite(conn.engine):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.begin()
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_BASE + resource_id})


def _rollback(conn: sa.Connection) -> None:
    """Roll back a transaction begun by hand (`BEGIN IMMEDIATE` on SQLite, whose driver runs in autocommit)."""
    if is_sqlite(conn.engine):
        raw = conn.connection.driver_connection
        if raw is not None and raw.in_transaction:
            raw.rollback()
    elif conn.in_transaction():
        conn.rollback()


def _commit(conn: sa.Connection) -> None:
    if is_sqlite(conn.engine):
        conn.connection.driver_connection.commit()  # type: ignore[union-attr]
    else:
        conn.commit()


def _seq_of(conn: sa.Connection, schema: ResourceSchema, batch_id: int) -> int:
    """The apply sequence number of an applied batch of the resource (0 for 0: before the first batch)."""
    if batch_id == 0:
        return 0
    markers = batches_table(conn.engine)
    seq = conn.execute(
        sa.select(markers.c.seq).where(
            markers.c.resource_id == schema.resource_id, markers.c.batch_id == batch_id
        )
    ).scalar()
    if seq is None:
        raise UnknownBatch(batch_id)
    return int(seq)


def _batch_ids(conn: sa.Connection, schema: ResourceSchema, seqs: set[int]) -> dict[int, int]:
    """Apply sequence number → batch id, for these sequence numbers of the resource."""
    if not seqs:
        return {}
    markers = batches_table(conn.engine)
    query = sa.select(markers.c.seq, markers.c.batch_id).where(
        markers.c.resource_id == schema.resource_id, markers.c.seq.in_(sorted(seqs))
    )
    return {int(seq): int(batch) for seq, batch in conn.execute(query)}


def apply_order(schema: ResourceSchema, engine: sa.Engine | None = None) -> list[int]:
    """The ids of the resource's applied batches in the order they were applied."""
    engine = engine or get_engine()
    markers = ensure_markers(engine)
    query = (
        sa.select(markers.c.batch_id)
        .where(markers.c.resource_id == schema.resource_id)
        .order_by(markers.c.seq)
    )
    with engine.connect() as conn:
        return [int(batch) for batch in conn.execute(query).scalars()]


def ensure_tables(schema: ResourceSchema, engine: sa.Engine | None = None) -> sa.Table:
    engine = engine or get_engine()
    table, history = build_tables(engine, schema)
    ensure_markers(engine)
    with engine.begin() as conn:
        if not is_sqlite(engine):
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema.namespace}"'))
        table.create(conn, checkfirst=True)
        history.create(conn, checkfirst=True)
    return table


def applied_batch(batch_id: int, engine: sa.Engine | None = None) -> dict[str, Any] | None:
    """The data plane's record of an applied batch, or None: the truth after a crash between the two databases."""
    engine = engine or get_engine()
    table = ensure_markers(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.batch_id == batch_id)).mappings().first()
    return dict(row) if row else None


def count_rows(
    schema: ResourceSchema, *, include_deleted: bool = False, engine: sa.Engine | None = None
) -> int:
    engine = engine or get_engine()
    table, _history = build_tables(engine, schema)
    query = sa.select(sa.func.count()).select_from(table)
    if not include_deleted:
        query = query.where(table.c._deleted == sa.false())
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table.name, schema=table.schema):
            return 0
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class Prepared:
    rows: int
    payload: pl.DataFrame | bytes


@dataclass
class WriteSummary:
    inserted: int = 0
    updated: int = 0
    retired: int = 0
    indexes_pending: bool = False  # query indexes still to build (`ensure_indexes`) after a first load


def _value_columns(schema: ResourceSchema) -> list[str]:
    return [column.field_name for column in schema.columns]


def _quote(engine: sa.Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def _qualified(engine: sa.Engine, table: sa.Table) -> str:
    preparer = engine.dialect.identifier_preparer
    return preparer.format_table(table)


STAGE = "tongshu_stage"  # stage files are attached as tongshu_stage0, tongshu_stage1, …


class SqliteStage:
    """A SQLite batch's rows, bulk-written from Arrow by the ADBC SQLite driver into scratch database files beside
    the data-plane database, each then copied into it by one `INSERT … SELECT` inside the batch's transaction.

    Python's `sqlite3` binds every value of every row through Python objects (`executemany`); ADBC writes Arrow
    columns from C++ without them, at several times the speed. Two SQLite libraries must never have the same file
    open at once (closing a file in one releases the other's POSIX locks), so the ADBC connection only ever sees
    these scratch files, and `sqlite3` attaches a file only after ADBC has closed it.

    A first load stages in parts (`PART_ROWS`): a full part is closed and copied at once, while the pipeline's
    producer thread validates the next chunks, so little copying is left for the commit. SQLite attaches at most ten
    databases, so there are at most eight parts: the last takes whatever remains. A merge stages in one indexed
    file (it joins on the key items)."""

    PART_ROWS = (131_072, 131_072, 131_072, 131_072, 262_144, 524_288, 1_048_576)

    def __init__(self, database: str, batch_id: int, keys: Sequence[str], *, parts: bool) -> None:
        self.base = f"{database}.stage-b{batch_id}"
        self.keys = list(keys)
        self.parts = parts
        self.rows = 0
        self.index = 0  # the part being written
        self._part_rows = 0
        self._connection: Any = None
        self._cursor: Any = None
        self.discard()  # parts left by a process killed mid-batch

    def path(self, index: int) -> Path:
        return Path(f"{self.base}-{index}")

    def append(self, frame: pl.DataFrame) -> Path | None:
        """Stage the rows; returns a part that is now complete (closed, ready to attach), if any."""
        if self._connection is None:
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            self._connection = adbc_sqlite.connect(str(self.path(self.index)), autocommit=True)
            self._cursor = self._connection.cursor()
            # Scratch data: no journal, no syncs (a crash just leaves a file the next attempt deletes).
            self._cursor.execute(f"PRAGMA page_size={STAGE_PAGE_SIZE}")
            self._cursor.execute("PRAGMA journal_mode=OFF")
            self._cursor.execute("PRAGMA synchronous=OFF")
        # polars' own string layout (Arrow string views), handed over without a copy: the driver binds views as it
        # binds plain strings. `to_arrow()` without the newest compatibility level would convert them to large
        # strings, copying every value (80 million instructions for 200,000 rows).
        table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
        self._cursor.adbc_ingest("s", table, mode="append" if self._part_rows else "create")
        self.rows += frame.height
        self._part_rows += frame.height
        if self.parts and self.index < len(self.PART_ROWS) and self._part_rows >= self.PART_ROWS[self.index]:
            return self._seal()
        return None

    def finish(self, exclude: Iterable[list[int]] = ()) -> Path | None:
        """Close the part being written (indexing the key items for a merge); returns it, if it holds any rows. A
        merge stages in one part, whose rows `exclude` (batches of rowids: 1 is the first row staged) are dropped."""
        if self._connection is None:
            return None
        for ids in exclude:
            self._cursor.execute(f"DELETE FROM s WHERE rowid IN ({', '.join(str(int(i)) for i in ids)})")
        if self.keys:
            names = ", ".join('"' + key.replace('"', '""') + '"' for key in self.keys)
            self._cursor.execute(f"CREATE INDEX s_key ON s ({names})")
        return self._seal()

    def _seal(self) -> Path:
        self._close()
        sealed = self.path(self.index)
        self.index += 1
        self._part_rows = 0
        return sealed

    def _close(self) -> None:
        if self._connection is not None:
            self._cursor.close()
            self._connection.close()
            self._connection = self._cursor = None

    def discard(self) -> None:
        self._close()
        folder, prefix = Path(self.base).parent, Path(self.base).name + "-"
        for leftover in folder.glob(f"{prefix}*"):
            leftover.unlink(missing_ok=True)


class BatchWriter:
    """Writes one batch in one transaction. Use as a context manager; call `commit()` to apply, anything else
    (an exception, `abort()`, the process dying) leaves the resource exactly as it was."""

    def __init__(
        self, schema: ResourceSchema, batch_id: int, mode: str, engine: sa.Engine | None = None
    ) -> None:
        if mode not in ("upsert", "replace"):
            raise ValueError(mode)
        self.schema, self.batch_id, self.mode = schema, int(batch_id), mode
        # The apply sequence number (the `_batch` of the rows it writes), taken under the write lock in __enter__.
        self.seq = 0
        self.engine = engine or get_engine()
        self.table, self.history = build_tables(self.engine, schema)
        self.columns = _value_columns(schema)
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.summary = WriteSummary()
        self._connection: sa.Connection | None = None
        self._direct = False  # first load into an empty table: write straight into it, index afterwards
        self._staging = f"_stage_{schema.table_name}_{self.batch_id}"
        self._rows = 0
        self._next_rid = 1  # PostgreSQL first load: `_rid` numbered by the load (see __enter__)
        self._stage: SqliteStage | None = None
        self._attached: list[str] = []
        self._copy: Any = None  # PostgreSQL: the batch's COPY while it is open (`_write_postgres`)
        self._copy_stack: contextlib.ExitStack | None = None
        self._excluded: list[pl.Series] = []  # write positions of rows sent but not to be applied (`exclude`)

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def __enter__(self) -> BatchWriter:
        ensure_tables(self.schema, self.engine)
        self._connection = self.engine.connect()
        conn = self._connection
        begin_write(conn, self.schema.resource_id)
        # Under the lock, so sequence numbers follow the order batches commit in (one indexed lookup per batch).
        markers = batches_table(self.engine)
        self.seq = (
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(markers.c.seq), 0)).where(
                    markers.c.resource_id == self.schema.resource_id
                )
            ).scalar_one()
            + 1
        )
        live = conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one()
        self._direct = live == 0
        if self._direct:
            for index in self.table.indexes:
                conn.execute(sa.schema.DropIndex(index, if_exists=True))
            if not is_sqlite(self.engine):
                # COPY into a table without its primary key is about twice as fast: the load numbers `_rid` itself
                # (an empty table has no history, so numbering from 1 is safe) and the key is added after, with the indexes.
                # The batch's constant columns come from defaults set for this transaction (dropped in `commit`):
                # COPY then parses three fewer columns a row. The table is already locked exclusively (above).
                conn.exec_driver_sql(
                    f"ALTER TABLE {_qualified(self.engine, self.table)} "
                    f"DROP CONSTRAINT IF EXISTS {_quote(self.engine, self.table.name + '_pkey')}, "
                    f"ALTER COLUMN _batch SET DEFAULT {int(self.seq)}, "
                    f"ALTER COLUMN _updated_at SET DEFAULT '{self.now.isoformat(sep=' ')}'"
                )
        else:
            # What a first load left to its task, if that has not run yet: built once, in this batch.
            for statement in _missing_structures(conn, self.table, self.history):
                statement(conn)
            if not is_sqlite(self.engine):
                self._create_staging(conn)
        if is_sqlite(self.engine):
            database = self.engine.url.database
            if not database or database == ":memory:":
                raise ValueError("the SQLite data-plane store must be a database file")
            # A merge joins the stage on the key items: index them there (a first load needs no index).
            keys = () if self._direct else self.schema.key_fields
            if not self._direct:
                conn.exec_driver_sql(f"PRAGMA cache_size=-{MERGE_CACHE_KIB}")  # back to CACHE_KIB in __exit__
            self._stage = SqliteStage(database, self.batch_id, keys, parts=self._direct)
            self._staging = f"{STAGE}0.s"
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self._connection
        if conn is None:
            return
        try:
            self._end_copy(exc if exc is not None else RuntimeError("batch not committed"))
            _rollback(conn)
        finally:
            try:
                self._detach(conn)
                if is_sqlite(self.engine):
                    conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")  # a pooled connection
                    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
            finally:
                conn.close()
                self._connection = None
                if self._stage is not None:
                    self._stage.discard()

    def _detach(self, conn: sa.Connection) -> None:
        while self._attached:
            conn.exec_driver_sql(f"DETACH DATABASE {self._attached.pop()}")

    def abort(self) -> None:
        if self._connection is not None:
            self._end_copy(RuntimeError("batch aborted"))
            _rollback(self._connection)

    # --- writing --------------------------------------------------------------------------------------------------
    def _create_staging(self, conn: sa.Connection) -> None:
        names = ", ".join(_quote(self.engine, name) for name in self.columns)
        source = _qualified(self.engine, self.table)
        temp = "" if is_sqlite(self.engine) else "TEMPORARY "
        # `_wpos`: each row's place in the order rows were sent (`exclude`).
        conn.exec_driver_sql(
            f"CREATE {temp}TABLE {self._staging} AS SELECT {names}, CAST(NULL AS BIGINT) AS _wpos FROM {source} WHERE 1=0"
        )

    def write(self, frame: pl.DataFrame) -> None:
        """Append validated, typed rows (columns = the schema's fields)."""
        self.write_prepared(self.prepare(frame))

    def prepare(self, frame: pl.DataFrame) -> Prepared:
        """The database-ready form of a chunk; pure polars work that may run on another thread while the previous
        chunk is written (polars releases the GIL)."""
        frame = frame.select(self.columns)
        if frame.height == 0:
            return Prepared(0, frame)
        if is_sqlite(self.engine):
            return Prepared(frame.height, frame)  # formatted as it is written (`_write_sqlite`)
        # Rows are numbered in the order they are sent: a first load's `_rid` (`_batch`, `_updated_at` and `_deleted`
        # come from the defaults, see __enter__), a merge's `_wpos` in the staging table (`exclude`).
        frame = frame.with_columns(
            pl.int_range(self._next_rid, self._next_rid + frame.height, dtype=pl.Int64).alias(
                "_rid" if self._direct else "_wpos"
            )
        )
        self._next_rid += frame.height
        buffer = io.BytesIO()
        # Batches of 16,384 rows: a fifth less CPU than polars' default of 1,024 for the same text.
        frame.write_csv(
            buffer, include_header=False, null_value="\\N", quote_style="necessary", batch_size=16_384
        )
        return Prepared(frame.height, buffer.getvalue())

    def write_prepared(self, prepared: Prepared) -> None:
        assert self._connection is not None
        if prepared.rows == 0:
            return
        self._rows += prepared.rows
        if is_sqlite(self.engine):
            assert isinstance(prepared.payload, pl.DataFrame)
            self._write_sqlite(prepared.payload)
        else:
            assert isinstance(prepared.payload, bytes)
            self._write_postgres(prepared.payload)

    def _write_sqlite(self, frame: pl.DataFrame) -> None:
        assert self._stage is not None
        # SQLite has no date type: ISO text, as SQLAlchemy's SQLite dialect reads it back. Formatted by polars here:
        # ADBC would format dates itself, through snprintf a value (a million dates: 0.2 s; polars: 0.07 s), and
        # date-times with a "T". Here, not in `prepare`: the producer (validation) is the busier thread.
        formats = {
            name: "%Y-%m-%d %H:%M:%S.%f" if isinstance(dtype, pl.Datetime) else "%Y-%m-%d"
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime | pl.Date)
        }
        if formats:
            frame = frame.with_columns(
                [pl.col(name).dt.strftime(pattern) for name, pattern in formats.items()]
            )
        complete = self._stage.append(frame)
        if complete is not None:
            self._take_part(complete)

    def _take_part(self, path: Path) -> None:
        """Attach a closed stage part to this transaction's connection; a first load copies it in at once."""
        assert self._connection is not None
        conn, name = self._connection, f"{STAGE}{len(self._attached)}"
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {name}", (str(path),))
        self._attached.append(name)
        if self._direct:
            names = ", ".join(_quote(self.engine, column) for column in self.columns)
            # The sequence number and time are values we generate, never input: safe to inline.
            conn.exec_driver_sql(
                f"INSERT INTO main.{_qualified(self.engine, self.table)} ({names}, _batch, _updated_at, _deleted) "
                f"SELECT {names}, {int(self.seq)}, '{self.now.isoformat(sep=' ')}', 0 FROM {name}.s ORDER BY rowid"
            )

    def _write_postgres(self, payload: bytes) -> None:
        """One COPY for the whole batch, opened by the first chunk and finished by `commit`: the server parses each
        chunk as it arrives while the next is prepared (a COPY a chunk waited for each to finish)."""
        assert self._connection is not None
        if self._copy is None:
            names = ", ".join(_quote(self.engine, name) for name in self.columns)
            if self._direct:
                target = _qualified(self.engine, self.table)
                frame_columns = f"{names}, _rid"
            else:
                target, frame_columns = self._staging, f"{names}, _wpos"
            raw = self._connection.connection.driver_connection
            stack = contextlib.ExitStack()
            cursor = stack.enter_context(raw.cursor())  # type: ignore[union-attr]
            self._copy = stack.enter_context(
                cursor.copy(f"COPY {target} ({frame_columns}) FROM STDIN (FORMAT csv, NULL '\\N')")
            )
            self._copy_stack = stack
        self._copy.write(payload)

    def _end_copy(self, failure: BaseException | None = None) -> None:
        """Finish the open COPY: with no failure its rows are in (a server error raises here); with one it is
        cancelled (the transaction is then rolled back)."""
        stack, self._copy, self._copy_stack = self._copy_stack, None, None
        if stack is None:
            return
        if failure is None:
            stack.close()
        else:
            with contextlib.suppress(Exception):  # the cancelled COPY's own error: the rollback follows
                stack.__exit__(type(failure), failure, failure.__traceback__)

    def exclude(self, positions: pl.Series) -> None:
        """Rows already sent that `commit` must leave out, by write position (0: the batch's first row sent): the
        pipeline finds keys repeated across chunks only once every chunk is in."""
        self._excluded.append(positions.cast(pl.Int64))

    def _excluded_ids(self) -> Iterator[list[int]]:
        """The excluded rows as ids counted from 1 (a first load's `_rid`, a merge stage's rowid or `_wpos`), in
        batches for the statements that remove them."""
        if not self._excluded:
            return
        ids = (pl.concat(self._excluded) + 1).sort()
        for start in range(0, len(ids), 10_000):
            yield ids.slice(start, 10_000).to_list()

    # --- applying -------------------------------------------------------------------------------------------------
    def commit(self) -> WriteSummary:
        conn = self._connection
        assert conn is not None
        self._end_copy()
        if is_sqlite(self.engine):
            assert self._stage is not None
            last = self._stage.finish(exclude=() if self._direct else self._excluded_ids())
            if last is not None:
                self._take_part(last)
            elif (
                not self._direct and not self._attached
            ):  # an empty batch to merge: an empty stage of its columns
                conn.exec_driver_sql(f"ATTACH DATABASE ? AS {STAGE}0", (str(self._stage.path(0)),))
                self._attached.append(f"{STAGE}0")
                self._create_staging(conn)
        excluded = sum(len(positions) for positions in self._excluded)
        if not is_sqlite(self.engine):
            column = "_rid" if self._direct else "_wpos"
            target = _qualified(self.engine, self.table) if self._direct else self._staging
            for ids in self._excluded_ids():
                conn.execute(sa.text(f"DELETE FROM {target} WHERE {column} = ANY(:ids)"), {"ids": ids})
        if self._direct:
            # No index is built inside the transaction: the batch's keys are unique (the pipeline checks them
            # across the whole batch, with row numbers) and the table was empty, so the unique key index cannot fail;
            # it and the query indexes follow right after, from `ensure_indexes` (a task), so the batch is visible
            # and the write lock free sooner. A batch that comes before the task builds them first (`__enter__`).
            # The table was empty: `_rid` counts the rows sent from 1.
            if is_sqlite(self.engine):
                target = _qualified(self.engine, self.table)
                # One row a statement, one statement text: `sqlite3` caches each distinct statement it prepares,
                # and one listing thousands of ids holds a megabyte or more while cached.
                for ids in self._excluded_ids():
                    conn.exec_driver_sql(f"DELETE FROM main.{target} WHERE _rid = ?", [(i,) for i in ids])
            self.summary.inserted = self._rows - excluded
            if not is_sqlite(self.engine):  # (SQLite: the stage parts are already copied in, `_take_part`)
                # The primary key on `_rid` (numbered by this load, so unique) is added by the task too.
                target = _qualified(self.engine, self.table)
                conn.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence(:t, '_rid'), :n, false)"),
                    {"t": target, "n": self._next_rid},
                )
                conn.exec_driver_sql(
                    f"ALTER TABLE {target} ALTER COLUMN _batch DROP DEFAULT, ALTER COLUMN _updated_at DROP DEFAULT"
                )
            self.summary.indexes_pending = bool(self.table.indexes)
        else:
            self._merge(conn)
        conn.execute(
            batches_table(self.engine)
            .insert()
            .values(
                batch_id=self.batch_id,
                resource_id=self.schema.resource_id,
                seq=self.seq,
                mode=self.mode,
                inserted=self.summary.inserted,
                updated=self.summary.updated,
                retired=self.summary.retired,
                applied_at=self.now,
            )
        )
        if self._direct and is_sqlite(self.engine):
            # The commit of a first load would checkpoint its WAL (its whole table, copied into the database file
            # before the batch is reported applied): the index task does that right after, together with the
            # indexes it writes (`ensure_indexes`). Back to SQLite's default in __exit__ (a pooled connection).
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        _commit(conn)
        self._detach(conn)
        return self.summary

    def _merge(self, conn: sa.Connection) -> None:
        """Stage → table: keep superseded versions in history, update changed rows, insert new ones, and for a full
        replace retire the rows the batch no longer contains."""
        engine = self.engine

        def q(name: str) -> str:
            return _quote(engine, name)

        target, history, staging = (
            _qualified(self.engine, self.table),
            _qualified(self.engine, self.history),
            self._staging,
        )
        keys = list(self.schema.key_fields)
        if not keys:
            raise ValueError("a resource without key items can only be fully replaced when empty")
        join = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in keys)
        differs = (
            " OR ".join(
                f"(t.{q(c)} IS DISTINCT FROM s.{q(c)})"
                if not is_sqlite(self.engine)
                else f"(t.{q(c)} IS NOT s.{q(c)})"
                for c in self.columns
                if c not in keys
            )
            or "1=0"
        )
        all_columns = ", ".join(q(c) for c in self.columns)
        now = self.now.isoformat(sep=" ")
        params = {"batch": self.seq, "now": now}  # `_batch` and `_superseded_by` hold apply sequence numbers
        if not is_sqlite(engine):  # the SQLite stage comes indexed (SqliteStage.finish)
            conn.exec_driver_sql(f"CREATE INDEX {staging}_key ON {staging} ({', '.join(q(k) for k in keys)})")
        # 1. History of rows about to change (updated, revived or retired).
        changed = f"SELECT t._rid FROM {target} t JOIN {staging} s ON {join} WHERE ({differs}) OR t._deleted"
        conn.execute(
            sa.text(
                f"INSERT INTO {history} (_rid, {all_columns}, _batch, _updated_at, _deleted, _superseded_by) "
                f"SELECT _rid, {all_columns}, _batch, _updated_at, _deleted, :batch FROM {target} "
                f"WHERE _rid IN ({changed})"
            ),
            params,
        )
        # 2. Update them.
        assignments = ", ".join(f"{q(c)} = s.{q(c)}" for c in self.columns if c not in keys)
        assignments = (
            assignments + ", " if assignments else ""
        ) + "_batch = :batch, _updated_at = :now, _deleted = :false"
        result = conn.execute(
            sa.text(
                f"UPDATE {target} AS t SET {assignments} FROM {staging} AS s "
                f"WHERE {join} AND (({differs}) OR t._deleted)"
            ),
            {**params, "false": False},
        )
        self.summary.updated = result.rowcount
        # 3. Insert the new ones.
        result = conn.execute(
            sa.text(
                f"INSERT INTO {target} ({all_columns}, _batch, _updated_at, _deleted) "
                f"SELECT {', '.join('s.' + q(c) for c in self.columns)}, :batch, :now, :false FROM {staging} s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {join})"
            ),
            {**params, "false": False},
        )
        self.summary.inserted = result.rowcount
        # 4. A full replace retires what the batch no longer holds.
        if self.mode == "replace":
            gone = f"SELECT _rid FROM {target} t WHERE NOT t._deleted AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE {join})"
            conn.execute(
                sa.text(
                    f"INSERT INTO {history} (_rid, {all_columns}, _batch, _updated_at, _deleted, _superseded_by) "
                    f"SELECT _rid, {all_columns}, _batch, _updated_at, _deleted, :batch FROM {target} WHERE _rid IN ({gone})"
                ),
                params,
            )
            result = conn.execute(
                sa.text(
                    f"UPDATE {target} SET _deleted = :true, _batch = :batch, _updated_at = :now WHERE _rid IN ({gone})"
                ),
                {**params, "true": True},
            )
            self.summary.retired = result.rowcount
        if not is_sqlite(engine):
            conn.exec_driver_sql(f"DROP TABLE {staging}")


def read_rows(
    schema: ResourceSchema,
    *,
    columns: Sequence[str] | None = None,
    filters: dict[str, Any] | None = None,
    as_of_batch: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    engine: sa.Engine | None = None,
) -> Iterator[dict[str, Any]]:
    """Live rows (or the rows as they stood after the applied batch `as_of_batch`: `UnknownBatch` if it is not one),
    optionally filtered by equality on fields."""
    engine = engine or get_engine()
    table, _history = build_tables(engine, schema)
    names = list(columns or _value_columns(schema))
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table.name, schema=table.schema):
            return
        if as_of_batch is None:
            query = sa.select(table.c._rid, *[table.c[n] for n in names]).where(
                table.c._deleted == sa.false()
            )
            source: sa.FromClause = table
        else:
            _table, union = _readable(conn, schema, names, as_of_batch)
            query = sa.select(union.c._rid, *[union.c[n] for n in names])
            source = union
        for name, value in (filters or {}).items():
            query = query.where(source.c[name] == value)
        query = query.order_by(source.c._rid).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        for row in conn.execute(query).mappings():
            yield dict(row)


# --- Reads for data quality (tongshu.quality): reference checks and score scans ------------------------------------
def existing_values(
    schema: ResourceSchema,
    field_name: str,
    values: Sequence[Any],
    *,
    batch_size: int = 500,
    engine: sa.Engine | None = None,
) -> set[Any]:
    """Which of `values` occur in `field_name` of the resource's live rows (batched IN lists, bound parameters).
    A resource whose table does not exist yet holds no values."""
    engine = engine or get_engine()
    table, _history = build_tables(engine, schema)
    column = table.c[field_name]
    wanted = list(dict.fromkeys(value for value in values if value is not None))
    found: set[Any] = set()
    if not wanted:
        return found
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table.name, schema=table.schema):
            return found
        for start in range(0, len(wanted), batch_size):
            part = wanted[start : start + batch_size]
            query = sa.select(column).distinct().where(table.c._deleted == sa.false(), column.in_(part))
            found.update(conn.execute(query).scalars())
    return found


def read_frame(
    schema: ResourceSchema,
    *,
    limit: int | None = None,
    chunk_size: int = 50_000,
    engine: sa.Engine | None = None,
) -> Iterator[pl.DataFrame]:
    """The live rows (value columns only) as polars frames of at most `chunk_size` rows, in `_rid` order, so a
    scan of a large resource never holds it whole in memory."""
    engine = engine or get_engine()
    table, _history = build_tables(engine, schema)
    names = _value_columns(schema)
    query = (
        sa.select(*[table.c[name] for name in names])
        .where(table.c._deleted == sa.false())
        .order_by(table.c._rid)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table.name, schema=table.schema):
            return
        result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(query)
        for rows in result.partitions(chunk_size):
            yield pl.DataFrame(
                [tuple(row) for row in rows], schema=names, orient="row", infer_schema_length=None
            )


# --- reading for pages, downloads and libraries -------------------------------------------------------------------
# A condition is (field, op, value): op "eq" (equality) or "prefix" (text starting with value, LIKE-escaped).
Condition = tuple[str, str, Any]


def _readable(
    conn: sa.Connection, schema: ResourceSchema, names: Sequence[str], as_of_batch: int | None
) -> tuple[sa.Table, Any]:
    """(the live table, a selectable with `_rid` and `names` of the rows live now or as of the applied batch
    `as_of_batch`, or None if the table does not exist yet). The batch id is translated to its apply sequence number
    (`UnknownBatch` if it names no applied batch of the resource): the rows written up to it in apply order."""
    table, history = build_tables(conn.engine, schema)
    if not _exists(conn, table):
        return table, None
    if as_of_batch is None:
        source = (
            sa.select(table.c._rid, *[table.c[n] for n in names])
            .where(table.c._deleted == sa.false())
            .subquery()
        )
        return table, source
    ensure_markers(conn.engine)
    as_of = _seq_of(conn, schema, as_of_batch)
    current = sa.select(table.c._rid, *[table.c[n] for n in names], table.c._deleted).where(
        table.c._batch <= as_of
    )
    past = sa.select(history.c._rid, *[history.c[n] for n in names], history.c._deleted).where(
        history.c._batch <= as_of, history.c._superseded_by > as_of
    )
    union = sa.union_all(current, past).subquery()
    return table, sa.select(union).where(union.c._deleted == sa.false()).subquery()


def _where(source: Any, conditions: Sequence[Condition]) -> list[Any]:
    clauses = []
    for name, op, value in conditions:
        column = source.c[name]
        clauses.append(column.startswith(value, autoescape=True) if op == "prefix" else column == value)
    return clauses


def _exists(conn: sa.Connection, table: sa.Table) -> bool:
    return sa.inspect(conn).has_table(table.name, schema=table.schema)


def iter_pages(
    schema: ResourceSchema,
    *,
    columns: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    as_of_batch: int | None = None,
    page_size: int = 10_000,
    engine: sa.Engine | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every matching row in `_rid` order, a page at a time (keyset pagination: each page is one indexed range query
    on its own short connection, so a download of any size holds one page in memory and no long read transaction)."""
    engine = engine or get_engine()
    names = list(columns or _value_columns(schema))
    with engine.connect() as conn:
        table, source = _readable(conn, schema, names, as_of_batch)
    if source is None:
        return
    after = 0
    while True:
        query = (
            sa.select(source)
            .where(source.c._rid > after, *_where(source, conditions))
            .order_by(source.c._rid)
            .limit(page_size)
        )
        with engine.connect() as conn:
            if not _exists(conn, table):
                return
            page = [dict(row) for row in conn.execute(query).mappings()]
        if not page:
            return
        yield page
        if len(page) < page_size:
            return
        after = page[-1]["_rid"]


def search_rows(
    schema: ResourceSchema,
    *,
    columns: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    sort: str | None = None,
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
    as_of_batch: int | None = None,
    engine: sa.Engine | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(matching row count, one page of rows) for browsing: filters, a sort field, paging."""
    engine = engine or get_engine()
    names = list(columns or _value_columns(schema))
    with engine.connect() as conn:
        _table, source = _readable(conn, schema, names, as_of_batch)
        if source is None:
            return 0, []
        where = _where(source, conditions)
        order = []
        if sort:
            order.append(source.c[sort].desc() if descending else source.c[sort].asc())
        order.append(source.c._rid.desc() if descending and sort else source.c._rid)
        total = conn.execute(sa.select(sa.func.count()).select_from(source).where(*where)).scalar_one()
        query = sa.select(source).where(*where).order_by(*order).limit(limit).offset(offset)
        return int(total), [dict(row) for row in conn.execute(query).mappings()]


def get_row(
    schema: ResourceSchema, rid: int, *, as_of_batch: int | None = None, engine: sa.Engine | None = None
) -> dict[str, Any] | None:
    engine = engine or get_engine()
    with engine.connect() as conn:
        _table, source = _readable(conn, schema, _value_columns(schema), as_of_batch)
        if source is None:
            return None
        row = conn.execute(sa.select(source).where(source.c._rid == rid)).mappings().first()
    return dict(row) if row else None


def retire_rows(
    schema: ResourceSchema, batch_id: int, keys: Sequence[dict[str, Any]], engine: sa.Engine | None = None
) -> WriteSummary:
    """Retire the live rows with these key values as one batch (an e-form's 注销, 第十九条(三)): their last versions go
    to history, the rows are marked deleted, and the batch marker is written, all in the batch's one transaction."""
    if not schema.key_fields:
        raise ValueError("only resources with key items can retire single rows")
    with BatchWriter(schema, batch_id, "upsert", engine) as writer:
        conn, table, history = writer._connection, writer.table, writer.history
        assert conn is not None
        matches = sa.or_(
            *[sa.and_(*[table.c[name] == key[name] for name in schema.key_fields]) for key in keys]
        )
        live = sa.and_(table.c._deleted == sa.false(), matches) if keys else sa.false()
        names = writer.columns
        conn.execute(
            history.insert().from_select(
                ["_rid", *names, "_batch", "_updated_at", "_deleted", "_superseded_by"],
                sa.select(
                    table.c._rid,
                    *[table.c[n] for n in names],
                    table.c._batch,
                    table.c._updated_at,
                    table.c._deleted,
                    sa.literal(writer.seq, sa.BigInteger()),
                ).where(live),
            )
        )
        result = conn.execute(
            table.update().where(live).values(_deleted=True, _batch=writer.seq, _updated_at=writer.now)
        )
        writer.summary.retired = result.rowcount
        return writer.commit()


# --- the change log: every row version each applied batch wrote (incremental sync, data push) ----------------------
# Each batch writes at most one version of a row, so a version is named by (seq, _rid): the live row holds the latest
# version of each `_rid`, the history table every earlier one (`_batch` = the apply sequence number of the batch that
# wrote it, `_superseded_by` = that of the batch that replaced it). The operation of a version follows from the version
# before it (the history row that this batch superseded: `_superseded_by` = its seq, found through the
# `(_rid, _superseded_by)` index): none, or a retired one → insert (a first load, a new key, a retired key loaded
# again); a live one → update; a version marked deleted → retire. So the log is derived, never stored twice, and lists
# changes in the order their batches were applied (seq), not the order of batch ids: a batch applied after a later
# one comes after it, so a consumer that has read past the later one still gets it. Callers name batches by id (after,
# until, the cursor's batch); the store translates them through the markers, and answers batch ids.
INSERT, UPDATE, RETIRE = "insert", "update", "retire"
ChangeCursor = tuple[int, int]  # (batch id, _rid) of the last change a page held


@dataclass(frozen=True)
class ChangePage:
    """Changes in apply order, then `_rid`: dicts with `_batch` (the batch id), `_seq` (its apply sequence number),
    `_rid`, `_op`, `_updated_at` and the value columns (for a retire, the row's values as it was retired).
    `next_cursor` is None on the last page."""

    changes: list[dict[str, Any]]
    next_cursor: ChangeCursor | None


def read_changes(
    schema: ResourceSchema,
    after_batch: int = 0,
    *,
    limit: int = 1000,
    cursor: ChangeCursor | None = None,
    until_batch: int | None = None,
    batch: int | None = None,
    columns: Sequence[str] | None = None,
    engine: sa.Engine | None = None,
) -> ChangePage:
    """One page of the row changes of the batches applied after the batch `after_batch` (0: from the first), up to
    the batch `until_batch` included, or of the one batch `batch` (instead of both), continuing after `cursor`.
    Batches are named by id and must be applied batches of the resource (`UnknownBatch`); "after" and "up to" are in
    the order batches were applied. Keyset pagination: each page is at most four indexed range queries on one short
    connection holding `limit + 1` rows at most, whatever the size of the log."""
    if limit < 1:
        raise ValueError("limit must be positive")
    engine = engine or get_engine()
    table, history = build_tables(engine, schema)
    names = list(columns or _value_columns(schema))
    wanted = limit + 1
    ensure_markers(engine)
    with engine.connect() as conn:
        if not _exists(conn, table):
            return ChangePage([], None)
        until: int | None
        if batch is not None:
            until = _seq_of(conn, schema, batch)
            after = until - 1
        else:
            after = _seq_of(conn, schema, after_batch)
            until = None if until_batch is None else _seq_of(conn, schema, until_batch)
        position = None if cursor is None else (_seq_of(conn, schema, cursor[0]), cursor[1])
        sources = (table, history) if _history_in_range(conn, schema, after, position) else (table,)
        branches = [
            _version_rows(conn, source, history, names, after, until, position, wanted) for source in sources
        ]
        merged = heapq.merge(*branches, key=lambda change: (change["_seq"], change["_rid"]))
        page = list(itertools.islice(merged, wanted))
        ids = _batch_ids(conn, schema, {change["_seq"] for change in page})
    for change in page:
        change["_batch"] = ids[change["_seq"]]
    if len(page) <= limit:
        return ChangePage(page, None)
    page = page[:limit]
    return ChangePage(page, (page[-1]["_batch"], page[-1]["_rid"]))


def _history_in_range(
    conn: sa.Connection, schema: ResourceSchema, after: int, position: tuple[int, int] | None
) -> bool:
    """Whether the history table may hold versions of the range (after the sequence number `after`, from the
    cursor's `position`): a version written by a batch b of the range is there only if a batch applied after b
    changed rows. A consumer that keeps up reads one or two new batches, none of which was superseded, so its pages
    skip the history table altogether."""
    markers = batches_table(conn.engine)
    mine = markers.c.resource_id == schema.resource_id
    first = sa.select(sa.func.min(markers.c.seq)).where(mine, markers.c.seq > after)
    if position is not None:
        first = first.where(markers.c.seq >= position[0])
    first_seq = conn.execute(first).scalar()
    if first_seq is None:
        return False
    changing = (markers.c.inserted + markers.c.updated + markers.c.retired) > 0
    later = sa.select(markers.c.seq).where(mine, markers.c.seq > first_seq, changing).limit(1)
    return conn.execute(later).first() is not None


def _version_rows(
    conn: sa.Connection,
    source: sa.Table,
    history: sa.Table,
    names: Sequence[str],
    after: int,
    until: int | None,
    position: tuple[int, int] | None,
    wanted: int,
) -> list[dict[str, Any]]:
    """Up to `wanted` versions held by `source` (the live table or the history table), in (seq, `_rid`) order:
    written after the sequence number `after`, up to `until`, after the (seq, `_rid`) `position`."""
    version = source.alias("v")
    previous = history.alias("p")
    query = (
        sa.select(
            version.c._batch,
            version.c._rid,
            version.c._deleted,
            version.c._updated_at,
            *[version.c[name] for name in names],
            previous.c._rid.label("_previous_rid"),
            previous.c._deleted.label("_previous_deleted"),
        )
        .select_from(
            version.outerjoin(
                previous,
                sa.and_(previous.c._rid == version.c._rid, previous.c._superseded_by == version.c._batch),
            )
        )
        .where(version.c._batch > after)
    )
    if until is not None:
        query = query.where(version.c._batch <= until)
    # Two ranges rather than one row-value comparison, so each is an index range on `_batch` (and on `_rid` within
    # the cursor's batch) on both databases: the rest of the cursor's batch, then the batches after it.
    ranges = []
    if position is not None:
        ranges.append(
            query.where(version.c._batch == position[0], version.c._rid > position[1]).order_by(
                version.c._rid
            )
        )
        query = query.where(version.c._batch > position[0])
    ranges.append(query.order_by(version.c._batch, version.c._rid))
    rows: list[dict[str, Any]] = []
    for part in ranges:
        if len(rows) >= wanted:
            break
        for row in conn.execute(part.limit(wanted - len(rows))).mappings():
            rows.append(_change(row, names))
    return rows


def _change(row: Any, names: Sequence[str]) -> dict[str, Any]:
    if row["_deleted"]:
        operation = RETIRE
    elif row["_previous_rid"] is not None and not row["_previous_deleted"]:
        operation = UPDATE
    else:
        operation = INSERT
    return {
        "_batch": None,  # the batch id, filled in from `_seq` by read_changes
        "_seq": int(row["_batch"]),
        "_rid": row["_rid"],
        "_op": operation,
        "_updated_at": row["_updated_at"],
        **{name: row[name] for name in names},
    }
