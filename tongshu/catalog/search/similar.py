"""Published resources that resemble a draft (catalog issue, item 8): duplicate cataloguing shows before review.

Candidates come from the search postings (resources sharing name or item-name bigrams) and from info items bound to
the same data elements; each is scored on three signals, each in [0, 1]:

- name: Dice coefficient of the two names' character bigrams (华容县户籍人口信息 vs 户籍人口基本信息 → 0.67);
- items: share of the draft's info items whose normalized name the candidate also has;
- elements: share of the draft's bound data elements the candidate's items also bind.

The score is their weighted mean over the signals the draft provides (name 0.5, items 0.3, elements 0.2), so a
draft without items is judged on its name alone. Reasons say, in Chinese, which signal matched.
"""

from __future__ import annotations

from django.db.models import Count
from django.utils.translation import gettext as _

from tongshu.catalog.models import InfoItem, Resource
from tongshu.catalog.search_models import SearchDocument, SearchPosting

from .matching import token_frequencies
from .text import bigrams, dice, normalize

WEIGHTS = {"name": 0.5, "items": 0.3, "elements": 0.2}
MIN_SCORE = 0.25
CANDIDATES = 200
# Bigrams held by more than this share of all documents (信息, 基本) say little about likeness and are not used to
# find candidates (they still count in the Dice coefficient).
COMMON_SHARE = 0.2


def _candidate_ids_by_text(tokens: set[str], exclude: int | None) -> list[int]:
    if not tokens:
        return []
    ordered = sorted(tokens)
    frequencies = token_frequencies(ordered)
    total = SearchDocument.objects.count()
    limit = max(50, int(total * COMMON_SHARE))
    useful = [t for t in ordered if 0 < frequencies[t] <= limit] or [t for t in ordered if frequencies[t]]
    if not useful:
        return []
    rows = (
        SearchPosting.objects.filter(token__in=useful)
        .exclude(document_id=exclude)
        .values("document_id")
        .annotate(shared=Count("token"))
        .order_by("-shared", "document_id")[:CANDIDATES]
    )
    return [row["document_id"] for row in rows]


def _elements_by_resource(data_element_ids: list[int], exclude: int | None) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    if not data_element_ids:
        return found
    items = InfoItem.objects.filter(
        data_element_id__in=data_element_ids,
        version_id__in=SearchDocument.objects.values("version_id"),
    ).values_list("version__resource_id", "data_element_id")
    for resource_id, element_id in items:
        if resource_id != exclude:
            found.setdefault(resource_id, set()).add(element_id)
    return found


def similar_resources(
    name: str,
    item_names: list[str],
    data_element_ids: list[int],
    *,
    exclude_resource_id: int | None = None,
    limit: int = 5,
) -> list[tuple[Resource, float, list[str]]]:
    """Published resources resembling a draft, best first: (resource, score in [0, 1], reasons in Chinese)."""
    name_grams = bigrams(name)
    draft_items = {normalize(item).replace(" ", ""): item for item in item_names if normalize(item)}
    elements = sorted({int(pk) for pk in data_element_ids if pk})
    item_grams: set[str] = set()
    for item in draft_items:
        item_grams |= bigrams(item) if len(item) > 1 else {item}
    candidates = _candidate_ids_by_text(name_grams | item_grams, exclude_resource_id)
    element_hits = _elements_by_resource(elements, exclude_resource_id)
    ids = list(dict.fromkeys([*candidates, *element_hits]))
    if not ids:
        return []
    documents = SearchDocument.objects.filter(pk__in=ids).only("resource_id", "name", "item_names")
    weights = {
        signal: weight
        for signal, weight in WEIGHTS.items()
        if {"name": name_grams, "items": draft_items, "elements": elements}[signal]
    }
    if not weights:
        return []
    scored: list[tuple[int, float, list[str]]] = []
    for document in documents:
        signals: dict[str, float] = {}
        reasons: list[str] = []
        if "name" in weights:
            signals["name"] = dice(name_grams, bigrams(document.name))
            if signals["name"] >= 0.3:
                reasons.append(
                    _("Similar name: %(name)s (%(percent)d%%)")
                    % {"name": document.name, "percent": round(signals["name"] * 100)}
                )
        if "items" in weights:
            theirs = {normalize(item).replace(" ", "") for item in document.item_names.splitlines()}
            shared = [draft_items[key] for key in draft_items if key in theirs]
            signals["items"] = len(shared) / len(draft_items)
            if shared:
                reasons.append(_("Same info items: %(items)s") % {"items": "、".join(shared[:6])})
        if "elements" in weights:
            common = element_hits.get(document.resource_id, set())
            signals["elements"] = len(common) / len(elements)
            if common:
                reasons.append(_("Binds %(count)d of the same data elements") % {"count": len(common)})
        score = sum(signals[s] * w for s, w in weights.items()) / sum(weights.values())
        if score >= MIN_SCORE and reasons:
            scored.append((document.resource_id, round(score, 3), reasons))
    scored.sort(key=lambda entry: (-entry[1], entry[0]))
    scored = scored[:limit]
    resources = Resource.objects.select_related("provider", "published_version").in_bulk(
        [resource_id for resource_id, _score, _reasons in scored]
    )
    return [(resources[rid], score, reasons) for rid, score, reasons in scored if rid in resources]
