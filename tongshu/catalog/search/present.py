"""How a search hit is shown: the name with the matched terms marked, the info items that matched, the labels."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tongshu.catalog.choices import FormatClass, OpenType, ShareType, UpdateCycle
from tongshu.standards.levels import SecurityLevel

from .engine import Hit
from .text import normalize

MAX_MATCHED_ITEMS = 5


def _normalized_with_origin(text: str) -> tuple[str, list[int]]:
    """The normalized text and, for each of its characters, the index of the original character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char).lower():
            if piece.isalnum():
                chars.append(piece)
                origin.append(index)
            elif chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
    return "".join(chars), origin


def highlight(text: str, terms: list[str]) -> SafeString:
    """`text`, HTML-escaped, with every occurrence of the terms wrapped in <mark>."""
    if not terms or not text:
        return mark_safe(escape(text))  # noqa: S308 (escaped)
    normalized, origin = _normalized_with_origin(text)
    marked = [False] * len(text)
    for term in terms:
        start = normalized.find(term)
        while start >= 0:
            end = start + len(term) - 1
            for index in range(origin[start], origin[end] + 1):
                marked[index] = True
            start = normalized.find(term, start + 1)
    parts: list[str] = []
    open_mark = False
    for index, char in enumerate(text):
        if marked[index] and not open_mark:
            parts.append("<mark>")
            open_mark = True
        elif not marked[index] and open_mark:
            parts.append("</mark>")
            open_mark = False
        parts.append(escape(char))
    if open_mark:
        parts.append("</mark>")
    return mark_safe("".join(parts))  # noqa: S308 (every character escaped above)


def matched_items(item_names: str, terms: list[str]) -> list[str]:
    if not terms:
        return []
    found = []
    for name in item_names.splitlines():
        normalized = normalize(name)
        if any(term in normalized for term in terms):
            found.append(name)
            if len(found) == MAX_MATCHED_ITEMS:
                break
    return found


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def hit_fields(hit: Hit, category_names: dict[str, str]) -> dict[str, Any]:
    """The plain fields of a hit (API results and the page share them)."""
    doc = hit.document
    return {
        "id": doc.resource_id,
        "code": doc.code,
        "name": doc.name,
        "summary": doc.summary,
        "provider_id": doc.provider_id,
        "provider_name": doc.provider_name,
        "category_code": doc.category_code,
        "category_name": category_names.get(doc.category_code, ""),
        "share_type": doc.share_type,
        "share_type_label": _label(ShareType, doc.share_type),
        "open_type": doc.open_type,
        "open_type_label": _label(OpenType, doc.open_type),
        "update_cycle": doc.update_cycle,
        "update_cycle_label": _label(UpdateCycle, doc.update_cycle),
        "format": doc.format_class,
        "format_label": _label(FormatClass, doc.format_class),
        "security_level": doc.security_level,
        "security_level_label": _label(SecurityLevel, doc.security_level),
        "published_at": doc.published_at,
        "score": hit.score,
        "matched_items": matched_items(doc.item_names, hit.terms),
    }
