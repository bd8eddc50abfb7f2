"""Batches: every load of a resource's data, whichever way it came in (第十二条, 第十九条)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BadRowPolicy(models.TextChoices):
    REJECT = "reject", _("Reject the whole batch")
    SKIP = "skip", _("Load without the bad rows")


class ResourceData(models.Model):
    """Data-plane settings of one published resource."""

    resource = models.OneToOneField("catalog.Resource", on_delete=models.CASCADE, related_name="data")
    bad_row_policy = models.CharField(
        _("bad-row policy"), max_length=10, choices=BadRowPolicy.choices, default=BadRowPolicy.REJECT
    )
    column_mapping = models.JSONField(_("remembered column mapping"), default=dict, blank=True)
    schema_version = models.PositiveIntegerField(_("catalog version the table follows"), default=0)
    last_batch = models.ForeignKey(
        "Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_loaded_at = models.DateTimeField(_("last loaded at"), null=True, blank=True)
    row_count = models.BigIntegerField(_("rows"), default=0)

    class Meta:
        verbose_name = _("Resource data")
        verbose_name_plural = _("Resource data")

    def __str__(self) -> str:
        return str(self.resource)


class BatchSource(models.TextChoices):
    UPLOAD = "upload", _("File upload")
    PUSH = "push", _("Push API (system integration)")
    PULL_HTTP = "pull_http", _("Pull from an upstream interface")
    PULL_DB = "pull_db", _("Pull from a department database")
    EFORM = "eform", _("Electronic form")
    COLLECTION = "collection", _("Public collection task")
    LIBRARY = "library", _("Base or thematic library refresh")


class BatchMode(models.TextChoices):
    UPSERT = "upsert", _("Upsert by key")
    REPLACE = "replace", _("Full replace")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Loading")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class Batch(models.Model):
    resource = models.ForeignKey("catalog.Resource", on_delete=models.PROTECT, related_name="batches")
    source = models.CharField(_("source"), max_length=12, choices=BatchSource.choices)
    mode = models.CharField(_("mode"), max_length=10, choices=BatchMode.choices, default=BatchMode.UPSERT)
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    file_path = models.CharField(max_length=400, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_format = models.CharField(_("format"), max_length=10, blank=True)
    file_size = models.BigIntegerField(_("size"), default=0)
    column_mapping = models.JSONField(default=dict, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The worker applying the batch (host:pid:start) and its last sign of life; see recovery.py.
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The resource's bad-row policy when the batch was validated (it may change later).
    bad_row_policy = models.CharField(
        _("bad-row policy"), max_length=10, choices=BadRowPolicy.choices, blank=True
    )
    rows_read = models.BigIntegerField(_("rows read"), default=0)
    inserted = models.BigIntegerField(_("inserted"), default=0)
    updated = models.BigIntegerField(_("updated"), default=0)
    retired = models.BigIntegerField(_("retired"), default=0)
    bad_rows = models.BigIntegerField(_("bad rows"), default=0)
    warnings = models.BigIntegerField(_("warnings"), default=0)
    error_sample = models.JSONField(default=list, blank=True)
    report_path = models.CharField(max_length=400, blank=True)
    message = models.TextField(_("message"), blank=True)
    # Why a batch was rejected or failed, for machines (`message` says it in Chinese for people): `bad_rows` when
    # rows failed validation, else the file-level fault (`missing_key_column`, `bad_encoding`, `zip_bomb`, …).
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("Batch")
        verbose_name_plural = _("Batches")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_batch_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.resource} {self.get_status_display()}"

    @property
    def is_finished(self) -> bool:
        return self.status in (BatchStatus.APPLIED, BatchStatus.REJECTED, BatchStatus.FAILED)


from .models_libraries import *  # noqa: E402, F403  (table layouts, schema changes, libraries)
from .models_sources import *  # noqa: E402, F403  (the other ways in: pull sources, collection tasks)
