"""Pulling rows from a department's own database (第十九条) through SQLAlchemy.

The department gives a SQLAlchemy URL (stored encrypted) and one SELECT. Defence in depth, since the query is theirs:
- only a single SELECT (or WITH … SELECT) passes `check_query`: no second statement, no INTO, no data-changing or
  locking keyword outside literals and comments;
- the URL must name a database server that `guard` allows: no SQLite or other file database, never the platform's
  own databases, no internal address unless the operator lists it (checked on save and again on every run);
- it runs in a read-only transaction where the database has one (PostgreSQL and KingbaseES: READ ONLY, REPEATABLE
  READ, a statement timeout; MySQL/MariaDB: session READ ONLY; Oracle: READ ONLY); the deployment guide also asks for
  a read-only database account;
- rows stream with a server-side cursor, `page_size` at a time, up to `page_size × max_pages` rows per run.

Incremental pulls name a column: each run fetches rows whose value is above the remembered high-water mark, in that
column's order, and the new mark is the last value loaded. When a run reaches its row limit it stops at a change of
value (never between two rows with the same value), and the next run continues from there.

This module builds SQL against the department's database, not the data plane: the store stays the only code that
writes resource tables.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from . import guard
from .faults import SourceFault

FORBIDDEN = [
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "UPSERT",
    "DROP",
    "ALTER",
    "CREATE",
    "TRUNCATE",
    "GRANT",
    "REVOKE",
    "CALL",
    "EXEC",
    "EXECUTE",
    "COPY",
    "LOCK",
    "INTO",
    "OUTFILE",
    "DUMPFILE",
    "ATTACH",
    "DETACH",
    "PRAGMA",
    "VACUUM",
    "REINDEX",
    "CLUSTER",
    "COMMENT",
    "RENAME",
    "HANDLER",
    "LOAD",
    "SHUTDOWN",
    "KILL",
]
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_query(query: str) -> str:
    """The query without a trailing semicolon, or SourceFault when it is anything but a single SELECT."""
    text = query.strip().rstrip(";").strip()
    if not text:
        raise SourceFault("请填写查询语句", "empty_query")
    bare = _LITERALS.sub(" ", text)
    if ";" in bare:
        raise SourceFault("只允许一条查询语句（不能包含分号分隔的多条语句）", "not_select")
    words = [word.upper() for word in _WORD.findall(bare)]
    if not words or words[0] not in ("SELECT", "WITH"):
        raise SourceFault("只允许 SELECT 查询语句", "not_select")
    bad = sorted({word for word in words if word in FORBIDDEN})
    if bad:
        raise SourceFault(f"查询语句只能读取数据，不能包含 {'、'.join(bad)}", "not_select")
    return text


def check_column(name: str) -> str:
    if name and not IDENTIFIER.match(name):
        raise SourceFault("增量字段名只能包含字母、数字和下划线", "bad_column")
    return name


# --- the high-water mark, stored as "<type>:<value>" so it binds with its own type -----------------------------------
def encode_mark(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"int:{int(value)}"
    if isinstance(value, int):
        return f"int:{value}"
    if isinstance(value, decimal.Decimal):
        return f"dec:{value}"
    if isinstance(value, float):
        return f"float:{value!r}"
    if isinstance(value, dt.datetime):
        return f"dt:{value.isoformat()}"
    if isinstance(value, dt.date):
        return f"date:{value.isoformat()}"
    return f"str:{value}"


def decode_mark(mark: str) -> Any:
    if not mark:
        return None
    kind, _sep, value = mark.partition(":")
    converters: dict[str, Any] = {
        "int": int,
        "dec": decimal.Decimal,
        "float": float,
        "dt": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "str": str,
    }
    return converters.get(kind, str)(value)


def show_mark(mark: str) -> str:
    return mark.partition(":")[2]


def to_text(value: Any) -> str:
    """A database or JSON value as the text the pipeline validates (dates ISO, no float noise, booleans 1/0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)


@dataclass
class DatabaseConfig:
    url: str
    query: str
    incremental_column: str = ""
    mark: str = ""
    page_size: int = 1000
    max_pages: int = 1000
    timeout_seconds: int = 30


@dataclass
class DatabasePull:
    """Filled while `iter_pages` runs: the columns, the new mark and whether the run stopped at its row limit."""

    columns: list[str] = field(default_factory=list)
    mark: str = ""
    truncated: bool = False


def dialect_of(url: str) -> str:
    try:
        return sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise SourceFault("数据库连接地址格式不正确（应为 SQLAlchemy URL）", "bad_url") from None


