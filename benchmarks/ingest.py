"""Benchmark the data plane's ingest path against the floors of its databases (issue 5, Performance).

    python benchmarks/ingest.py [--rows 1000000] [--upsert 100000] [--no-postgres]

1. Generates a deterministic population CSV (18-digit IDs with valid GB 11643 checksums, names, sex, birth date,
   address, phone, household, township), cached under var/bench/, and a CSV of changed rows for the upsert.
2. Tongshu runs, each in its own subprocess (so its peak RSS is its own): a fresh control-plane and data-plane
   database, migrated, standards loaded, a published population resource whose items bind the shipped data elements
   (resident ID checksum, sex code set, phone, birth date) with every derived rule on (checksum, birth date agrees
   with the ID, sex agrees with the ID, division warning against the shipped GB/T 2260 codes); then the API upload
   path, `services.submit_file` + `services.apply_batch`, as the first full load of the empty resource, and in a
   second subprocess an upsert of the changed rows into it. On SQLite (the default) and on PostgreSQL
   (127.0.0.1:5432, user postgres; two temporary databases, dropped at the end).
3. Floors, in the same run: Python's `sqlite3` `executemany` of the same rows (already parsed, in memory) into a
   table of the same columns with no index and no validation, in a database set up as the store's (WAL,
   synchronous=NORMAL, the same page size); and PostgreSQL
   `COPY` of the CSV file into such a table.

Prints a table and, as its last line, {"benchmark": "ingest", "metrics": {...}}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
PG = "postgres@127.0.0.1:5432"
ITEMS = [
    # (name, type, length, key, queryable, sensitive, data element of the shipped standards or "")
    ("公民身份号码", "C", "C18", True, True, True, "DE0001"),
    ("姓名", "C", "C..50", False, True, True, "DE0002"),
    ("性别", "C", "C1", False, False, False, "DE0003"),
    ("出生日期", "D", "D8", False, False, False, "DE0004"),
    ("户籍地址", "C", "C..200", False, False, False, "DE0008"),
    ("联系电话", "C", "C..20", False, False, True, "DE0009"),
    ("户号", "C", "C..20", False, False, False, ""),
    ("所属乡镇", "C", "C..50", False, True, False, ""),
]
FLOOR_COLUMNS = (
    "id_no VARCHAR(18), name VARCHAR(50), sex VARCHAR(1), birth DATE, address VARCHAR(200), "
    "phone VARCHAR(20), household VARCHAR(20), township VARCHAR(50)"
)


# --- data ---------------------------------------------------------------------------------------------------------
def population_csv(rows: int) -> Path:
    from benchmarks._population import write_population_csv

    return write_population_csv(BENCH_DIR / f"population-{rows}.csv", rows)


def upsert_csv(source: Path, rows: int, changed: int) -> Path:
    """Every (rows // changed)-th row of the population with a new phone number and address."""
    path = BENCH_DIR / f"population-{rows}-changed-{changed}.csv"
    if path.exists():
        return path
    step = max(rows // changed, 1)
    tmp = path.with_suffix(".tmp")
    with (
        open(source, encoding="utf-8", newline="") as src,
        open(tmp, "w", encoding="utf-8", newline="") as out,
    ):
        reader, writer = csv.reader(src), csv.writer(out)
        writer.writerow(next(reader))
        written = 0
        for n, row in enumerate(reader):
            if n % step == 0 and written < changed:
                row[4] = row[4] + "附1号"
                row[5] = f"139{n % 10**8:08d}"
                writer.writerow(row)
                written += 1
    tmp.rename(path)
    return path


# --- floors -------------------------------------------------------------------------------------------------------
def sqlite_page_size(database: Path) -> int:
    """The page size of the store's data-plane file (the floor's database is set up the same)."""
    connection = sqlite3.connect(database)
    try:
        return int(connection.execute("PRAGMA page_size").fetchone()[0])
    finally:
        connection.close()


def sqlite_floor(source: Path, work: Path, page_size: int) -> float:
    with open(source, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [tuple(row) for row in reader]
    connection = sqlite3.connect(work / "floor.sqlite3", isolation_level=None)
    connection.execute(f"PRAGMA page_size={int(page_size)}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"CREATE TABLE floor ({FLOOR_COLUMNS})")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO floor VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(rows) / elapsed


def postgres_floor(source: Path, database: str, rows: int) -> float:
    import psycopg

    with psycopg.connect(f"postgresql://{PG}/{database}", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE floor ({FLOOR_COLUMNS})")
        started = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor() as cursor,
            cursor.copy("COPY floor FROM STDIN (FORMAT csv, HEADER true)") as copy,
            open(source, "rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE floor")
    return rows / elapsed


# --- Tongshu runs (subprocesses) ----------------------------------------------------------------------------------
def child_setup() -> None:
    """Migrate, load the shipped standards and create the published resource; print its id."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_standards", verbosity=0)
    from tongshu.accounts.roles import Role
    from tongshu.accounts.tests.factories import make_organization, make_user
    from tongshu.catalog.models import InfoItem
    from tongshu.catalog.tests.factories import make_resource
    from tongshu.standards.models import DataElement

    organization = make_organization("华容县公安局", code="P-GAJ")
    make_user("bench_admin", Role.DATA_ADMIN, organization=organization)
    population = make_resource(organization, name="户籍人口基本信息", items=[item[:6] for item in ITEMS])
    for name, *_rest, element in ITEMS:
        if element:
            # Published items are immutable through the ORM; bind the elements as the catalog editor would have.
            InfoItem.objects.filter(version=population.published_version, name=name).update(
                data_element=DataElement.objects.get(identifier=element)
            )
    print(json.dumps({"resource": population.pk}))


def child_load(resource_id: int, source: Path, mode: str) -> None:
    """One upload through the API's code path, timed; prints the batch's figures and this process's peak RSS."""
    import django

    django.setup()
    from tongshu.accounts.models import User
    from tongshu.catalog.models import Resource
    from tongshu.dataplane import indexing, services

    actor = User.objects.get(username="bench_admin")
    population = Resource.objects.get(pk=resource_id)
    started = time.perf_counter()
    with open(source, "rb") as handle:
        batch = services.submit_file(actor, population, handle, file_name=source.name, mode=mode)
    submitted = time.perf_counter()
    batch = services.apply_batch(batch.pk)
    finished = time.perf_counter()
    # What the worker does next after a first load (the task apply_batch enqueued): the query indexes.
    indexes = indexing.build_query_indexes.call(resource_id)
    indexed = time.perf_counter()
    print(
        json.dumps(
            {
                "status": batch.status,
                "message": batch.message,
                "rows": batch.rows_read,
                "inserted": batch.inserted,
                "updated": batch.updated,
                "bad_rows": batch.bad_rows,
                "warnings": batch.warnings,
                "submit_s": submitted - started,
                "apply_s": finished - submitted,
                "seconds": finished - started,
                "indexes": indexes,
                "index_s": indexed - finished,
                "peak_kib": peak_rss_kib(),
            }
        )
    )


def peak_rss_kib() -> int:
    """This process's RSS high-water mark. /proc's VmHWM starts afresh at exec; getrusage's ru_maxrss would carry
    the benchmark parent's peak (it holds the floor's rows) into every child."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(env: dict[str, str], *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def tongshu_runs(backend: str, work: Path, full: Path, changed: Path) -> tuple[dict, dict]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tongshu.settings",
        "TONGSHU_LOG_LEVEL": "WARNING",
        "TONGSHU_VAR_DIR": str(work / backend),
    }
    names: list[str] = []
    if backend == "sqlite":
        env["TONGSHU_DATABASE_URL"] = f"sqlite:///{work / backend / 'tongshu.sqlite3'}"
        env["TONGSHU_DATA_URL"] = f"sqlite:///{work / backend / 'data.sqlite3'}"
    else:
        suffix = f"{os.getpid()}"
        names = [f"tongshu_bench_ctl_{suffix}", f"tongshu_bench_data_{suffix}"]
        for name in names:
            pg_admin(f'CREATE DATABASE "{name}"')
        env["TONGSHU_DATABASE_URL"] = f"postgres://{PG}/{names[0]}"
        env["TONGSHU_DATA_URL"] = f"postgresql+psycopg://{PG}/{names[1]}"
    (work / backend).mkdir(parents=True, exist_ok=True)
    try:
        resource_id = run_child(env, "setup")["resource"]
        load = run_child(env, "load", str(resource_id), str(full), "replace")
        upsert = run_child(env, "load", str(resource_id), str(changed), "upsert")
    finally:
        for name in names:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return load, upsert


def pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://{PG}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--upsert", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    full = population_csv(options.rows)
    changed = upsert_csv(full, options.rows, options.upsert)
    work = Path(tempfile.mkdtemp(prefix="tongshu-bench-ingest-"))
    try:
        runs = {"sqlite": tongshu_runs("sqlite", work, full, changed)}
        floor_sqlite = sqlite_floor(full, work, sqlite_page_size(work / "sqlite" / "data.sqlite3"))
        floor_pg = 0.0
        if not options.no_postgres:
            database = f"tongshu_bench_floor_{os.getpid()}"
            pg_admin(f'CREATE DATABASE "{database}"')
            try:
                floor_pg = postgres_floor(full, database, options.rows)
            finally:
                pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            runs["postgres"] = tongshu_runs("postgres", work, full, changed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(options, runs, floor_sqlite, floor_pg)


def rate(run: dict) -> float:
    return float(run["rows"]) / float(run["seconds"])


def report(options: argparse.Namespace, runs: dict, floor_sqlite: float, floor_pg: float) -> None:
    print(f"ingest benchmark: {options.rows:,} rows, upsert of {options.upsert:,} changed rows")
    print(f"{'run':<28}{'rows/s':>12}{'submit s':>10}{'apply s':>10}{'peak MiB':>10}  result")
    for backend, (load, upsert) in runs.items():
        for label, run in ((f"{backend} first load", load), (f"{backend} upsert", upsert)):
            print(
                f"{label:<28}{rate(run):>12,.0f}{run['submit_s']:>10.2f}{run['apply_s']:>10.2f}"
                f"{run['peak_kib'] / 1024:>10.0f}  {run['status']} inserted={run['inserted']} "
                f"updated={run['updated']} bad={run['bad_rows']} warnings={run['warnings']}"
            )
    print(
        "First loads commit without indexes (their keys are checked unique across the batch); the unique key index,"
        " the query indexes (queryable items, _batch) and on PostgreSQL the primary key are built right after by the"
        " task dataplane.indexing.build_query_indexes:"
    )
    for backend, (load, _upsert) in runs.items():
        total = float(load["seconds"]) + float(load["index_s"])
        print(
            f"  {backend}: {load['indexes']} indexes in {load['index_s']:.2f} s; including them "
            f"{float(load['rows']) / total:,.0f} rows/s"
        )
    print(f"{'sqlite3 executemany floor':<28}{floor_sqlite:>12,.0f}")
    if floor_pg:
        print(f"{'postgres COPY floor':<28}{floor_pg:>12,.0f}")
    sqlite_rate = rate(runs["sqlite"][0])
    pg_rate = rate(runs["postgres"][0]) if "postgres" in runs else 0.0
    print(f"goal: sqlite ≥ 0.85 × floor: {sqlite_rate / floor_sqlite:.2f}×", end="")
    if floor_pg:
        print(f"; postgres ≥ 0.65 × COPY floor: {pg_rate / floor_pg:.2f}×", end="")
    peak = max(run["peak_kib"] for pair in runs.values() for run in pair) / 1024
    print(f"; peak {peak:.0f} MiB (goal < 400)")
    print(
        "upsert_rows_per_s is the SQLite upsert (the default store); the PostgreSQL upsert is in the table."
    )
    metrics = {
        "sqlite_rows_per_s": round(sqlite_rate),
        "sqlite_floor_rows_per_s": round(floor_sqlite),
        "postgres_rows_per_s": round(pg_rate),
        "postgres_floor_rows_per_s": round(floor_pg),
        "upsert_rows_per_s": round(rate(runs["sqlite"][1])),
        "peak_mib": round(peak, 1),
    }
    print(json.dumps({"benchmark": "ingest", "metrics": metrics}))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        command, rest = sys.argv[2], sys.argv[3:]
        if command == "setup":
            child_setup()
        else:
            child_load(int(rest[0]), Path(rest[1]), rest[2])
    else:
        main()
