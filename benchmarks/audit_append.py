"""Benchmark the audit log's append path: unlocked appends from several processes, then batched sealing.

    python benchmarks/audit_append.py [--entries 50000] [--processes 2]

Runs on a fresh SQLite database in a temporary directory (so it never touches var/); set TONGSHU_DATABASE_URL to an
empty PostgreSQL database to measure that instead (it is migrated and left with the entries). Phases:

1. append: `record()` from N processes at once, sealing off: what a request pays to audit.
2. seal: one `seal_pending()` over everything appended: how fast the sealer catches up.
3. mixed: appends from N processes with opportunistic sealing on and a sealer process running beside them.
3b. buffered: `record(buffered=True)` from N processes (batched INSERTs), then with 8 threads per process each
    waiting for its entry's batch to commit (group commit).
4. verify: `verify_chain()` over the whole log.
5. sm3 seal: sealing with SM3 instead of SHA-256.
6. peer: the design we avoid, every append taking the chain lock to link itself (a tenth of the entries).

Prints a table and, as its last line, {"benchmark": "audit_append", "metrics": {...}}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = Path(tempfile.mkdtemp(prefix="tongshu-bench-audit-"))  # removed at the end
if not os.environ.get("TONGSHU_DATABASE_URL"):
    os.environ["TONGSHU_VAR_DIR"] = str(WORK_DIR)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongshu.settings")
os.environ.setdefault("TONGSHU_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from tongshu.security import audit  # noqa: E402
from tongshu.security.chain import (  # noqa: E402
    ENTRY_COLUMNS,
    chain_head,
    configured_algorithm,
    exclusive_section,
    seal_pending,
    seal_rows,
)
from tongshu.security.models import AuditEntry  # noqa: E402
from tongshu.security.verify import verify_chain  # noqa: E402

DETAILS = {"resource": "RS-430623-0001", "method": "query", "rows": 20, "purpose": "低保资格核验"}


def _append(worker: int, count: int, opportunistic: bool) -> None:
    connections.close_all()
    audit.SEAL_AFTER = 500 if opportunistic else 10**12
    for i in range(count):
        audit.record(
            "sharing.query",
            actor_name=f"app-{worker}",
            details={**DETAILS, "i": i},
            actor=None,
            organization=None,
        )
    connections.close_all()


def _append_buffered(worker: int, count: int, threads: int, wait: bool) -> None:
    """Batched appends: fire-and-forget (`wait=False`) or group commit with `threads` callers waiting."""
    from tongshu.security.buffer import buffer

    connections.close_all()
    audit.SEAL_AFTER = 10**12

    def caller(part: int) -> None:
        for i in range(count // threads):
            audit.record(
                "sharing.query",
                actor_name=f"app-{worker}-{part}",
                details={**DETAILS, "i": i},
                buffered=True,
                wait=wait,
            )

    pool = [threading.Thread(target=caller, args=(part,)) for part in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    buffer.flush()
    connections.close_all()


def _append_locked(worker: int, count: int) -> None:
    """The peer design: link each entry inside the chain lock as it is written."""
    connections.close_all()
    algorithm = configured_algorithm()
    for i in range(count):
        with exclusive_section():
            entry = audit.record("sharing.query", actor_name=f"app-{worker}", details={**DETAILS, "i": i})
            row = AuditEntry.objects.filter(pk=entry.pk).values(*ENTRY_COLUMNS).get()
            seal_rows([row], chain_head(), algorithm)
    connections.close_all()


def _sealer(stop_at: float) -> None:
    connections.close_all()
    while time.monotonic() < stop_at:
        seal_pending(wait=False)
        time.sleep(0.05)
    connections.close_all()


def _run(target, args_list) -> float:  # type: ignore[no-untyped-def]
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=target, args=args) for args in args_list]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a benchmark process failed with {process.exitcode}")
    return time.perf_counter() - started


def _timed(function):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--processes", type=int, default=2)
    options = parser.parse_args()
    n, p = options.entries, options.processes
    call_command("migrate", verbosity=0)
    with override_settings(
        AUDIT_CHECKPOINT_FILE=WORK_DIR / "checkpoints.log", AUDIT_SIGNING_KEY=WORK_DIR / "keys" / "audit.pem"
    ):
        metrics: dict[str, float | int | str] = {"entries": n, "processes": p, "database": connection.vendor}

        seconds = _run(_append, [(w, n // p, False) for w in range(p)])
        metrics["append_per_s"] = round(n / seconds)
        sealed, seconds = _timed(seal_pending)
        metrics["seal_per_s"] = round(sealed / seconds)

        sealer = multiprocessing.get_context("fork").Process(target=_sealer, args=(time.monotonic() + 3600,))
        connections.close_all()
        sealer.start()
        seconds = _run(_append, [(w, n // p, True) for w in range(p)])
        sealer.terminate()
        sealer.join()
        metrics["mixed_append_per_s"] = round(n / seconds)
        metrics["mixed_pending_at_end"] = AuditEntry.objects.filter(seq__isnull=True).count()
        seal_pending()

        seconds = _run(_append_buffered, [(w, n // p, 1, False) for w in range(p)])
        metrics["buffered_append_per_s"] = round(n // p * p / seconds)
        seconds = _run(_append_buffered, [(w, n // p, 8, True) for w in range(p)])
        metrics["buffered_durable_append_per_s"] = round(n // p // 8 * 8 * p / seconds)
        _, seconds = _timed(seal_pending)

        result, seconds = _timed(verify_chain)
        if not result.is_intact:
            raise SystemExit(f"chain broken: {result.summary()}")
        metrics["verify_per_s"] = round(result.checked / seconds)

        sm3_count = max(n // 5, 1)
        with override_settings(AUDIT_HASH_ALGORITHM="sm3"):
            _run(_append, [(0, sm3_count, False)])
            sealed, seconds = _timed(seal_pending)
        metrics["sm3_seal_per_s"] = round(sealed / seconds)

        peer_count = max(n // 10, p)
        seconds = _run(_append_locked, [(w, peer_count // p) for w in range(p)])
        metrics["peer_locked_append_per_s"] = round(peer_count // p * p / seconds)
        metrics["append_vs_locked_peer"] = round(
            metrics["append_per_s"] / metrics["peer_locked_append_per_s"], 1
        )
        assert verify_chain().is_intact

    print(f"audit append benchmark: {n} entries, {p} processes, {connection.vendor}")
    print(f"{'phase':<34}{'entries/s':>12}")
    for label, key in (
        ("append (unlocked, sealing off)", "append_per_s"),
        ("seal (batched)", "seal_per_s"),
        ("append with sealer running", "mixed_append_per_s"),
        ("buffered append", "buffered_append_per_s"),
        ("buffered, 8 threads wait commit", "buffered_durable_append_per_s"),
        ("verify", "verify_per_s"),
        ("seal with SM3", "sm3_seal_per_s"),
        ("peer: append under chain lock", "peer_locked_append_per_s"),
    ):
        print(f"{label:<34}{metrics[key]:>12,}")
    print(json.dumps({"benchmark": "audit_append", "metrics": metrics}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
