"""One search, for the catalog pages and the API alike: text match, scope, filters, facet counts, sort and a page.

Facets are disjunctive: values of one facet combine with OR, facets with AND, and a facet's counts apply every
filter except its own, so a user sees what choosing another value would give.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language

from tongshu.catalog.choices import FormatClass, OpenType, ShareType, UpdateCycle
from tongshu.catalog.search_models import SearchDocument
from tongshu.standards.levels import SecurityLevel

from .matching import match_terms
from .snapshot import FACETS, Snapshot, all_positions, current_snapshot
from .text import FIELD_BITS, query_terms

SORTS = ("relevance", "published", "code")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
CHOICE_FACETS: dict[str, Any] = {
    "share_type": ShareType,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
    "format": FormatClass,
    "security_level": SecurityLevel,
}


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = ""  # "" → relevance with a query, newest first without
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def effective_sort(self) -> str:
        return self.sort or ("relevance" if self.q.strip() else "published")


@dataclass(frozen=True)
class Scope:
    """Which published resources a search may return: all of them (staff), or those whose facet values are in
    `allowed` (e.g. the public portal: open_type in {unconditional, conditional}), further limited to a queryset of
    resources if one is given (evaluated to ids on every search, so prefer `allowed` on hot paths)."""

    allowed: dict[str, frozenset[str]] = field(default_factory=dict)
    resources: QuerySet | None = None


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class Hit:
    document: SearchDocument
    score: int
    terms: list[str]


@dataclass
class SearchResults:
    query: SearchQuery
    terms: list[str]
    sort: str
    count: int
    page: int
    page_size: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    elapsed_ms: float = 0.0
    category_names: dict[str, str] = field(default_factory=dict)

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.page_size))


def _scope_bits(snapshot: Snapshot, scope: Scope) -> int:
    bits = snapshot.everything
    for facet, values in scope.allowed.items():
        allowed = 0
        for value in values:
            allowed |= snapshot.bits[facet].get(value, 0)
        bits &= allowed
    if scope.resources is not None:
        bits &= snapshot.bits_of(list(scope.resources.values_list("pk", flat=True)))
    return bits


_choice_labels: dict[str, dict[str, dict[str, str]]] = {}


def _facet_label(facet: str, value: str, snapshot: Snapshot) -> str:
    if facet in CHOICE_FACETS:
        language = get_language() or ""
        if language not in _choice_labels:  # translating ~40 lazy labels on every search costs milliseconds
            _choice_labels[language] = {
                name: {choice.value: str(choice.label) for choice in choices}
                for name, choices in CHOICE_FACETS.items()
            }
        return _choice_labels[language][facet].get(value, value)
    return snapshot.labels.get(facet, {}).get(value, value)


def _facet_values(facet: str, snapshot: Snapshot) -> list[str]:
    if facet in CHOICE_FACETS:
        return [choice.value for choice in CHOICE_FACETS[facet]]
    return snapshot.listed.get(facet, [])


def _count_facets(
    snapshot: Snapshot, base: int, masks: dict[str, int], selected: dict[str, tuple[str, ...]]
) -> dict[str, list[FacetValue]]:
    facets: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        others = base
        for other, mask in masks.items():
            if other != facet:
                others &= mask
        chosen = selected.get(facet, ())
        listed = _facet_values(facet, snapshot)
        values = []
        for value in listed + [v for v in chosen if v not in listed]:
            count = (others & snapshot.bits[facet].get(value, 0)).bit_count()
            if count or value in chosen:
                values.append(FacetValue(value, _facet_label(facet, value, snapshot), count, value in chosen))
        if facet == "provider":
            values.sort(key=lambda v: (-v.count, v.label))
        facets[facet] = values
    return facets


def _ordered_page(
    snapshot: Snapshot, bits: int, sort: str, by_score: list[tuple[int, int]], offset: int, limit: int
) -> list[int]:
    if sort == "published":  # positions are in this order already
        return snapshot.first_positions(bits, offset, limit)
    if sort == "code":
        return heapq.nsmallest(offset + limit, all_positions(bits), key=snapshot.code_rank.__getitem__)[
            offset:
        ]
    # relevance: best score first, ties newest first (each score's set in position order)
    page: list[int] = []
    for _score, score_bits in by_score:
        in_page = bits & score_bits
        count = in_page.bit_count()
        if offset >= count:
            offset -= count
            continue
        page += snapshot.first_positions(in_page, offset, limit - len(page))
        offset = 0
        if len(page) == limit:
            break
    return page


def _score_at(position: int, by_score: list[tuple[int, int]]) -> int:
    for score, bits in by_score:
        if bits >> position & 1:
            return score
    return 0


def run_search(query: SearchQuery, scope: Scope) -> SearchResults:
    """The search itself, for a caller whose scope is already decided (see services.search for people and apps)."""
    started = time.perf_counter()
    snapshot = current_snapshot()
    terms = query_terms(query.q)
    sort = query.effective_sort
    base = _scope_bits(snapshot, scope)
    by_score: list[tuple[int, int]] = []  # (score, bitset), best first
    if terms:
        buckets = match_terms(terms)
        by_score = sorted(((score, snapshot.bits_of(ids)) for score, ids in buckets.items()), reverse=True)
        matched = 0
        for _score, bits in by_score:
            matched |= bits
        base &= matched
    masks: dict[str, int] = {}
    for facet, values in query.filters.items():
        if values:
            mask = 0
            for value in values:
                mask |= snapshot.bits[facet].get(value, 0)
            masks[facet] = mask
    result = base
    for mask in masks.values():
        result &= mask
    count = result.bit_count()
    offset = (query.page - 1) * query.page_size
    positions = (
        _ordered_page(snapshot, result, sort, by_score, offset, query.page_size) if offset < count else []
    )
    ids = [snapshot.ids[p] for p in positions]
    documents = SearchDocument.objects.defer(*FIELD_BITS).in_bulk(ids) if ids else {}
    hits = [
        Hit(documents[snapshot.ids[p]], _score_at(p, by_score), terms)
        for p in positions
        if snapshot.ids[p] in documents
    ]
    return SearchResults(
        query=query,
        terms=terms,
        sort=sort,
        count=count,
        page=query.page,
        page_size=query.page_size,
        hits=hits,
        facets=_count_facets(snapshot, base, masks, query.filters),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        category_names=snapshot.labels.get("category", {}),
    )
