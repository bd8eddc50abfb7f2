"""Helpers for audit-log tests: appending entries, and an attacker who writes the database directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from tongshu.security.audit import record
from tongshu.security.chain import seal_pending
from tongshu.security.models import AuditEntry

TABLE = AuditEntry._meta.db_table


def append(count: int, action: str = "test.event", **fields: Any) -> list[AuditEntry]:
    return [
        record(f"{action}", details={"n": i, "text": "测试"}, actor_name=f"user{i}", **fields)
        for i in range(count)
    ]


def sealed_log(count: int = 6) -> dict[int, int]:
    """`count` sealed entries (and the first checkpoint); returns {seq: id}."""
    append(count)
    seal_pending()
    return dict(AuditEntry.objects.sealed().order_by("seq").values_list("seq", "id"))


@contextmanager
def attacker() -> Iterator[Any]:
    """A cursor with the rights of the database's owner: on PostgreSQL the guard trigger is switched off first, as a
    superuser could do. The test's transaction rolls the switch back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER security_auditentry_guard")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER security_auditentry_guard")


def sql(statement: str, params: list[Any] | None = None) -> None:
    with attacker() as cursor:
        cursor.execute(statement.replace("{table}", TABLE), params or [])
