"""Data quality (第十三条, 第十五条, 第二十二条): the rules a department adds to a resource, the resource's quality score
history, and the overdue alerts of resources not updated within their update cycle."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    ID_BIRTHDATE = "id_birthdate", _("Birth date agrees with the ID number")
    ID_SEX = "id_sex", _("Sex agrees with the ID number")
    DATE_ORDER = "date_order", _("Date order (first not after second)")
    RANGE = "range", _("Value range")
    PATTERN = "pattern", _("Pattern")
    REFERENCE = "reference", _("Reference to another resource")


CROSS_KINDS = frozenset({RuleKind.ID_BIRTHDATE, RuleKind.ID_SEX, RuleKind.DATE_ORDER})


class Severity(models.TextChoices):
    ERROR = "error", _("Error (the row is rejected)")
    WARNING = "warning", _("Warning (reported only)")


class QualityRule(models.Model):
    """A rule a department adds to its resource beyond those derived from the info items (第十五条).

    `items` names the resource's fields the rule reads (field names, stable across catalog versions); `parameters`
    hold the kind's settings: `min`/`max` for a range, `pattern` for a pattern, `resource`/`field` for a reference.
    """

    resource = models.ForeignKey(
        "catalog.Resource", on_delete=models.CASCADE, related_name="quality_rules", verbose_name=_("resource")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    items = models.JSONField(_("info items"), default=list)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.ERROR
    )
    reason = models.CharField(_("message shown for a broken rule"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("Quality rule")
        verbose_name_plural = _("Quality rules")
        ordering = ["resource", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({', '.join(self.items)})"


class QualityScore(models.Model):
    """One computation of a resource's quality: each dimension in percent (None: not scored), overall their mean."""

    resource = models.ForeignKey(
        "catalog.Resource",
        on_delete=models.CASCADE,
        related_name="quality_scores",
        verbose_name=_("resource"),
    )
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now, db_index=True)
    completeness = models.FloatField(_("completeness"), null=True, blank=True)
    validity = models.FloatField(_("validity"), null=True, blank=True)
    uniqueness = models.FloatField(_("uniqueness"), null=True, blank=True)
    consistency = models.FloatField(_("consistency"), null=True, blank=True)
    timeliness = models.FloatField(_("timeliness"), null=True, blank=True)
    overall = models.FloatField(_("overall score"), null=True, blank=True)
    row_count = models.BigIntegerField(_("rows"), default=0)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("Quality score")
        verbose_name_plural = _("Quality scores")
        ordering = ["-computed_at", "-pk"]
        indexes = [models.Index(fields=["resource", "-computed_at"])]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.overall} @ {self.computed_at:%Y-%m-%d %H:%M}"


class OverdueAlert(models.Model):
    """A resource found overdue (第二十二条): opened by the daily check (which posts the to-do items once), closed when
    a batch is applied."""

    resource = models.ForeignKey(
        "catalog.Resource",
        on_delete=models.CASCADE,
        related_name="overdue_alerts",
        verbose_name=_("resource"),
    )
    due_at = models.DateTimeField(_("update due at"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Overdue alert")
        verbose_name_plural = _("Overdue alerts")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource"], condition=models.Q(closed_at__isnull=True), name="one_open_overdue_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} overdue since {self.due_at:%Y-%m-%d}"
