"""Keeps the search index equal to the published catalog and its labels: connected in CatalogConfig.ready()."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from tongshu.accounts.models import Organization
from tongshu.catalog.models import Resource
from tongshu.catalog.search_models import SearchDocument
from tongshu.catalog.signals import resource_published, resource_retired
from tongshu.standards.models import ResourceCategory

from .indexing import index_resource, remove_resource, renew_generation

logger = logging.getLogger(__name__)


@receiver(resource_published, dispatch_uid="catalog_search_index_published")
def index_published_resource(sender: Any, resource: Any, version: Any = None, **kwargs: Any) -> None:
    """A new published version replaces the resource's document (the signal comes after the commit)."""
    try:
        index_resource(resource, version)
    except Exception:  # the publication stands; `manage.py reindex_catalog` repairs the index
        logger.exception(
            "Search index not updated for published resource %s", getattr(resource, "pk", resource)
        )


@receiver(resource_retired, dispatch_uid="catalog_search_index_retired")
def remove_retired_resource(sender: Any, resource: Any, **kwargs: Any) -> None:
    try:
        remove_resource(resource)
    except Exception:
        logger.exception(
            "Search index not updated for retired resource %s", getattr(resource, "pk", resource)
        )


@receiver(post_save, sender=Organization, dispatch_uid="catalog_search_provider_renamed")
def refresh_renamed_provider(
    sender: Any, instance: Organization, created: bool = False, **kwargs: Any
) -> None:
    """A provider's name is searchable text and a facet label: a rename re-indexes its resources."""
    if created:
        return
    stale = SearchDocument.objects.filter(provider_id=instance.pk).exclude(provider_name=instance.name)
    stale_ids = list(stale.values_list("resource_id", flat=True))
    for resource in Resource.objects.filter(pk__in=stale_ids):
        index_resource(resource)
    if not stale_ids and SearchDocument.objects.filter(provider_id=instance.pk).exists():
        renew_generation()  # e.g. a new short name: facet labels come from the snapshot


@receiver(post_save, sender=ResourceCategory, dispatch_uid="catalog_search_category_changed")
def refresh_category_labels(sender: Any, instance: ResourceCategory, **kwargs: Any) -> None:
    if SearchDocument.objects.exists():
        renew_generation()
