"""The physical layout of resource tables as they evolve with the catalog, and base/thematic libraries (第十四条).

`TableLayout` is the data plane's own record of what each resource table physically holds: one entry per column ever
created, with the type it was created (or last altered) with and whether its item was retired. The catalog version
says what the table *should* look like; the layout says what it *does*, so the next change is planned from the truth
(a refused narrowing keeps the wider column; a retired item keeps its column and data).

`Library` marks a resource as a base (基础库) or thematic (主题库) library; `LibraryMapping` declares how its table is
assembled from other resources (union of rows, or join of extra items on key items).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TableLayout(models.Model):
    resource = models.OneToOneField("catalog.Resource", on_delete=models.CASCADE, related_name="table_layout")
    version_number = models.PositiveIntegerField(_("catalog version the table follows"), default=0)
    # [{"uid", "field_name", "label", "data_type", "length": [min, max, scale], "retired": bool}, …] in table order
    columns = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("Table layout")
        verbose_name_plural = _("Table layouts")

    def __str__(self) -> str:
        return f"{self.resource_id} v{self.version_number}"

    @property
    def retired_fields(self) -> list[str]:
        return [column["field_name"] for column in self.columns if column.get("retired")]


class SchemaChange(models.Model):
    """What one catalog publication changed in a resource's table, and what could not be applied."""

    resource = models.ForeignKey("catalog.Resource", on_delete=models.CASCADE, related_name="schema_changes")
    from_version = models.PositiveIntegerField(_("from version"), null=True, blank=True)
    to_version = models.PositiveIntegerField(_("to version"))
    # [{"kind": "created|added|widened|converted|renamed|retired|revived|key|narrowing_kept", "field", "label", "detail"}]
    changes = models.JSONField(default=list, blank=True)
    # [{"field", "label", "code", "reason"}]: changes that were not applied physically, and why
    problems = models.JSONField(default=list, blank=True)
    rebuilt = models.BooleanField(_("table rebuilt"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("Schema change")
        verbose_name_plural = _("Schema changes")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.resource_id}: {self.from_version} → {self.to_version}"


class LibraryKind(models.TextChoices):
    BASE = "base", _("Base library")
    THEMATIC = "thematic", _("Thematic library")


class LibraryTheme(models.TextChoices):
    POPULATION = "population", _("Population")
    LEGAL_ENTITY = "legal_entity", _("Legal entities")
    SPATIAL = "spatial", _("Natural resources and spatial geography")
    CREDIT = "credit", _("Social credit")
    LICENSE = "license", _("Electronic licenses")
    OTHER = "other", _("Other theme")


class RefreshStatus(models.TextChoices):
    NEVER = "never", _("Not refreshed yet")
    QUEUED = "queued", _("Queued")
    APPLIED = "applied", _("Refreshed")
    REJECTED = "rejected", _("Refresh rejected")
    FAILED = "failed", _("Refresh failed")


class Library(models.Model):
    resource = models.OneToOneField("catalog.Resource", on_delete=models.CASCADE, related_name="library")
    kind = models.CharField(_("library kind"), max_length=10, choices=LibraryKind.choices)
    theme = models.CharField(
        _("theme"), max_length=20, choices=LibraryTheme.choices, default=LibraryTheme.OTHER
    )
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    refresh_status = models.CharField(
        _("refresh status"), max_length=10, choices=RefreshStatus.choices, default=RefreshStatus.NEVER
    )
    last_refreshed_at = models.DateTimeField(_("last refreshed at"), null=True, blank=True)
    last_batch = models.ForeignKey(
        "Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refresh_message = models.TextField(_("refresh message"), blank=True)

    class Meta:
        verbose_name = _("Library")
        verbose_name_plural = _("Libraries")
        ordering = ["kind", "theme", "pk"]

    def __str__(self) -> str:
        return str(self.resource)


class MappingKind(models.TextChoices):
    UNION = "union", _("Union of rows")
    JOIN = "join", _("Join on key items")


class LibraryMapping(models.Model):
    """One source of a library: `field_map` maps source fields to the library's fields. A union adds the source's
    rows (the first mapping that has a key wins); a join fills the mapped fields of rows already there, matching
    `join_on` (source field → library field)."""

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="mappings")
    source = models.ForeignKey("catalog.Resource", on_delete=models.PROTECT, related_name="library_uses")
    kind = models.CharField(_("mapping kind"), max_length=5, choices=MappingKind.choices)
    field_map = models.JSONField(_("field map"), default=dict)
    join_on = models.JSONField(_("join on"), default=dict, blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("Library mapping")
        verbose_name_plural = _("Library mappings")
        ordering = ["library", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["library", "source", "kind"], name="unique_library_source_kind")
        ]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.library_id} ({self.kind})"


__all__ = [
    "Library",
    "LibraryKind",
    "LibraryMapping",
    "LibraryTheme",
    "MappingKind",
    "RefreshStatus",
    "SchemaChange",
    "TableLayout",
]
