"""Retention of the audit log: entries are kept at least 180 days (网络安全法 第二十一条) and then may be pruned.

`prune_expired` is the only code that deletes audit entries. It removes a prefix of the chain (entries older than the
retention, up to the first entry that must still be kept), and before each batch it signs a ``prune`` checkpoint of the
batch's last entry, so the shortened chain still verifies: its first entry links to a signed anchor. Removing the
oldest entries in any other way leaves no such anchor and is reported as a deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tongshu.core.errors import Conflict

from .audit import record
from .chain import exclusive_section, seal_pending
from .checkpoints import write_checkpoint
from .models import AuditEntry, CheckpointReason, prune_permitted
from .verify import verify_chain

MIN_RETENTION_DAYS = 180  # 网络安全法 第二十一条: network logs are kept no less than six months
PRUNE_BATCH = 50_000


def retention_days() -> int:
    """The configured retention, never less than the legal minimum whatever the setting says."""
    return max(MIN_RETENTION_DAYS, int(settings.AUDIT_RETENTION_DAYS))


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    retention_days: int
    deleted: int
    through_seq: int | None


def _prunable_through(cutoff: datetime) -> int | None:
    """The last sequence number that may go: just before the oldest entry still inside the retention period."""
    sealed = AuditEntry.objects.sealed()
    lowest = sealed.order_by("seq").values_list("seq", flat=True).first()
    if lowest is None:
        return None
    first_kept = sealed.filter(created_at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
    if first_kept is None:
        through = sealed.order_by("-seq").values_list("seq", flat=True).first()
    else:
        through = first_kept - 1
    # Entries are removed as a prefix, so one old entry sealed after a young one waits until that one expires too.
    return through if through is not None and through >= lowest else None


def _delete_through(seq: int) -> int:
    with exclusive_section(), prune_permitted():
        anchor = AuditEntry.objects.filter(seq=seq).values_list("entry_hash", flat=True).get()
        write_checkpoint(seq, anchor, CheckpointReason.PRUNE)
        if connection.vendor == "postgresql":
            with (
                connection.cursor() as cursor
            ):  # lets the database trigger (migration 0003) allow this delete
                cursor.execute("SELECT set_config('tongshu.audit_prune', 'on', true)")
        deleted, _ = AuditEntry.objects.filter(seq__lte=seq).delete()
    return deleted


def prune_expired(
    *, now: datetime | None = None, actor_name: str = "system", dry_run: bool = False
) -> PruneResult:
    """Delete sealed entries older than the retention period (at least 180 days) and record that it did.

    网络安全法 第二十一条. Run by `manage.py audit_prune`; there is no other way to delete an entry. Refuses (Conflict)
    while verification finds the chain broken.
    """
    now = now or timezone.now()
    days = retention_days()
    cutoff = now - timedelta(days=days)
    seal_pending(checkpoint=False)
    # A broken chain is evidence: nothing is pruned until an auditor has looked at it.
    verification = verify_chain()
    if not verification.is_intact:
        raise Conflict(f"审计日志校验未通过，暂不清理：{verification.summary()}", code="audit_chain_broken")
    through = _prunable_through(cutoff)
    if through is None:
        return PruneResult(cutoff, days, 0, None)
    if dry_run:
        return PruneResult(cutoff, days, AuditEntry.objects.filter(seq__lte=through).count(), through)
    lowest = AuditEntry.objects.sealed().order_by("seq").values_list("seq", flat=True).first() or through
    deleted, batch_end = 0, lowest - 1
    while batch_end < through:
        batch_end = min(batch_end + PRUNE_BATCH, through)
        deleted += _delete_through(batch_end)
    record(
        "audit.pruned",
        actor_name=actor_name,
        details={
            "deleted": deleted,
            "through_seq": through,
            "cutoff": cutoff.isoformat(),
            "retention_days": days,
        },
    )
    seal_pending()
    return PruneResult(cutoff, days, deleted, through)
