from __future__ import annotations

from typing import Any

import pytest

from tongshu.dataplane import store


@pytest.fixture(autouse=True)
def isolated_data_store(tmp_path: Any, settings: Any) -> Any:
    """Each test gets its own data-plane SQLite file; tasks run at once (scores after each batch)."""
    if settings.DATA_URL.startswith("sqlite"):
        settings.DATA_URL = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    settings.VAR_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    yield settings.DATA_URL
    store.dispose_engines()