def _engine(config: DatabaseConfig) -> sa.Engine:
    # Checked again at every run (the allow-list or DNS may have changed since the source was saved), and the
    # connection goes to the address that was checked.
    url, connect_args = guard.pinned(guard.check_database_url(config.url))
    backend = url.get_backend_name()
    if backend == "postgresql":
        connect_args["connect_timeout"] = config.timeout_seconds
    elif backend in ("mysql", "mariadb"):
        connect_args.update(connect_timeout=config.timeout_seconds, read_timeout=config.timeout_seconds * 10)
    try:
        return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError):
        raise SourceFault(f"不支持的数据库类型 {backend}：请由运维人员安装对应的驱动", "no_driver") from None
    except ImportError as exc:
        raise SourceFault(f"数据库驱动未安装（{exc.name}），请由运维人员安装", "no_driver") from None


def _read_only(conn: sa.Connection, config: DatabaseConfig) -> sa.Connection:
    name = conn.dialect.name
    if name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(config.timeout_seconds) * 10_000}")
    elif name in ("mysql", "mariadb"):
        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
    elif name == "oracle":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    return conn


def _abandon(conn: sa.Connection, result: Any) -> None:
    """Stop reading a streamed result early. PyMySQL's unbuffered cursor would read every remaining row on close, so
    its result is marked finished and the connection dropped instead (it is not pooled; the transaction was
    read-only). These are PyMySQL internals (`_result`, `unbuffered_active`), guarded so another driver is untouched."""
    if conn.dialect.name not in ("mysql", "mariadb"):
        return
    cursor = getattr(result, "cursor", None)
    pending = getattr(cursor, "_result", None)
    if pending is not None and hasattr(pending, "unbuffered_active"):
        pending.unbuffered_active = False
        cursor._result = None  # type: ignore[union-attr]
    conn.invalidate()


def _up_to_boundary(
    rows: list[dict[str, Any]], keep: int, last: Any, column: str, pages: Any, pull: DatabasePull
) -> Iterator[list[dict[str, Any]]]:
    """At the row limit: keep `keep` rows, then every further row with the same mark value (rows are in mark order),
    so the next run, reading above the mark, misses none of them."""
    head, tail = rows[:keep], rows[keep:]
    boundary = head[-1][column] if head else last
    ended = False
    for row in tail:
        if row[column] != boundary:
            ended = True
            break
        head.append(row)
    while not ended:
        more = next(pages, None)
        if not more:
            break
        for row in more:
            if row[column] != boundary:
                ended = True
                break
            head.append(dict(row))
    pull.truncated = True
    if head:
        pull.mark = encode_mark(head[-1][column])
        yield head


def iter_pages(config: DatabaseConfig, pull: DatabasePull) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of rows (dicts). Fills `pull` with the columns, the new mark and whether the limit cut the run."""
    query = check_query(config.query)
    column = check_column(config.incremental_column)
    engine = _engine(config)
    limit = config.page_size * max(config.max_pages, 1)
    pull.mark = config.mark
    try:
        with engine.connect() as raw:
            conn = _read_only(raw, config)
            statement: Any = sa.text(query)
            params: dict[str, Any] = {}
            if column:
                quoted = conn.dialect.identifier_preparer.quote(column)
                where = ""
                if config.mark:
                    where = f" WHERE src.{quoted} > :tongshu_mark"
                    params["tongshu_mark"] = decode_mark(config.mark)
                # The department's own query, wrapped to read above the mark in the mark's order.
                statement = sa.text(f"SELECT * FROM ({query}) src{where} ORDER BY src.{quoted}")  # noqa: S608
            result = conn.execution_options(stream_results=True, yield_per=config.page_size).execute(
                statement, params
            )
            pull.columns = list(result.keys())
            if column and column not in pull.columns:
                raise SourceFault(f"查询结果中没有增量字段 {column}", "bad_column")
            total, last = 0, None
            pages = result.mappings().partitions(config.page_size)
            for partition in pages:
                rows = [dict(row) for row in partition]
                if total + len(rows) > limit:
                    if not column:
                        _abandon(raw, result)
                        raise SourceFault(
                            f"查询结果超过每次运行的上限（{limit} 行），本次未加载任何数据；"
                            "请调高页数上限或改用增量字段",
                            "too_many_rows",
                        )
                    yield from _up_to_boundary(rows, max(0, limit - total), last, column, pages, pull)
                    _abandon(raw, result)
                    return
                total += len(rows)
                if column and rows:
                    last = rows[-1][column]
                    pull.mark = encode_mark(last)
                yield rows
    except SourceFault:
        raise
    except sa.exc.DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else exc.__class__.__name__
        raise SourceFault(f"部门数据库查询失败：{detail}", "query_failed") from None
    except sa.exc.SQLAlchemyError as exc:
        raise SourceFault(f"部门数据库查询失败：{str(exc).splitlines()[0][:200]}", "query_failed") from None
    except ImportError as exc:
        raise SourceFault(f"数据库驱动未安装（{exc.name}），请由运维人员安装", "no_driver") from None
    finally:
        engine.dispose()
