"""Pulls from a department database: the machine's PostgreSQL and MariaDB (`mariadb` marker), each skipped when its
server is unreachable. Both listen on 127.0.0.1, which pull sources may reach only because the fixture lists it in
TONGSHU_PULL_ALLOWED_HOSTS (SQLite files are refused: see test_sources_guard.py)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
import sqlalchemy as sa

from tongshu.core.errors import ValidationFailed
from tongshu.dataplane.models import BatchStatus
from tongshu.dataplane.sources import services
from tongshu.dataplane.sources.database import decode_mark

from .sources_kit import LOCAL, live_rows, small_resource

pytestmark = pytest.mark.django_db
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
MARIADB = "mysql+pymysql://root:@127.0.0.1:3306/test"
MAPPING = {"code": "f001", "title": "f002", "day": "f003", "headcount": "f004"}


class DepartmentDatabase:
    def __init__(self, url: str, table: str) -> None:
        self.url, self.table = url, table
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.execute(
            f"CREATE TABLE {table} (code VARCHAR(20), title VARCHAR(50), day DATE, headcount INTEGER, "
            "version INTEGER)"
        )

    def execute(self, statement: str, params: Any = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params or {})

    def add(self, *rows: tuple[str, str, int]) -> None:
        for code, title, version in rows:
            self.execute(
                f"INSERT INTO {self.table} VALUES (:c, :t, :d, :h, :v)",
                {"c": code, "t": title, "d": dt.date(2024, 5, 1), "h": version * 10, "v": version},
            )


def _postgres() -> Any:
    import psycopg

    name = f"tongshu_src_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is unreachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    database = DepartmentDatabase(f"{POSTGRES}/{name}", "people")
    yield database
    database.engine.dispose()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _mariadb() -> Any:
    pymysql = pytest.importorskip("pymysql")
    try:
        pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", database="test", connect_timeout=3
        ).close()
    except pymysql.MySQLError as exc:
        pytest.skip(f"MariaDB on 127.0.0.1:3306 (root, database test) is unreachable: {exc}")
    database = DepartmentDatabase(MARIADB, f"people_{secrets.token_hex(4)}")
    yield database
    database.execute(f"DROP TABLE IF EXISTS {database.table}")
    database.engine.dispose()


@pytest.fixture(params=["postgresql", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def department(request, settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL
    yield from {"postgresql": _postgres, "mariadb": _mariadb}[request.param]()


@pytest.fixture
def resource(personas):
    return small_resource(personas.provider_org)


def db_source(actor, resource, department, **values):
    fields = {
        "kind": "database",
        "name": "部门业务库",
        "query": f"SELECT code, title, day, headcount, version FROM {department.table}",
        "mapping": MAPPING,
        "page_size": 2,
        **values,
    }
    url = values.pop("url", department.url)
    fields.pop("url", None)
    return services.save_source(actor, resource, fields, database_url=url)


def test_full_pull_and_encrypted_url(personas, resource, department):
    department.add(("B1", "一号", 1), ("B2", "二号", 1), ("B3", "三号", 1))
    source = db_source(personas.provider_admin, resource, department, mode="replace")
    assert department.url not in source.database_secret and "127.0.0.1" not in source.database_secret
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.APPLIED, run.batch.message
    assert run.batch.source == "pull_db" and run.batch.inserted == 3 and run.pages == 2
    assert live_rows(resource) == [("B1", "一号"), ("B2", "二号"), ("B3", "三号")]


def test_incremental_pull_remembers_the_mark(personas, resource, department):
    department.add(("B1", "一号", 1), ("B2", "二号", 2))
    source = db_source(personas.provider_admin, resource, department, incremental_column="version")
    run = services.run_source(personas.provider_admin, source)
    source.refresh_from_db()
    assert run.batch.inserted == 2 and decode_mark(source.high_water_mark) == 2
    department.add(("B3", "三号", 3))
    department.execute(f"UPDATE {department.table} SET title = '一号改', version = 4 WHERE code = 'B1'")
    run = services.run_source(personas.provider_admin, source)
    source.refresh_from_db()
    assert run.rows_fetched == 2 and run.batch.inserted == 1 and run.batch.updated == 1
    assert decode_mark(source.high_water_mark) == 4
    assert live_rows(resource) == [("B1", "一号改"), ("B2", "二号"), ("B3", "三号")]
    # Nothing new: no batch, the mark stays.
    run = services.run_source(personas.provider_admin, source)
    assert run.batch is None and run.rows_fetched == 0 and run.message == "没有新的数据"


def test_row_limit_stops_at_a_change_of_mark_value(personas, resource, department):
    department.add(("B1", "一", 1), ("B2", "二", 2), ("B3", "三", 2), ("B4", "四", 2), ("B5", "五", 3))
    source = db_source(
        personas.provider_admin, resource, department, incremental_column="version", page_size=2, max_pages=1
    )
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.inserted == 4 and "下次运行" in run.message  # B2..B4 share the mark value 2: all taken
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.inserted == 1
    assert [code for code, _name in live_rows(resource)] == ["B1", "B2", "B3", "B4", "B5"]


def test_faults_keep_data(personas, resource, department):
    department.add(("B1", "一号", 1))
    services.run_source(personas.provider_admin, db_source(personas.provider_admin, resource, department))
    before = live_rows(resource)
    bad_column = db_source(
        personas.provider_admin, resource, department, name="错列", incremental_column="nope"
    )
    missing_table = db_source(
        personas.provider_admin, resource, department, name="缺表", query="SELECT * FROM no_such_table"
    )
    too_many = db_source(personas.provider_admin, resource, department, name="超量", page_size=1, max_pages=1)
    department.add(("B2", "二号", 2))
    for source, needle in ((bad_column, "nope"), (missing_table, "查询失败"), (too_many, "上限")):
        run = services.run_source(personas.provider_admin, source)
        assert run.batch.status == BatchStatus.FAILED and needle in run.batch.message, run.batch.message
    assert live_rows(resource) == before


def test_only_select_is_saved(personas, resource, department):
    for query in (f"DELETE FROM {department.table}", f"SELECT 1; DROP TABLE {department.table}"):
        with pytest.raises(ValidationFailed) as caught:
            db_source(personas.provider_admin, resource, department, query=query)
        assert caught.value.field == "query"
    with pytest.raises(ValidationFailed) as caught:
        db_source(personas.provider_admin, resource, department, mode="replace", incremental_column="version")
    assert caught.value.field == "mode"


@pytest.mark.postgres
def test_postgres_runs_read_only(personas, resource, settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL
    database_gen = _postgres()
    department = next(database_gen)
    try:
        department.execute("CREATE SEQUENCE s")
        source = db_source(
            personas.provider_admin,
            resource,
            department,
            query="SELECT 'X' || nextval('s') AS code, 'n' AS title",
            mapping={},
        )
        run = services.run_source(personas.provider_admin, source)
        assert run.batch.status == BatchStatus.FAILED and "read-only" in run.batch.message
    finally:
        next(database_gen, None)


def test_unreachable_database_fails_cleanly(personas, resource, settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL
    source = services.save_source(
        personas.provider_admin,
        resource,
        {
            "kind": "database",
            "name": "不可达",
            "query": "SELECT code FROM t",
            "timeout_seconds": 2,
        },
        database_url="postgresql+psycopg://nobody:wrong@127.0.0.1:1/none",
    )
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.FAILED and "部门数据库查询失败" in run.batch.message
    assert "wrong" not in run.batch.message
