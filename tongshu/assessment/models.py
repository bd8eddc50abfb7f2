"""Violations the platform detects (第三十五条), counted later in department assessment (第三十四条)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ViolationKind(models.TextChoices):
    # 第三十五条(一): changing a resource's share or open type outside review.
    UNAUTHORIZED_TYPE_CHANGE = "unauthorized_type_change", _("Unauthorized change of share or open type")


class Violation(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="violations",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    article = models.CharField(_("article"), max_length=30, help_text=_("For example 第三十五条(一)."))
    kind = models.CharField(_("kind"), max_length=40, choices=ViolationKind.choices)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    description = models.TextField(_("description"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)

    class Meta:
        verbose_name = _("Violation")
        verbose_name_plural = _("Violations")
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.organization} {self.get_kind_display()}"
