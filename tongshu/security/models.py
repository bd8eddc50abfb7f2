"""The tamper-evident audit log (第三十三条; 网络安全法 第二十一条).

How the chain is built, checked and pruned is in docs/architecture.md ("Audit log"). This module holds the data and
the invariants the ORM can enforce: a sealed entry is never changed and no entry is deleted except by the retention
prune (`tongshu.security.retention`). On PostgreSQL database triggers enforce the same (migration 0003).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Set only by the retention prune while it deletes expired entries; every other delete is refused.
_prune_in_progress: contextvars.ContextVar[bool] = contextvars.ContextVar("audit_prune", default=False)


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or delete audit entries outside the sealer and the retention prune."""


@contextmanager
def prune_permitted() -> Iterator[None]:
    """Used by `retention.prune_expired` only: lets it delete expired, sealed entries."""
    token = _prune_in_progress.set(True)
    try:
        yield
    finally:
        _prune_in_progress.reset(token)


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("audit entries cannot be updated")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AuditLogIsAppendOnly("audit entries cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        if not _prune_in_progress.get():
            raise AuditLogIsAppendOnly("audit entries are deleted only by the retention prune")
        return super().delete()

    def sealed(self) -> AuditEntryQuerySet:
        return self.filter(seq__isnull=False)


class AuditEntry(models.Model):
    """One audited event. Appended unsealed; the sealer gives it its place in the chain (`seq`) and its hash.

    Rows are never updated after sealing and never deleted before the retention period has passed.
    """

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # No database constraint and DO_NOTHING: deleting a user must not rewrite (and so break) sealed entries.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    organization_id_value = models.BigIntegerField(_("organization id"), null=True, blank=True, db_index=True)
    organization_name = models.CharField(_("organization"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    client_ip = models.CharField(_("client address"), max_length=45, blank=True)
    # Chain fields, filled by the sealer.
    seq = models.BigIntegerField(_("sequence"), null=True, blank=True, unique=True)
    algorithm = models.CharField(_("hash algorithm"), max_length=10, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    entry_hash = models.CharField(_("entry hash"), max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("Audit entry")
        verbose_name_plural = _("Audit entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["id"], name="audit_pending", condition=models.Q(seq__isnull=True))]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit entries cannot be changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if not _prune_in_progress.get():
            raise AuditLogIsAppendOnly("audit entries are deleted only by the retention prune")
        return super().delete(*args, **kwargs)

    @property
    def is_sealed(self) -> bool:
        return self.seq is not None

    @property
    def details_text(self) -> str:
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True) if self.details else ""


class CheckpointReason(models.TextChoices):
    COUNT = "count", _("Entry count reached")
    INTERVAL = "interval", _("Time interval reached")
    SHUTDOWN = "shutdown", _("Shutdown")
    PRUNE = "prune", _("Retention prune")
    MANUAL = "manual", _("On demand")


class AuditCheckpoint(models.Model):
    """A signed statement "the chain had reached entry `seq` with hash `entry_hash` at `created_at`".

    The authoritative copy is the line appended to ``AUDIT_CHECKPOINT_FILE`` outside the database; this row lets
    pages show checkpoints and lets verification notice a checkpoint file that lost lines.
    """

    seq = models.BigIntegerField(_("sequence"), db_index=True)
    entry_hash = models.CharField(_("entry hash"), max_length=64)
    created_at = models.DateTimeField(_("time"))
    reason = models.CharField(_("reason"), max_length=10, choices=CheckpointReason.choices)
    key_fingerprint = models.CharField(_("public key fingerprint"), max_length=64)
    signature = models.CharField(_("signature"), max_length=128)

    class Meta:
        verbose_name = _("Audit checkpoint")
        verbose_name_plural = _("Audit checkpoints")
        ordering = ["-seq", "-id"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.created_at:%Y-%m-%d %H:%M:%S}"


class AuditVerification(models.Model):
    """The outcome of one verification of the chain, kept so pages can show the chain's status cheaply."""

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    requested_by = models.CharField(_("requested by"), max_length=150, blank=True)
    is_intact = models.BooleanField(_("intact"))
    checked = models.BigIntegerField(_("entries checked"), default=0)
    head_seq = models.BigIntegerField(_("last sequence"), null=True, blank=True)
    broken_seq = models.BigIntegerField(_("first broken sequence"), null=True, blank=True)
    broken_entry_id = models.BigIntegerField(_("first broken entry"), null=True, blank=True)
    problem = models.CharField(_("problem"), max_length=40, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("Audit verification")
        verbose_name_plural = _("Audit verifications")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {'intact' if self.is_intact else self.problem}"
