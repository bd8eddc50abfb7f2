"""Verifying the audit log: walk the chain by sequence, recompute every hash, and hold it against the signed checkpoints.

What each finding means (the `problem` codes):

- ``edited``: the entry's stored hash is not the hash of its content, so a field was changed in the database;
- ``deleted``: a sequence number is missing, so entries in the middle (or, with no prune checkpoint anchoring the
  start, the oldest entries) were deleted;
- ``relinked``: the entry does not point at its predecessor's hash, so entries were reordered or one was inserted;
- ``rewritten``: the entry's hash differs from a signed checkpoint, so the chain was recomputed after a change;
- ``truncated``: a signed checkpoint names a later entry than the log holds, so the newest entries were deleted;
- ``unchained``: an entry carries a hash but no sequence number, so it was taken out of the chain;
- ``checkpoint_forged``: a line of the checkpoint file is unreadable or its signature does not hold;
- ``checkpoint_missing``: the database records a checkpoint that the checkpoint file lacks.

Each change is reported once, at the entry where it is: after a finding the walk continues from the stored values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.utils.timezone import localtime

from .chain import ENTRY_COLUMNS, GENESIS_HASH, HASHERS, entry_hash
from .checkpoints import FileCheckpoint, read_checkpoint_file
from .models import AuditCheckpoint, AuditEntry, CheckpointReason

WALK_BATCH = 5000
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    seq: int | None = None
    entry_id: int | None = None


@dataclass
class VerificationResult:
    checked: int = 0
    first_seq: int | None = None
    head_seq: int | None = None
    problems: list[Problem] = field(default_factory=list)
    last_checkpoint: FileCheckpoint | None = None
    checkpoint_file_found: bool = False
    duration_ms: int = 0

    @property
    def is_intact(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """The problem at the lowest sequence number (file problems without one first)."""
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.seq is not None, p.seq or 0))

    def summary(self) -> str:
        if self.is_intact:
            if not self.checked:
                return "完整：审计日志暂无已封存的记录"
            return f"完整：已校验 {self.checked} 条记录（第 {self.first_seq}–{self.head_seq} 号），哈希链与签名检查点一致"
        problem = self.first_problem
        assert problem is not None
        where = f"第 {problem.seq} 号记录" if problem.seq is not None else "检查点文件"
        entry = f"（记录 ID {problem.entry_id}）" if problem.entry_id is not None else ""
        return f"已被破坏：{where}{entry}：{problem.message}"


class _Walk:
    def __init__(self, result: VerificationResult) -> None:
        self.result = result

    def report(self, code: str, message: str, seq: int | None = None, entry_id: int | None = None) -> None:
        if len(self.result.problems) < MAX_PROBLEMS:
            self.result.problems.append(Problem(code, message, seq, entry_id))


def _check_checkpoint_file(walk: _Walk) -> list[FileCheckpoint]:
    found, checkpoints = read_checkpoint_file()
    walk.result.checkpoint_file_found = found
    valid = []
    for checkpoint in checkpoints:
        if checkpoint.is_valid:
            valid.append(checkpoint)
            continue
        reason = {
            "unreadable": "无法解析",
            "unknown_key": "由未知密钥签名（签名密钥被更换，或检查点是伪造的）",
        }.get(checkpoint.problem, "签名无效（被篡改或伪造）")
        walk.report(
            "checkpoint_forged",
            f"检查点文件第 {checkpoint.line} 行{reason}",
            seq=checkpoint.seq or None,
        )
    signatures = {checkpoint.signature for checkpoint in valid}
    for seq, signature in AuditCheckpoint.objects.order_by("seq").values_list("seq", "signature").iterator():
        if signature not in signatures:
            walk.report(
                "checkpoint_missing",
                f"数据库记载的第 {seq} 号检查点不在检查点文件中（文件被删改或替换）",
                seq=seq,
            )
    if valid:
        walk.result.last_checkpoint = max(valid, key=lambda c: (c.seq, c.line))
    return valid


def _sealed_rows() -> Any:
    """Sealed entries in sequence order, read in batches by key (no long-running cursor)."""
    after = None
    columns = (*ENTRY_COLUMNS, "prev_hash", "entry_hash")
    while True:
        batch = AuditEntry.objects.sealed().order_by("seq")
        if after is not None:
            batch = batch.filter(seq__gt=after)
        rows = list(batch.values(*columns)[:WALK_BATCH])
        yield from rows
        if len(rows) < WALK_BATCH:
            return
        after = rows[-1]["seq"]


def _check_entry(
    walk: _Walk, row: dict[str, Any], expected: int, prev: str, signed: dict[int, set[str]]
) -> None:
    seq, entry_id = row["seq"], row["id"]
    if seq != expected:
        last = f"第 {expected} 号" if seq - 1 == expected else f"第 {expected}–{seq - 1} 号"
        walk.report("deleted", f"{last}记录缺失（被删除），链在第 {seq} 号记录处断开", seq=expected)
    elif row["prev_hash"] != prev:
        walk.report("relinked", "前序哈希与上一条记录不符（记录被调换顺序或插入）", seq, entry_id)
    elif row["algorithm"] not in HASHERS or entry_hash(row, row["prev_hash"]) != row["entry_hash"]:
        walk.report("edited", "内容与哈希不符（记录在数据库中被修改）", seq, entry_id)
    elif seq in signed and row["entry_hash"] not in signed[seq]:
        walk.report("rewritten", "与已签名的检查点不符（记录被修改后整条链被重新计算）", seq, entry_id)


def verify_chain() -> VerificationResult:
    """Check the whole log. Call `chain.seal_pending()` first to include entries not yet sealed."""
    started = time.monotonic()
    result = VerificationResult()
    walk = _Walk(result)
    # The file is read before the entries: the log only grows while we walk, so a checkpoint we read is never ahead
    # of entries that were sealed after it.
    checkpoints = _check_checkpoint_file(walk)
    signed: dict[int, set[str]] = {}
    for checkpoint in checkpoints:
        signed.setdefault(checkpoint.seq, set()).add(checkpoint.entry_hash)
    prune_anchors = {c.seq: c.entry_hash for c in checkpoints if c.reason == CheckpointReason.PRUNE}

    expected, prev = 1, GENESIS_HASH
    for row in _sealed_rows():
        if result.first_seq is None:
            result.first_seq = row["seq"]
            # Entries the retention prune removed end at a signed anchor; the chain resumes right after it.
            anchor = max((seq for seq in prune_anchors if seq < row["seq"]), default=None)
            if anchor is not None:
                expected, prev = anchor + 1, prune_anchors[anchor]
        _check_entry(walk, row, expected, prev, signed)
        result.checked += 1
        expected, prev = row["seq"] + 1, row["entry_hash"]
    result.head_seq = expected - 1 if result.checked else None

    newest = result.last_checkpoint
    head = result.head_seq or max(prune_anchors, default=0)
    if newest is not None and newest.seq > head:
        when = f"{localtime(newest.created_at):%Y-%m-%d %H:%M:%S} " if newest.created_at else ""
        holds = f"日志只到第 {head} 号" if head else "日志中已没有记录"
        walk.report(
            "truncated", f"最新的记录被删除：{when}签名的检查点已到第 {newest.seq} 号，{holds}", seq=head + 1
        )
    for entry_id in (
        AuditEntry.objects.filter(seq__isnull=True).exclude(entry_hash="").values_list("id", flat=True)
    ):
        walk.report("unchained", "记录带有哈希却没有序号（被移出哈希链）", entry_id=entry_id)
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result
