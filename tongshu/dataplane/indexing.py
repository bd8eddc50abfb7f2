"""Indexes after a first load: the load commits without indexes (its keys are proven unique by the pipeline), and
this task builds them right after (the unique key index, indexes on queryable items and on `_batch`, on PostgreSQL
the primary key, and any index the history table lacks), so a large first load is visible and its lock released
sooner. On SQLite it also checkpoints the WAL the load's commit left (the table's pages are copied into the database
file once, with the indexes'). The next batch of the resource builds any that are still missing
(`store.BatchWriter`)."""

from __future__ import annotations

from django_tasks import task

from . import store
from .schema import schema_for_version


@task()
def build_query_indexes(resource_id: int) -> int:
    from tongshu.catalog.models import Resource

    resource = Resource.objects.select_related("published_version", "provider").filter(pk=resource_id).first()
    if resource is None or resource.published_version is None:
        return 0
    return store.ensure_indexes(schema_for_version(resource.published_version))
