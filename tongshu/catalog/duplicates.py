"""Duplicate collection (第十三条: 可通过数据共享交换平台获得的信息资源，不再重复采集).

The editor, the resource page and the authority's review page ask `tongshu.catalog.search.similar_resources` (fuzzy
matching on Chinese text and on bound data elements over the published catalog) for resources resembling a draft.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Resource, ResourceVersion
from .search import similar_resources


def find_similar(
    name: str,
    item_names: Iterable[str],
    data_element_ids: Iterable[int],
    *,
    exclude_resource_id: int | None = None,
    limit: int = 5,
) -> list[tuple[Resource, float, list[str]]]:
    return similar_resources(
        name,
        [item for item in item_names if item],
        [pk for pk in data_element_ids if pk],
        exclude_resource_id=exclude_resource_id,
        limit=limit,
    )


def similar_to_version(version: ResourceVersion, limit: int = 5) -> list[tuple[Resource, float, list[str]]]:
    items = list(version.items.all())
    return find_similar(
        version.name,
        [item.name for item in items],
        [item.data_element_id for item in items if item.data_element_id],
        exclude_resource_id=version.resource_id,
        limit=limit,
    )
