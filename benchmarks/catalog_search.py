"""Catalog search latency (catalog issue, item 6): 20,000 realistic resources, a fixed query mix, p50/p95.

    python benchmarks/catalog_search.py [--resources 20000] [--rounds 10] [--backends sqlite,postgresql]

Each backend runs in its own process on a fresh database (a temporary SQLite file; a temporary PostgreSQL database on
127.0.0.1:5432 as user postgres, created and dropped here; TONGSHU_BENCH_PG_URL overrides the server). The process
migrates it, builds the resources with bulk_create (benchmarks/catalog_data.py), builds the index with the same
`rebuild_index()` that `manage.py reindex_catalog` runs, warms up, then times every query of the mix `--rounds` times
with time.perf_counter around `run_search()` — the call the search page and the API both make.
The last line is the JSON of CONVENTIONS.md §Benchmarks; the goal is p95 < 50 ms on both databases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("TONGSHU_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")

# (label, query string as the API takes it). Department filters name demo organization codes, resolved to ids.
QUERY_MIX: list[tuple[str, dict[str, Any]]] = [
    ("2-char 人口", {"q": "人口"}),
    ("2-char 户籍", {"q": "户籍"}),
    ("2-char 企业", {"q": "企业"}),
    ("2-char 医保", {"q": "医保"}),
    ("1-char 税", {"q": "税"}),
    ("phrase 户籍人口基本信息", {"q": "户籍人口基本信息"}),
    ("phrase 城乡低保对象名册", {"q": "城乡低保对象名册"}),
    ("phrase 不动产登记", {"q": "不动产登记"}),
    ("two terms 章华镇 低保", {"q": "章华镇 低保"}),
    ("item 公民身份号码", {"q": "公民身份号码"}),
    ("code prefix 101/0001", {"q": "101/0001"}),
    ("code 102/000042", {"q": "102/000042"}),
    ("facets share=conditional", {"share_type": ["conditional"]}),
    ("facets dept+cycle", {"provider": ["@MZJ"], "update_cycle": ["04"]}),
    (
        "facets open+level sort=code",
        {"open_type": ["unconditional", "conditional"], "security_level": ["general-1"], "sort": "code"},
    ),
    ("browse page 50", {"page": 50}),
    ("人口 + share + dept", {"q": "人口", "share_type": ["unconditional"], "provider": ["@GAJ"]}),
    ("企业 + category + sort", {"q": "企业", "category": ["102"], "sort": "published"}),
    ("登记 + format + page 3", {"q": "登记", "format": ["3"], "page": 3}),
    ("no match 量子纠缠", {"q": "量子纠缠"}),
    ("no match zzqx", {"q": "zzqx"}),
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_backend(backend: str, resources: int, rounds: int) -> dict[str, Any]:
    """In this process: configure Django for a fresh database of `backend`, build, index, measure."""
    workdir = Path(tempfile.mkdtemp(prefix=f"tongshu-bench-{backend}-"))
    os.environ["TONGSHU_VAR_DIR"] = str(workdir)
    os.environ["TONGSHU_DATA_URL"] = f"sqlite:///{workdir / 'data.sqlite3'}"
    database = None
    if backend == "sqlite":
        os.environ["TONGSHU_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        import psycopg

        database = f"tongshu_bench_{os.getpid()}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        os.environ["TONGSHU_DATABASE_URL"] = f"{PG_SERVER}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongshu.settings")
    sys.path.insert(0, str(ROOT))
    try:
        return _measure(backend, resources, rounds)
    finally:
        if database:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _measure(backend: str, resources: int, rounds: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from catalog_data import populate

    from tongshu.accounts.models import Organization
    from tongshu.catalog.search import Scope, parse_query, rebuild_index, run_search

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    populate(resources)
    built = time.perf_counter()
    counts = rebuild_index()
    indexed = time.perf_counter()
    print(
        f"[{backend}] migrate {migrated - started:.1f}s · {resources} resources {built - migrated:.1f}s · "
        f"index {indexed - built:.1f}s ({counts['documents']} documents, {counts['postings']} postings)",
        flush=True,
    )
    org_ids = {org.code.split("-")[-1]: str(org.pk) for org in Organization.objects.all()}

    def resolve(params: dict[str, Any]) -> dict[str, list[str]]:
        resolved = {}
        for key, value in params.items():
            values = value if isinstance(value, list) else [value]
            resolved[key] = [org_ids[v[1:]] if str(v).startswith("@") else str(v) for v in values]
        return resolved

    queries = [(label, parse_query(resolve(params))) for label, params in QUERY_MIX]
    scope = Scope()
    results: dict[str, int] = {}
    for label, query in queries:  # warm-up; also loads the facet snapshot
        results[label] = run_search(query, scope).count
    timings: dict[str, list[float]] = {label: [] for label, _ in queries}
    for _ in range(rounds):
        for label, query in queries:
            t0 = time.perf_counter()
            run_search(query, scope)
            timings[label].append((time.perf_counter() - t0) * 1000)
    everything = [ms for values in timings.values() for ms in values]
    rows = [
        {
            "query": label,
            "hits": results[label],
            "p50": statistics.median(values),
            "p95": percentile(values, 0.95),
        }
        for label, values in timings.items()
    ]
    return {
        "backend": backend,
        "vendor": connection.vendor,
        "rows": rows,
        "p50": statistics.median(everything),
        "p95": percentile(everything, 0.95),
        "queries": len(everything),
        "build_s": round(built - migrated, 1),
        "index_s": round(indexed - built, 1),
        "postings": counts["postings"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=10, help="times each query of the mix is measured")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(
            "RESULT " + json.dumps(run_backend(args.child, args.resources, args.rounds), ensure_ascii=False)
        )
        return 0
    reports: dict[str, dict[str, Any]] = {}
    for backend in args.backends.split(","):
        command = [
            sys.executable,
            __file__,
            "--child",
            backend,
            "--resources",
            str(args.resources),
            "--rounds",
            str(args.rounds),
        ]
        output = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        for line in output.stdout.splitlines():
            if line.startswith("RESULT "):
                reports[backend] = json.loads(line[7:])
            else:
                print(line)
        if backend not in reports:
            print(output.stderr[-3000:], file=sys.stderr)
            return 1
    for backend, report in reports.items():
        print(
            f"\n{backend} ({report['queries']} timed queries over {args.resources} resources, "
            f"{report['postings']} postings; build {report['build_s']} s, index {report['index_s']} s)"
        )
        print(f"{'query':<32}{'hits':>8}{'p50 ms':>10}{'p95 ms':>10}")
        for row in report["rows"]:
            print(f"{row['query']:<32}{row['hits']:>8}{row['p50']:>10.2f}{row['p95']:>10.2f}")
        print(f"{'all':<32}{'':>8}{report['p50']:>10.2f}{report['p95']:>10.2f}")
    metrics: dict[str, Any] = {"resources": args.resources}
    if "sqlite" in reports:
        metrics["p50_ms"] = round(reports["sqlite"]["p50"], 2)
        metrics["p95_ms"] = round(reports["sqlite"]["p95"], 2)
    if "postgresql" in reports:
        metrics["pg_p50_ms"] = round(reports["postgresql"]["p50"], 2)
        metrics["pg_p95_ms"] = round(reports["postgresql"]["p95"], 2)
    print(json.dumps({"benchmark": "catalog_search", "metrics": metrics}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
