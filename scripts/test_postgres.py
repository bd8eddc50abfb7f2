"""Run the suite (browser tests aside) with both stores on PostgreSQL, in two fresh databases dropped afterwards.

    scripts/test_postgres.py [pytest args...]        # `make test-postgres`, `.ci/run`

POSTGRES_URL names the server (default postgresql://postgres@127.0.0.1:5432; the role must be allowed to create
databases). pytest-django creates its own `test_<name>` databases beside them (`test_<name>_gw0`, ... under xdist)
and drops them when it ends; whatever an interrupted run leaves behind is dropped here too.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from typing import Any

import psycopg
from psycopg import sql

SERVER = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
WORKERS = os.environ.get("PYTEST_WORKERS", "2")


def admin() -> psycopg.Connection[Any]:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=10)


def drop_databases(prefix: str) -> None:
    with admin() as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
                (f"{prefix}%", f"test_{prefix}%"),
            )
        ]
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    print(f"dropped {', '.join(sorted(names)) or 'nothing'}", flush=True)


def main(argv: list[str]) -> int:
    prefix = f"tongshu_ci_{secrets.token_hex(4)}"
    control, data = prefix, f"{prefix}_data"
    with admin() as conn:
        for name in (control, data):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"PostgreSQL run: control plane {control}, data plane {data} on {SERVER}", flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    env = {
        **os.environ,
        "TONGSHU_DATABASE_URL": f"{SERVER}/{control}",
        "TONGSHU_DATA_URL": f"{SERVER}/{data}",
    }
    command = [sys.executable, "-m", "pytest", "-q", "-n", WORKERS, "-m", "not browser", *argv]
    try:
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        drop_databases(prefix)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
