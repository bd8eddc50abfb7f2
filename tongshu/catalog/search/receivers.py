"""Keeps the search index equal to the published catalog: connected in CatalogConfig.ready()."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from tongshu.catalog.signals import resource_published, resource_retired

from .indexing import index_resource, remove_resource

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
