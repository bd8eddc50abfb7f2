"""Signed checkpoints: the chain's head, signed with an Ed25519 key kept outside the database.

The hash chain alone shows an edited, deleted or reordered entry in the middle, but someone able to write the database
could delete the newest entries (the rest still chains) or recompute every hash after an edit. A checkpoint is the
signed statement "entry `seq` had hash `h` at time `t`", appended as one JSON line to ``AUDIT_CHECKPOINT_FILE`` (outside
the database) and copied into `AuditCheckpoint`. Verification checks each line's signature, that the entry at `seq`
still has hash `h`, and that the log still reaches the newest checkpoint.

One is written after sealing when ``AUDIT_CHECKPOINT_EVERY`` entries or ``AUDIT_CHECKPOINT_SECONDS`` have passed since
the last one, at shutdown (`audit.flush`), and by the retention prune to anchor the chain's new start.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .chain import chain_head, exclusive_section
from .models import AuditCheckpoint, CheckpointReason

_keys: dict[str, Ed25519PrivateKey] = {}


def _generate_key(path: Path) -> None:
    """Write a new key with mode 0600; if another process wins the race, keep its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):  # another process won the race: keep its key
            os.link(temporary, path)  # atomic, and fails if the key already exists
    finally:
        os.unlink(temporary)


def signing_key() -> Ed25519PrivateKey:
    path = Path(settings.AUDIT_SIGNING_KEY)
    cached = _keys.get(str(path))
    if cached is not None and path.exists():
        return cached
    if not path.exists():
        _generate_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    _keys[str(path)] = key
    return key


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signed_message(seq: int, entry_hash: str, created_at: str, reason: str) -> bytes:
    return f"tongshu-audit-checkpoint|v1|{seq}|{entry_hash}|{created_at}|{reason}".encode()


def _append_line(line: str) -> None:
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write() of one line to a file opened O_APPEND: concurrent appenders never interleave a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(seq: int, entry_hash: str, reason: str, now: datetime | None = None) -> AuditCheckpoint:
    """Sign (seq, hash, time, reason), append it to the checkpoint file, then store the row.

    The file is written first: if the row's transaction then fails, the file holds a valid checkpoint of committed
    entries, which verification accepts; the reverse (a row the file lacks) is what it reports as tampering.
    """
    key = signing_key()
    created_at = (now or timezone.now()).replace(microsecond=0)
    stamp = created_at.isoformat()
    signature = base64.b64encode(key.sign(signed_message(seq, entry_hash, stamp, reason))).decode()
    key_id = fingerprint(key.public_key())
    line = {
        "v": 1,
        "seq": seq,
        "hash": entry_hash,
        "time": stamp,
        "reason": reason,
        "key": key_id,
        "sig": signature,
    }
    _append_line(json.dumps(line, sort_keys=True, separators=(",", ":")))
    return AuditCheckpoint.objects.create(
        seq=seq,
        entry_hash=entry_hash,
        created_at=created_at,
        reason=reason,
        key_fingerprint=key_id,
        signature=signature,
    )


def latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-seq", "-id").first()


def checkpoint_if_due(*, reason: str | None = None, now: datetime | None = None) -> AuditCheckpoint | None:
    """Write a checkpoint of the chain head if entries were sealed since the last one and one is due.

    Due: ``AUDIT_CHECKPOINT_EVERY`` entries or ``AUDIT_CHECKPOINT_SECONDS`` since the last checkpoint, or always when a
    `reason` (shutdown, on demand) is given. Serialized with the sealer, so checkpoints are in chain order.
    """
    now = now or timezone.now()
    if _due_reason(reason, now) is None:  # the usual answer, found without taking the lock
        return None
    with exclusive_section():
        due = _due_reason(reason, now)
        if due is None:
            return None
        seq, entry_hash = chain_head()
        return write_checkpoint(seq, entry_hash, due, now)


def _due_reason(reason: str | None, now: datetime) -> str | None:
    seq, _ = chain_head()
    last = latest_checkpoint()
    if seq == 0 or (last is not None and last.seq >= seq):
        return None
    if reason is not None:
        return reason
    if last is not None and seq - last.seq >= settings.AUDIT_CHECKPOINT_EVERY:
        return CheckpointReason.COUNT
    if last is None or now - last.created_at >= timedelta(seconds=settings.AUDIT_CHECKPOINT_SECONDS):
        return CheckpointReason.INTERVAL
    return None


@dataclass(frozen=True)
class FileCheckpoint:
    """One line of the checkpoint file, as read back, with whether its signature holds."""

    line: int
    seq: int
    entry_hash: str
    created_at: datetime | None
    reason: str
    signature: str
    is_valid: bool
    problem: str = ""


def _parse_line(number: int, text: str, trusted: Ed25519PublicKey, trusted_id: str) -> FileCheckpoint:
    try:
        data: dict[str, Any] = json.loads(text)
        seq, entry_hash, stamp = int(data["seq"]), str(data["hash"]), str(data["time"])
        reason, key_id, signature = str(data["reason"]), str(data["key"]), str(data["sig"])
    except (ValueError, KeyError, TypeError):
        return FileCheckpoint(number, 0, "", None, "", "", False, "unreadable")
    checkpoint = FileCheckpoint(number, seq, entry_hash, parse_datetime(stamp), reason, signature, True)
    if key_id != trusted_id:
        return FileCheckpoint(**{**checkpoint.__dict__, "is_valid": False, "problem": "unknown_key"})
    try:
        trusted.verify(base64.b64decode(signature), signed_message(seq, entry_hash, stamp, reason))
    except (InvalidSignature, ValueError):
        return FileCheckpoint(**{**checkpoint.__dict__, "is_valid": False, "problem": "bad_signature"})
    return checkpoint


def read_checkpoint_file() -> tuple[bool, list[FileCheckpoint]]:
    """(file exists, its checkpoints in file order), each checked against the signing key's public key."""
    path = Path(settings.AUDIT_CHECKPOINT_FILE)
    if not path.exists():
        return False, []
    trusted = public_key()
    trusted_id = fingerprint(trusted)
    checkpoints = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                checkpoints.append(_parse_line(number, text.strip(), trusted, trusted_id))
    return True, checkpoints
