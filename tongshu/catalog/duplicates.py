"""Duplicate collection (第十三条: 可通过数据共享交换平台获得的信息资源，不再重复采集).

`find_similar` asks the search module (`tongshu.catalog.search.similar_resources`, fuzzy matching on Chinese text
and bound data elements) for published resources resembling a draft. Until that module is installed, a plain
fallback compares character bigrams of names and item names and shared data elements over published resources;
it answers the same shape: a list of `(resource, score 0–1, reasons)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from django.db.models import F

from .models import Resource, ResourceVersion


def _search_implementation() -> Any:
    try:
        module = importlib.import_module("tongshu.catalog.search")
    except ImportError:
        return None
    return getattr(module, "similar_resources", None)


def find_similar(
    name: str,
    item_names: Iterable[str],
    data_element_ids: Iterable[int],
    *,
    exclude_resource_id: int | None = None,
    limit: int = 5,
) -> list[tuple[Resource, float, list[str]]]:
    item_names = [n for n in item_names if n]
    data_element_ids = [pk for pk in data_element_ids if pk]
    implementation = _search_implementation()
    if implementation is not None:
        return list(
            implementation(
                name, item_names, data_element_ids, exclude_resource_id=exclude_resource_id, limit=limit
            )
        )
    return _fallback(name, item_names, data_element_ids, exclude_resource_id=exclude_resource_id, limit=limit)


def similar_to_version(version: ResourceVersion, limit: int = 5) -> list[tuple[Resource, float, list[str]]]:
    items = list(version.items.all())
    return find_similar(
        version.name,
        [item.name for item in items],
        [item.data_element_id for item in items if item.data_element_id],
        exclude_resource_id=version.resource_id,
        limit=limit,
    )


def _bigrams(text: str) -> set[str]:
    text = "".join(text.split())
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _fallback(
    name: str,
    item_names: list[str],
    data_element_ids: list[int],
    *,
    exclude_resource_id: int | None,
    limit: int,
) -> list[tuple[Resource, float, list[str]]]:
    versions = (
        ResourceVersion.objects.filter(resource__published_version=F("pk"), resource__is_retired=False)
        .exclude(resource_id=exclude_resource_id)
        .select_related("resource", "resource__provider")
        .prefetch_related("items")
    )
    wanted_name, wanted_items, wanted_elements = _bigrams(name), set(item_names), set(data_element_ids)
    scored = []
    for version in versions:
        reasons = []
        name_score = _jaccard(wanted_name, _bigrams(version.name))
        if name_score >= 0.3:
            reasons.append(f"名称相似（{name_score:.0%}）")
        items = list(version.items.all())
        common_items = wanted_items & {item.name for item in items}
        item_score = len(common_items) / len(wanted_items) if wanted_items else 0.0
        if len(common_items) >= 2 and item_score >= 0.3:
            reasons.append(f"{len(common_items)} 个信息项同名")
        common_elements = wanted_elements & {item.data_element_id for item in items if item.data_element_id}
        element_score = len(common_elements) / len(wanted_elements) if wanted_elements else 0.0
        if len(common_elements) >= 2 and element_score >= 0.3:
            reasons.append(f"{len(common_elements)} 个信息项绑定相同数据元")
        if reasons:
            score = max(name_score, item_score, element_score)
            scored.append((version.resource, round(score, 3), reasons))
    scored.sort(key=lambda row: -row[1])
    return scored[:limit]
