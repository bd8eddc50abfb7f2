"""The catalog search index (catalog search, item 6): one document per published resource and its token postings.

Both are derived data, rebuilt from the published versions by `manage.py reindex_catalog` and kept current by the
`resource_published` / `resource_retired` receivers (tongshu/catalog/search/receivers.py). Nothing else writes them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongshu.standards.levels import SecurityLevel

from .choices import FormatClass, OpenType, ShareType, UpdateCycle


class SearchDocument(models.Model):
    """What search needs of one published resource: its facets, what a result shows, and its normalized text."""

    resource = models.OneToOneField(
        "catalog.Resource", primary_key=True, on_delete=models.CASCADE, related_name="search_document"
    )
    version = models.ForeignKey("catalog.ResourceVersion", on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("standards.ResourceCategory", on_delete=models.CASCADE, related_name="+")
    category_code = models.CharField(max_length=30)
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    provider_name = models.CharField(max_length=100)
    item_names = models.TextField(blank=True, help_text="Item names, one a line, in the version's order.")
    share_type = models.CharField(max_length=14, choices=ShareType.choices)
    open_type = models.CharField(max_length=14, choices=OpenType.choices)
    update_cycle = models.CharField(max_length=2, choices=UpdateCycle.choices)
    format_class = models.CharField(max_length=2, choices=FormatClass.choices)
    security_level = models.CharField(max_length=12, choices=SecurityLevel.choices)
    published_at = models.DateTimeField(null=True)
    # Normalized text (tongshu.catalog.search.text.normalize), one column per field so relevance can weigh them.
    name_text = models.TextField(blank=True)
    code_text = models.TextField(blank=True)
    keywords_text = models.TextField(blank=True)
    items_text = models.TextField(blank=True)
    summary_text = models.TextField(blank=True)
    provider_text = models.TextField(blank=True)

    class Meta:
        verbose_name = _("Search document")
        verbose_name_plural = _("Search documents")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SearchPosting(models.Model):
    """One token (a character bigram, a single character or an ASCII prefix) found in one document, with the fields
    it was found in as a bit mask (tongshu.catalog.search.text.FIELD_BITS). The mask is part of the key only so that
    it sits in the (token, document, fields) index and a search never reads the table itself."""

    pk = models.CompositePrimaryKey("token", "document", "fields")
    token = models.CharField(max_length=32)
    # No database constraint: postings are written only beside their document (indexing.py), by the million on a
    # rebuild, where a per-row foreign-key check would double the time.
    document = models.ForeignKey(
        SearchDocument, on_delete=models.CASCADE, related_name="postings", db_constraint=False
    )
    fields = models.SmallIntegerField()

    class Meta:
        verbose_name = _("Search posting")
        verbose_name_plural = _("Search postings")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.token} → {self.document_id}"


class SearchIndexState(models.Model):
    """One row whose `generation` changes with every change of the index, so each process knows when the facet
    snapshot it holds in memory is stale. A random value, not a counter: a rolled-back change must never leave two
    different indexes under the same generation."""

    generation = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("Search index state")
        verbose_name_plural = _("Search index state")
        default_permissions = ()

    def __str__(self) -> str:
        return self.generation
