"""The other ways in (第十二条, 第十九条): scheduled pulls from an upstream interface or a department database, and
public collection tasks with their submissions. Electronic forms need no model: each save is a Batch.

Credentials (auth header values, database URLs) are stored encrypted (`sources.crypto`); the key lives in a file
outside the database.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import BatchMode

__all__ = [
    "COLLECTION_TRANSITIONS",
    "Cipher",
    "CollectionStatus",
    "CollectionSubmission",
    "CollectionTask",
    "PullSource",
    "SourceKind",
    "SourceRun",
    "SubmissionStatus",
]


class SourceKind(models.TextChoices):
    HTTP = "http", _("Upstream interface (HTTP)")
    DATABASE = "database", _("Department database")


class Cipher(models.TextChoices):
    FERNET = "fernet", _("AES (Fernet)")
    SM4 = "sm4", _("SM4 (national standard)")


class PullSource(models.Model):
    """Where a resource's data is pulled from on a timetable (数据下发接口 or a department's own database)."""

    resource = models.ForeignKey("catalog.Resource", on_delete=models.CASCADE, related_name="pull_sources")
    kind = models.CharField(_("kind"), max_length=10, choices=SourceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    mode = models.CharField(_("mode"), max_length=10, choices=BatchMode.choices, default=BatchMode.UPSERT)
    every_minutes = models.PositiveIntegerField(_("every N minutes"), null=True, blank=True)
    cron = models.CharField(_("cron expression"), max_length=100, blank=True)
    mapping = models.JSONField(_("field mapping"), default=dict, blank=True)
    cipher = models.CharField(_("encryption"), max_length=10, choices=Cipher.choices, default=Cipher.FERNET)
    timeout_seconds = models.PositiveIntegerField(_("timeout (seconds)"), default=30)
    page_size = models.PositiveIntegerField(_("page size"), default=1000)
    max_pages = models.PositiveIntegerField(_("maximum pages"), default=1000)
    # HTTP
    url = models.URLField(_("URL"), max_length=500, blank=True)
    auth_header_name = models.CharField(_("auth header name"), max_length=100, blank=True)
    auth_header_secret = models.TextField(blank=True)  # encrypted
    page_param = models.CharField(_("page parameter"), max_length=50, blank=True)
    size_param = models.CharField(_("page size parameter"), max_length=50, blank=True)
    first_page = models.IntegerField(_("first page number"), default=1)
    next_link_path = models.CharField(_("JSON path to the next link"), max_length=200, blank=True)
    rows_path = models.CharField(_("JSON path to the rows"), max_length=200, blank=True)
    # Database
    database_secret = models.TextField(blank=True)  # the encrypted SQLAlchemy URL
    database_dialect = models.CharField(_("database type"), max_length=40, blank=True)
    query = models.TextField(_("query"), blank=True)
    incremental_column = models.CharField(_("incremental column"), max_length=100, blank=True)
    high_water_mark = models.CharField(_("high-water mark"), max_length=100, blank=True)
    # Bookkeeping
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Scheduled runs load on behalf of the person who last saved the source."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)

    class Meta:
        verbose_name = _("Pull source")
        verbose_name_plural = _("Pull sources")
        ordering = ["resource__code", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_display(self) -> str:
        if self.cron:
            return f"cron {self.cron}"
        if self.every_minutes:
            return f"每 {self.every_minutes} 分钟"
        return "仅手动"


class SourceRun(models.Model):
    """One run of a pull source: the batch it produced (failed runs get a failed batch with the reason)."""

    source = models.ForeignKey(PullSource, on_delete=models.CASCADE, related_name="runs")
    batch = models.ForeignKey("Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    trigger = models.CharField(_("trigger"), max_length=20, default="schedule")
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows_fetched = models.BigIntegerField(_("rows fetched"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    mark_before = models.CharField(max_length=100, blank=True)
    mark_after = models.CharField(max_length=100, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("Source run")
        verbose_name_plural = _("Source runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.started_at:%Y-%m-%d %H:%M}"


class CollectionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Collecting")
    CLOSED = "closed", _("Ended")


# A collection task's life, declared once: a draft is edited, then published (its public link opens) or dropped;
# a published task closes by hand or at its deadline. `collection.move_task` checks moves against this table.
COLLECTION_TRANSITIONS: dict[str, frozenset[str]] = {
    CollectionStatus.DRAFT: frozenset({CollectionStatus.OPEN, CollectionStatus.CLOSED}),
    CollectionStatus.OPEN: frozenset({CollectionStatus.CLOSED}),
    CollectionStatus.CLOSED: frozenset(),
}


class CollectionTask(models.Model):
    """社会力量自行采集上传 (第十二条): a public form with a purpose, a deadline and the personal-information notice."""

    resource = models.ForeignKey(
        "catalog.Resource", on_delete=models.CASCADE, related_name="collection_tasks"
    )
    token = models.CharField(max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    purpose = models.TextField(_("purpose"))
    fields = models.JSONField(_("collected items"), default=list)
    deadline = models.DateTimeField(_("deadline"))
    collector = models.CharField(_("collector"), max_length=200)
    retention = models.CharField(_("retention period"), max_length=200)
    contact = models.CharField(_("contact"), max_length=200)
    per_address_hourly_limit = models.PositiveIntegerField(_("submissions per address per hour"), default=10)
    hourly_limit = models.PositiveIntegerField(_("submissions per hour for the task"), default=500)
    status = models.CharField(
        _("status"), max_length=10, choices=CollectionStatus.choices, default=CollectionStatus.OPEN
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Collection task")
        verbose_name_plural = _("Collection tasks")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == CollectionStatus.OPEN and timezone.now() < self.deadline


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved and loaded")
    REJECTED = "rejected", _("Rejected")


class CollectionSubmission(models.Model):
    task = models.ForeignKey(CollectionTask, on_delete=models.CASCADE, related_name="submissions")
    values = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    client_hash = models.CharField(max_length=64, db_index=True)  # a keyed hash, never the address itself
    notice_accepted_at = models.DateTimeField(_("notice accepted at"))
    notice_text = models.TextField(_("notice accepted"))
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    batch = models.ForeignKey("Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("Collection submission")
        verbose_name_plural = _("Collection submissions")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task}"
