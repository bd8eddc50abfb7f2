"""Both stores run on the engines the environment names, so the PostgreSQL run of `.ci/run` really is one."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.django_db


def engine_of(variable: str) -> str:
    url = os.environ.get(variable, "")
    return "postgresql" if url.startswith(("postgres://", "postgresql")) else "sqlite"


def test_both_stores_run_on_the_configured_engines(anonymous) -> None:
    body = anonymous.get("/healthz").json()
    assert body["database"] == {"status": "ok", "engine": engine_of("TONGSHU_DATABASE_URL")}
    assert body["data_store"] == {"status": "ok", "engine": engine_of("TONGSHU_DATA_URL")}
