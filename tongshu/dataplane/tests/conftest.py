from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tongshu.dataplane import store


def _worker_database(url: str, worker_id: str) -> str:
    """The data database of this xdist worker (created on first use beside the run's data database, whose name
    prefix the PostgreSQL runner drops at the end), emptied of resource tables before each test."""
    base = sa.engine.make_url(store.normalized_url(url))
    name = f"{base.database}_{worker_id}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    worker_url = base.set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(worker_url)
    try:
        with engine.begin() as conn:
            namespaces = conn.execute(
                sa.text(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'org\\_%' OR nspname = 'tongshu'"
                )
            ).scalars()
            for namespace in list(namespaces):
                conn.exec_driver_sql(f'DROP SCHEMA "{namespace}" CASCADE')
    finally:
        engine.dispose()
    return worker_url


@pytest.fixture(autouse=True)
def isolated_data_store(tmp_path: Any, settings: Any, worker_id: str) -> Any:
    """Each test gets an empty data plane: its own SQLite file, or on the PostgreSQL run (TONGSHU_DATA_URL set to a
    PostgreSQL database) a database per xdist worker with every resource schema dropped before the test."""
    store.dispose_engines()
    if settings.DATA_URL.startswith("sqlite"):
        settings.DATA_URL = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    else:
        settings.DATA_URL = _worker_database(settings.DATA_URL, worker_id)
    settings.VAR_DIR = tmp_path
    yield settings.DATA_URL
    store.dispose_engines()


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Tasks run at once, inside the call that enqueues them (modules that want it: `usefixtures`)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def resource(personas: Any) -> Any:
    """The published population resource of the provider department (a module may define its own)."""
    from .formats import population_resource

    return population_resource(personas.provider_org)
