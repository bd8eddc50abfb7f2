"""The facet snapshot: every indexed resource's facet values as bitsets, held in memory by each process.

Filters, facet counts and the browse orders are answered from here without touching the database: a set of
resources is a Python integer whose bit *p* stands for the resource at position *p*; a filter is an AND of ORs of
value bitsets, a facet count the popcount of an AND. Positions follow the default browse order (newest publication
first, then code), so the first page of a browse is the lowest set bits.

The snapshot is reloaded when the index generation (SearchIndexState) differs from the one it was built at; reading
the generation is the one query a search pays for this.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from tongshu.accounts.models import Organization
from tongshu.catalog.search_models import SearchDocument, SearchIndexState
from tongshu.standards.models import CategoryLevel, ResourceCategory

# Facet name (the API parameter) → SearchDocument column.
FACET_COLUMNS = {
    "provider": "provider_id",
    "category": "category_code",
    "share_type": "share_type",
    "open_type": "open_type",
    "update_cycle": "update_cycle",
    "format": "format_class",
    "security_level": "security_level",
}
FACETS = tuple(FACET_COLUMNS)
_ONE = re.compile("1")


def bitset(positions: list[int], size: int) -> int:
    array = bytearray((size + 7) // 8)
    for position in positions:
        array[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(array, "little")


def iter_positions(bits: int) -> Iterator[int]:
    """Set bit positions, lowest first, lazily (a first page costs little even in a large set)."""
    return (match.start() for match in _ONE.finditer(bin(bits)[:1:-1]))


_BYTE_BITS = [tuple(i for i in range(8) if value >> i & 1) for value in range(256)]


def all_positions(bits: int) -> list[int]:
    """Every set bit position, lowest first (faster than iter_positions when all are needed)."""
    positions: list[int] = []
    extend = positions.extend
    for index, value in enumerate(bits.to_bytes((bits.bit_length() + 7) // 8, "little")):
        if value:
            base = index << 3
            extend([base + i for i in _BYTE_BITS[value]])
    return positions


@dataclass
class Snapshot:
    generation: str
    ids: list[int] = field(default_factory=list)  # position → resource id
    position: list[int] = field(default_factory=list)  # resource id → position (-1: not indexed)
    everything: int = 0
    # facet → value → bitset. For `category`, a resource is in the bitset of its category and of every ancestor.
    bits: dict[str, dict[str, int]] = field(default_factory=dict)
    # The values a facet lists (for `category`: the top two levels of the tree), and labels of provider/category.
    listed: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    code_rank: list[int] = field(default_factory=list)  # position → rank by resource code

    @property
    def size(self) -> int:
        return len(self.ids)

    def bits_of(self, resource_ids: list[int]) -> int:
        """The bitset of these resources (ids not in the snapshot are left out)."""
        array = bytearray((self.size + 7) // 8)
        position, limit = self.position, len(self.position)
        for rid in resource_ids:
            if rid < limit:
                p = position[rid]
                if p >= 0:
                    array[p >> 3] |= 1 << (p & 7)
        return int.from_bytes(array, "little")

    def first_positions(self, bits: int, offset: int, limit: int) -> list[int]:
        return list(islice(iter_positions(bits), offset, offset + limit))


def _category_ancestors(code: str, known: dict[str, tuple[str, int]]) -> list[str]:
    return [code[:end] for end in range(1, len(code) + 1) if code[:end] in known]


def load_snapshot(generation: str) -> Snapshot:
    rows = list(
        SearchDocument.objects.order_by("-published_at", "code").values_list(
            "resource_id", "code", *FACET_COLUMNS.values()
        )
    )
    size = len(rows)
    snapshot = Snapshot(generation=generation)
    snapshot.ids = [row[0] for row in rows]
    snapshot.position = [-1] * (max(snapshot.ids, default=0) + 1)
    for p, rid in enumerate(snapshot.ids):
        snapshot.position[rid] = p
    snapshot.everything = (1 << size) - 1
    by_code = sorted(range(size), key=lambda p: rows[p][1])
    snapshot.code_rank = [0] * size
    for rank, p in enumerate(by_code):
        snapshot.code_rank[p] = rank

    categories = {
        code: (name, level)
        for code, name, level in ResourceCategory.objects.values_list("code", "name", "level")
    }
    ancestors: dict[str, list[str]] = {}
    members: dict[str, dict[str, list[int]]] = {facet: {} for facet in FACETS}
    for p, row in enumerate(rows):
        for facet, value in zip(FACETS, row[2:], strict=True):
            if facet == "category":
                if value not in ancestors:
                    ancestors[value] = _category_ancestors(value, categories) or [value]
                for code in ancestors[value]:
                    members[facet].setdefault(code, []).append(p)
            else:
                members[facet].setdefault(str(value), []).append(p)
    snapshot.bits = {
        facet: {value: bitset(positions, size) for value, positions in values.items()}
        for facet, values in members.items()
    }
    # Categories list their top two levels (类 and 项); deeper codes still filter.
    snapshot.listed = {facet: list(values) for facet, values in members.items()}
    snapshot.listed["category"] = sorted(
        code
        for code in members["category"]
        if categories.get(code, ("", CategoryLevel.ITEM))[1] <= CategoryLevel.ITEM
    )
    provider_ids = [int(value) for value in members["provider"]]
    snapshot.labels = {
        "provider": {
            str(pk): short or name
            for pk, name, short in Organization.objects.filter(pk__in=provider_ids).values_list(
                "pk", "name", "short_name"
            )
        },
        "category": {code: name for code, (name, _level) in categories.items()},
    }
    return snapshot


_lock = threading.Lock()
_current: Snapshot | None = None


def current_snapshot() -> Snapshot:
    """The snapshot of the index as it is now (one query when nothing changed)."""
    global _current
    generation = SearchIndexState.objects.filter(pk=1).values_list("generation", flat=True).first() or ""
    snapshot = _current
    if snapshot is not None and snapshot.generation == generation:
        return snapshot
    with _lock:
        if _current is None or _current.generation != generation:
            _current = load_snapshot(generation)
        return _current
