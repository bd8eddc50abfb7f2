"""Keeping the search index equal to the published catalog: one resource at a time, or all of it at once.

Only published, unretired resources are indexed, with the text of their published version (a draft is never found).
Each change writes the document, replaces its postings and renews the index generation in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from tongshu.catalog.models import InfoItem, Resource, ResourceVersion
from tongshu.catalog.search_models import SearchDocument, SearchIndexState, SearchPosting

from .text import FIELD_BITS, NAME_START_BIT, normalize, start_tokens, text_tokens

FIELD_SEPARATOR = "\n"  # never part of a normalized term, so a term cannot match across two item names
REBUILD_CHUNK = 2000


def _joined(values: Iterable[str]) -> str:
    return FIELD_SEPARATOR.join(text for text in (normalize(value) for value in values) if text)


def build_document(resource: Resource, version: ResourceVersion, item_names: list[str]) -> SearchDocument:
    provider = resource.provider
    return SearchDocument(
        resource_id=resource.pk,
        version_id=version.pk,
        provider_id=resource.provider_id,
        category_id=resource.category_id,
        category_code=resource.category.code,
        code=resource.code or "",
        name=version.name,
        summary=version.summary,
        provider_name=provider.name,
        item_names="\n".join(item_names),
        share_type=version.share_type,
        open_type=version.open_type,
        update_cycle=version.update_cycle,
        format_class=version.format_class,
        security_level=version.security_level,
        published_at=version.published_at,
        name_text=normalize(version.name),
        code_text=normalize(resource.code or ""),
        keywords_text=_joined(_split_keywords(version.keywords)),
        items_text=_joined(item_names),
        summary_text=normalize(version.summary),
        provider_text=_joined([provider.name, provider.short_name]),
    )


def _split_keywords(keywords: str) -> list[str]:
    for separator in "，,；;、":
        keywords = keywords.replace(separator, " ")
    return keywords.split()


def document_tokens(document: SearchDocument) -> dict[str, int]:
    """Token → mask of the fields holding it (text.FIELD_BITS, NAME_START_BIT)."""
    tokens: dict[str, int] = {}
    for column, bit in FIELD_BITS.items():
        for token in text_tokens(getattr(document, column)):
            tokens[token] = tokens.get(token, 0) | bit
    for token in start_tokens(document.name_text):
        tokens[token] |= NAME_START_BIT
    return tokens


def renew_generation() -> None:
    """Tell every process that its in-memory facet snapshot is stale (see snapshot.py)."""
    SearchIndexState.objects.update_or_create(pk=1, defaults={"generation": uuid.uuid4().hex})


def is_indexable(resource: Resource) -> bool:
    return resource.published_version_id is not None and not resource.is_retired and bool(resource.code)


@transaction.atomic
def index_resource(resource: Resource, version: ResourceVersion | None = None) -> SearchDocument | None:
    """(Re)index one resource from its published version; removes it from the index when it has none."""
    resource = Resource.objects.select_related("provider", "category").get(pk=resource.pk)
    if version is None or version.pk != resource.published_version_id:
        version = resource.published_version
    if version is None or not is_indexable(resource):
        remove_resource(resource)
        return None
    item_names = list(version.items.order_by("position").values_list("name", flat=True))
    document = build_document(resource, version, item_names)
    SearchPosting.objects.filter(document_id=resource.pk).delete()
    document.save()
    SearchPosting.objects.bulk_create(
        [
            SearchPosting(token=token, document_id=resource.pk, fields=mask)
            for token, mask in sorted(document_tokens(document).items())
        ],
        batch_size=500,
    )
    renew_generation()
    return document


@transaction.atomic
def remove_resource(resource: Resource | int) -> None:
    resource_id = resource if isinstance(resource, int) else resource.pk
    SearchPosting.objects.filter(document_id=resource_id).delete()
    if SearchDocument.objects.filter(pk=resource_id).delete()[0]:
        renew_generation()


def _published_chunks() -> Iterator[list[Resource]]:
    resources = (
        Resource.objects.filter(published_version__isnull=False, is_retired=False, code__isnull=False)
        .select_related("provider", "category", "published_version")
        .order_by("pk")
    )
    last = 0
    while True:
        chunk = list(resources.filter(pk__gt=last)[:REBUILD_CHUNK])
        if not chunk:
            return
        last = chunk[-1].pk
        yield chunk


def rebuild_index() -> dict[str, int]:
    """Rebuild the whole index from the published catalog (`manage.py reindex_catalog`). Returns counts."""
    documents = postings = 0
    with transaction.atomic(), _large_sqlite_cache():
        _delete_all()
        for chunk in _published_chunks():
            names: dict[int, list[str]] = {}
            items = (
                InfoItem.objects.filter(version_id__in=[r.published_version_id for r in chunk])
                .order_by("version_id", "position")
                .values_list("version_id", "name")
            )
            for version_id, name in items:
                names.setdefault(version_id, []).append(name)
            batch = [
                build_document(r, r.published_version, names.get(r.published_version_id, [])) for r in chunk
            ]
            SearchDocument.objects.bulk_create(batch, batch_size=500)
            rows = [
                (token, doc.resource_id, mask)
                for doc in batch
                for token, mask in document_tokens(doc).items()
            ]
            _insert_postings(rows)
            documents += len(batch)
            postings += len(rows)
        renew_generation()
    if connection.vendor == "postgresql":
        # Fresh statistics for the planner; outside a transaction also the visibility map, for index-only scans.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            for model in (SearchPosting, SearchDocument):
                cursor.execute(f"{command} {model._meta.db_table}")
    return {"documents": documents, "postings": postings}


@contextmanager
def _large_sqlite_cache() -> Iterator[None]:
    """Millions of postings go into two B-trees; with SQLite's default 2 MB page cache most inserts would miss."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MB, released when restored
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _delete_all() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SearchPosting._meta.db_table}")  # noqa: S608 (table names from _meta)
        cursor.execute(f"DELETE FROM {SearchDocument._meta.db_table}")  # noqa: S608


def _insert_postings(rows: list[tuple[str, Any]]) -> None:
    """Postings by the hundred thousand: COPY on PostgreSQL, one prepared statement on SQLite."""
    table = SearchPosting._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} (token, document_id, fields) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} (token, document_id, fields) VALUES (%s, %s, %s)", rows)  # noqa: S608
