"""Benchmark the data plane's ingest path against the floors of its databases (issue 5, Performance).

    python benchmarks/ingest.py [--rows 1000000] [--upsert 100000] [--repeat 3] [--no-postgres]

1. Generates a deterministic population CSV (18-digit IDs with valid GB 11643 checksums, names, sex, birth date,
   address, phone, household, township), cached under var/bench/, and a CSV of changed rows for the upsert.
2. Tongshu runs, each in its own subprocess (so its peak RSS is its own): a fresh control-plane and data-plane
   database, migrated, standards loaded, a published population resource whose items bind the shipped data elements
   (resident ID checksum, sex code set, phone, birth date) with every derived rule on (checksum, birth date agrees
   with the ID, sex agrees with the ID, division warning against the shipped GB/T 2260 codes); then the API upload
   path (the file handed over as the Django temporary upload an API request of this size arrives as),
   `services.submit_file` + `services.apply_batch`, as the first full load of the empty resource, and in a
   second subprocess an upsert of the changed rows into it. On SQLite (the default) and on PostgreSQL
   (127.0.0.1:5432, user postgres; two temporary databases, dropped at the end).
3. Floors, in the same run: Python's `sqlite3` `executemany` of the same rows (already parsed, in memory) into a
   table of the same columns with no index and no validation, in a database set up as the store's (WAL,
   synchronous=NORMAL, the same page size); and PostgreSQL `COPY` of the CSV file into such a table.

Every measurement is taken `--repeat` times (fresh databases each time), alternating Tongshu and floor, and the
figures are the medians: on a shared two-core machine one run of either varies by a third.
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
from statistics import median

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


def floor_rows(source: Path) -> list[tuple[str, ...]]:
    """The CSV's rows, parsed before the floor's clock starts (the floor times the inserts alone)."""
    with open(source, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [tuple(row) for row in reader]


def sqlite_floor(rows: list[tuple[str, ...]], database: Path, page_size: int) -> float:
    database.unlink(missing_ok=True)
    settle()
    connection = sqlite3.connect(database, isolation_level=None)
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
    for leftover in database.parent.glob(database.name + "*"):
        leftover.unlink()
    return len(rows) / elapsed


def postgres_floor(source: Path, database: str, rows: int) -> float:
    import psycopg

    with psycopg.connect(f"postgresql://{PG}/{database}", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE floor ({FLOOR_COLUMNS})")
        settle(postgres=True)
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
    from tongshu.core.upload_handlers import HashingTemporaryFileUploadHandler
    from tongshu.dataplane import indexing, services, store

    actor = User.objects.get(username="bench_admin")
    # What a running worker has done once, before its first batch (the floors connect before their clocks too): the
    # data-plane engine created and connected, the batch-marker table checked.
    store.ensure_markers()
    population = Resource.objects.get(pk=resource_id)
    # An API upload of this size reaches the view as Django's temporary upload file, written (and hashed, by the
    # upload handler of settings.FILE_UPLOAD_HANDLERS) while the request body was received: that happens before the
    # clock starts, as it happens before the view runs. The handler is fed the file as Django feeds it the body.
    handler = HashingTemporaryFileUploadHandler()
    handler.new_file("file", source.name, "text/csv", source.stat().st_size)
    received = 0
    with open(source, "rb") as handle:
        while block := handle.read(handler.chunk_size):
            handler.receive_data_chunk(block, received)
            received += len(block)
    upload = handler.file_complete(received)
    started = time.perf_counter()
    batch = services.submit_file(actor, population, upload, file_name=source.name, mode=mode)
    submitted = time.perf_counter()
    upload.close()
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


def settle(postgres: bool = False) -> None:
    """Before each measurement: write out what earlier runs left dirty in the page cache, so no run pays for another's
    writeback (each run writes some 700 MB); on PostgreSQL also the server's own dirty buffers (a checkpoint: the
    floor's database is created right after the previous run's were dropped, which checkpoints, while a Tongshu load
    follows the writes of its own setup)."""
    if postgres:
        pg_admin("CHECKPOINT")
    os.sync()
    time.sleep(1)


def run_child(env: dict[str, str], *args: str) -> dict[str, object]:
    settle(postgres=env.get("TONGSHU_DATA_URL", "").startswith("postgresql"))
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
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the figures are their medians"
    )
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    full = population_csv(options.rows)
    changed = upsert_csv(full, options.rows, options.upsert)
    work = Path(tempfile.mkdtemp(prefix="tongshu-bench-ingest-"))
    runs: dict[str, list[tuple[dict, dict]]] = {"sqlite": []}
    floors: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    try:
        rows = floor_rows(full)
        for n in range(options.repeat):
            runs["sqlite"].append(tongshu_runs("sqlite", work / f"run{n}", full, changed))
            page_size = sqlite_page_size(work / f"run{n}" / "sqlite" / "data.sqlite3")
            floors["sqlite"].append(sqlite_floor(rows, work / "floor.sqlite3", page_size))
        del rows
        if not options.no_postgres:
            runs["postgres"] = []
            for n in range(options.repeat):
                database = f"tongshu_bench_floor_{os.getpid()}"
                pg_admin(f'CREATE DATABASE "{database}"')
                try:
                    floors["postgres"].append(postgres_floor(full, database, options.rows))
                finally:
                    pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                runs["postgres"].append(tongshu_runs("postgres", work / f"run{n}", full, changed))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(options, runs, floors)


def rate(run: dict) -> float:
    return float(run["rows"]) / float(run["seconds"])


def report(options: argparse.Namespace, runs: dict, floors: dict) -> None:
    print(
        f"ingest benchmark: {options.rows:,} rows, upsert of {options.upsert:,} changed rows; "
        f"each measurement {options.repeat}×, figures are medians"
    )
    print(f"{'run':<28}{'rows/s':>12}{'submit s':>10}{'apply s':>10}{'peak MiB':>10}  result")
    for backend, pairs in runs.items():
        for n, (load, upsert) in enumerate(pairs, start=1):
            for label, run in ((f"{backend} first load #{n}", load), (f"{backend} upsert #{n}", upsert)):
                print(
                    f"{label:<28}{rate(run):>12,.0f}{run['submit_s']:>10.2f}{run['apply_s']:>10.2f}"
                    f"{run['peak_kib'] / 1024:>10.0f}  {run['status']} inserted={run['inserted']} "
                    f"updated={run['updated']} bad={run['bad_rows']} warnings={run['warnings']}"
                )
    for backend, values in floors.items():
        if values:
            label = "sqlite3 executemany floor" if backend == "sqlite" else "postgres COPY floor"
            print(f"{label:<28}" + "".join(f"{value:>12,.0f}" for value in values))
    print(
        "First loads commit without indexes (their keys are checked unique across the batch); the unique key index,"
        " the query indexes (queryable items, _batch) and on PostgreSQL the primary key are built right after by the"
        " task dataplane.indexing.build_query_indexes, which on SQLite also checkpoints the load's WAL into the"
        " database file (the floor's commit does its checkpoint inside its time):"
    )
    for backend, pairs in runs.items():
        including = median(
            [float(load["rows"]) / (float(load["seconds"]) + float(load["index_s"])) for load, _ in pairs]
        )
        index_s = median([float(load["index_s"]) for load, _ in pairs])
        print(
            f"  {backend}: {pairs[0][0]['indexes']} indexes in {index_s:.2f} s; including them {including:,.0f} rows/s"
        )
    sqlite_rate = median([rate(load) for load, _ in runs["sqlite"]])
    sqlite_floor_rate = median(floors["sqlite"])
    pg_rate = median([rate(load) for load, _ in runs["postgres"]]) if "postgres" in runs else 0.0
    pg_floor_rate = median(floors["postgres"]) if floors["postgres"] else 0.0
    print(f"goal: sqlite ≥ 0.85 × floor: {sqlite_rate / sqlite_floor_rate:.2f}×", end="")
    if pg_floor_rate:
        print(f"; postgres ≥ 0.65 × COPY floor: {pg_rate / pg_floor_rate:.2f}×", end="")
    peak = max(run["peak_kib"] for pairs in runs.values() for pair in pairs for run in pair) / 1024
    print(f"; peak {peak:.0f} MiB (goal < 400)")
    print(
        "upsert_rows_per_s is the SQLite upsert (the default store); the PostgreSQL upsert is in the table."
    )
    metrics = {
        "sqlite_rows_per_s": round(sqlite_rate),
        "sqlite_floor_rows_per_s": round(sqlite_floor_rate),
        "postgres_rows_per_s": round(pg_rate),
        "postgres_floor_rows_per_s": round(pg_floor_rate),
        "upsert_rows_per_s": round(median([rate(upsert) for _, upsert in runs["sqlite"]])),
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
