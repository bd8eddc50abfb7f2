"""The hash chain: what an entry's hash covers, and the sealer that links pending entries into the chain.

An entry's hash is ``H(prev_hash + "\\n" + canonical JSON of the entry)``, where the canonical JSON holds every field a
reader sees (id, sequence, algorithm, time in UTC, actor, organization, action, object, details, client address) with
sorted keys and no insignificant whitespace. ``H`` is SHA-256 or SM3 (GB/T 32905), chosen by
``AUDIT_HASH_ALGORITHM`` and stored on each entry, so the setting can change without breaking older entries.

Appending never computes a hash (see `audit.record`). `seal_pending` runs in one short exclusive section per batch:
it reads the chain head and the pending rows in id order, gives them consecutive sequence numbers and hashes, and
writes them back with one batched UPDATE. The chain order is `seq`, not `id`: on PostgreSQL ids can become visible out
of order, and a row is sealed whenever it becomes visible.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import connection, transaction

from .models import AuditEntry

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
ALGORITHMS = ("sha256", "sm3")
SEAL_BATCH = 5000
# One constant key for PostgreSQL's advisory lock that serializes sealers (and checkpoint writers).
LOCK_KEY = 0x7453_6175_6469_7431  # "tSaudit1"

# The columns the hash covers and the sealer reads, in a fixed order.
ENTRY_COLUMNS = (
    "id",
    "seq",
    "algorithm",
    "created_at",
    "actor_id",
    "actor_name",
    "organization_id_value",
    "organization_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "details",
    "client_ip",
)


def _sm3_hex(data: bytes) -> str:
    try:
        digest = hashes.Hash(hashes.SM3())
    except UnsupportedAlgorithm:  # an OpenSSL built without SM3: fall back to the pure-Python implementation
        from gmssl import func, sm3

        return str(sm3.sm3_hash(func.bytes_to_list(data)))
    digest.update(data)
    return digest.finalize().hex()


def _sha256_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


HASHERS = {"sha256": _sha256_hex, "sm3": _sm3_hex}


def configured_algorithm() -> str:
    algorithm = str(settings.AUDIT_HASH_ALGORITHM).strip().lower()
    if algorithm not in HASHERS:
        raise ValueError(f"AUDIT_HASH_ALGORITHM must be one of {ALGORITHMS}, not {algorithm!r}")
    return algorithm


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_payload(row: dict[str, Any]) -> str:
    """The canonical JSON of one entry as read from the database (`ENTRY_COLUMNS`)."""
    return json.dumps(
        {
            "id": row["id"],
            "seq": row["seq"],
            "alg": row["algorithm"],
            "time": _utc_iso(row["created_at"]),
            "actor_id": row["actor_id"],
            "actor": row["actor_name"],
            "org_id": row["organization_id_value"],
            "org": row["organization_name"],
            "action": row["action"],
            "object_type": row["object_type"],
            "object_id": row["object_id"],
            "object": row["object_repr"],
            "details": row["details"],
            "client": row["client_ip"],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def entry_hash(row: dict[str, Any], prev_hash: str) -> str:
    """The hash an entry must carry, given its predecessor's hash. Unknown algorithms raise KeyError."""
    hasher = HASHERS[row["algorithm"]]
    return hasher(f"{prev_hash}\n{canonical_payload(row)}".encode())


def chain_head() -> tuple[int, str]:
    """(seq, hash) of the newest sealed entry, or (0, genesis) for an empty chain.

    After a retention prune removed every entry, the chain continues from the prune checkpoint.
    """
    head = AuditEntry.objects.sealed().order_by("-seq").values_list("seq", "entry_hash").first()
    if head is not None and head[0] is not None:
        return head[0], head[1]
    from .models import AuditCheckpoint, CheckpointReason

    anchor = (
        AuditCheckpoint.objects.filter(reason=CheckpointReason.PRUNE)
        .order_by("-seq")
        .values_list("seq", "entry_hash")
        .first()
    )
    if anchor is not None:
        return int(anchor[0]), str(anchor[1])
    return 0, GENESIS_HASH


