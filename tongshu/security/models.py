"""The tamper-evident audit log (第三十三条; 网络安全法 第二十一条)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One audited event. Appended unsealed; the sealer gives it its place in the chain (`seq`) and its hash.

    Rows are never updated after sealing and never deleted before the retention period has passed.
    """

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
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
    algorithm = models.CharField(max_length=10, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("Audit entry")
        verbose_name_plural = _("Audit entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["seq"], name="audit_unsealed", condition=models.Q(seq__isnull=True))]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"
