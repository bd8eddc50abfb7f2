from __future__ import annotations

from typing import Any

import pytest

from tongshu.dataplane import store
from tongshu.dataplane.tests.conftest import _worker_database


@pytest.fixture(autouse=True)
def isolated_data_store(tmp_path: Any, settings: Any, worker_id: str) -> Any:
    """Each test gets an empty data plane (its own SQLite file, or on the PostgreSQL run a worker database with every
    resource schema and batch marker dropped); tasks run at once (scores after each batch)."""
    store.dispose_engines()
    if settings.DATA_URL.startswith("sqlite"):
        settings.DATA_URL = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    else:
        settings.DATA_URL = _worker_database(settings.DATA_URL, worker_id)
    settings.VAR_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    yield settings.DATA_URL
    store.dispose_engines()