def _take_lock(wait: bool) -> bool:
    if connection.vendor == "postgresql":
        function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
            return wait or bool(cursor.fetchone()[0])
    if connection.vendor == "sqlite":
        # The project opens write transactions with BEGIN IMMEDIATE (settings.py), which takes SQLite's single write
        # lock; a no-op write takes it too should this run inside an outer transaction that has not written yet.
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET id = id WHERE 0")  # noqa: S608
    return True


@contextmanager
def exclusive_section(*, wait: bool = True) -> Iterator[bool]:
    """One transaction in which this process alone seals or checkpoints. Yields False if `wait` is off and busy.

    PostgreSQL: a transaction-scoped advisory lock (released at commit); SQLite: the database's write lock.
    """
    with transaction.atomic():
        yield _take_lock(wait)


def pending_rows(limit: int) -> list[dict[str, Any]]:
    """The oldest unsealed rows in id order. A row with a hash but no sequence was tampered with: never re-chained."""
    return list(
        AuditEntry.objects.filter(seq__isnull=True, entry_hash="")
        .order_by("id")
        .values(*ENTRY_COLUMNS)[:limit]
    )


def _write_seals(seals: Sequence[tuple[int, str, str, str, int]]) -> None:
    """One batched UPDATE of the chain fields. "seq IS NULL" keeps the sealer from ever touching a sealed row."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for the whole batch: the rows' new values arrive as five arrays.
            seqs, algorithms, prevs, digests, ids = (list(column) for column in zip(*seals, strict=True))
            cursor.execute(
                f"UPDATE {table} AS entry SET seq = batch.seq, algorithm = batch.algorithm, "  # noqa: S608
                "prev_hash = batch.prev_hash, entry_hash = batch.entry_hash "
                "FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[]) "
                "AS batch(seq, algorithm, prev_hash, entry_hash, id) "
                "WHERE entry.id = batch.id AND entry.seq IS NULL",
                [seqs, algorithms, prevs, digests, ids],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET seq = %s, algorithm = %s, prev_hash = %s, entry_hash = %s "  # noqa: S608
                "WHERE id = %s AND seq IS NULL",
                seals,
            )


def seal_rows(rows: Iterable[dict[str, Any]], head: tuple[int, str], algorithm: str) -> tuple[int, str]:
    """Link `rows` after `head`; returns the new head. Must run inside `exclusive_section`."""
    seq, prev = head
    seals = []
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["algorithm"] = algorithm
        digest = entry_hash(row, prev)
        seals.append((seq, algorithm, prev, digest, row["id"]))
        prev = digest
    if seals:
        _write_seals(seals)
    return seq, prev


def seal_pending(*, wait: bool = True, checkpoint: bool = True, batch: int = SEAL_BATCH) -> int:
    """Seal every pending entry (in batches of `batch`, one short transaction each); returns how many were sealed.

    With `wait=False` it returns 0 at once if another process is sealing (that process will take our rows too).
    Afterwards a signed checkpoint is written if one is due (`checkpoints.checkpoint_if_due`).
    """
    algorithm = configured_algorithm()
    sealed = 0
    # Most calls (the 5-second job, page views) find nothing to do: answer that without taking the lock.
    has_pending = AuditEntry.objects.filter(seq__isnull=True, entry_hash="").exists()
    while has_pending:
        with exclusive_section(wait=wait) as acquired:
            if not acquired:
                return sealed
            rows = pending_rows(batch)
            if rows:
                seal_rows(rows, chain_head(), algorithm)
        sealed += len(rows)
        has_pending = len(rows) == batch
    if checkpoint:
        from .checkpoints import checkpoint_if_due

        checkpoint_if_due()
    return sealed
