"""The catalog search page (信息资源目录): search box, facets with counts, active filters, sort, results, pages.

One view, whole page or (for htmx) the `search-panel` fragment of the same template; every control is a plain link
or a GET form, so the page works without JavaScript and every state has its own URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tongshu.core.errors import DomainError, ValidationFailed
from tongshu.core.views import error_page

from .search import FACET_TITLES, SearchQuery, SearchResults, parse_query, run_search, scope_for
from .search.present import highlight, hit_fields
from .search.snapshot import FACETS

PAGE_SIZE = 20
FACETS_SHOWN = 8  # values beyond these fold into "more"
SORT_LABELS = {
    "relevance": _("Relevance"),
    "published": _("Newest first"),
    "code": _("Resource code"),
}
SHARE_BADGES = {"unconditional": "badge-ok", "conditional": "badge-warn", "none": "badge-muted"}
OPEN_BADGES = {"unconditional": "badge-ok", "conditional": "badge-warn", "none": "badge-muted"}
# The resource page belongs to the catalog pages; a result links to it once that URL exists.
DETAIL_URL_NAME = "catalog:resource_detail"


def _params(query: SearchQuery) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if query.q:
        pairs.append(("q", query.q))
    for facet in FACETS:
        pairs += [(facet, value) for value in query.filters.get(facet, ())]
    if query.sort:
        pairs.append(("sort", query.sort))
    return pairs


def _url(pairs: list[tuple[str, str]], page: int = 1) -> str:
    if page > 1:
        pairs = [*pairs, ("page", str(page))]
    return "?" + urlencode(pairs) if pairs else "?"


def _toggled(query: SearchQuery, facet: str, value: str) -> str:
    """The URL with `value` of `facet` added if absent, removed if present (back to page 1)."""
    chosen = list(query.filters.get(facet, ()))
    chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    filters = {**query.filters, facet: tuple(chosen)}
    return _url(_params(SearchQuery(q=query.q, filters=filters, sort=query.sort)))


def _detail_url(resource_id: int) -> str | None:
    try:
        return reverse(DETAIL_URL_NAME, args=[resource_id])
    except NoReverseMatch:
        return None


def _page_links(results: SearchResults, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    last = results.num_pages
    window = sorted({1, last, *range(max(1, results.page - 2), min(last, results.page + 2) + 1)})
    links: list[dict[str, Any]] = []
    previous = 0
    for number in window:
        if number - previous > 1:
            links.append({"gap": True})
        links.append({"number": number, "url": _url(pairs, number), "current": number == results.page})
        previous = number
    return {
        "links": links if last > 1 else [],
        "previous": _url(pairs, results.page - 1) if results.page > 1 else None,
        "next": _url(pairs, results.page + 1) if results.page < last else None,
    }


def _context(results: SearchResults) -> dict[str, Any]:
    query = results.query
    facets, chips = [], []
    for facet in FACETS:
        values = []
        for value in results.facets.get(facet, []):
            entry = {"value": value, "url": _toggled(query, facet, value.value)}
            values.append(entry)
            if value.selected:
                chips.append({"title": FACET_TITLES[facet], "label": value.label, "url": entry["url"]})
        if values:
            facets.append(
                {
                    "name": facet,
                    "title": FACET_TITLES[facet],
                    "shown": values[:FACETS_SHOWN],
                    "more": values[FACETS_SHOWN:],
                }
            )
    base = _params(query)
    hits = []
    for hit in results.hits:
        fields = hit_fields(hit, results.category_names)
        fields["name_html"] = highlight(hit.document.name, results.terms)
        summary = hit.document.summary
        fields["summary_html"] = highlight(summary[:140] + ("…" if len(summary) > 140 else ""), results.terms)
        fields["matched_items_html"] = [highlight(item, results.terms) for item in fields["matched_items"]]
        fields["url"] = _detail_url(hit.document.resource_id)
        fields["share_badge"] = SHARE_BADGES.get(hit.document.share_type, "")
        fields["open_badge"] = OPEN_BADGES.get(hit.document.open_type, "")
        hits.append(fields)
    return {
        "results": results,
        "hits": hits,
        "facets": facets,
        "chips": chips,
        "clear_url": _url([("q", query.q)] if query.q else []),
        "clear_query_url": _url([pair for pair in base if pair[0] != "q"]),
        "sorts": [
            (value, label) for value, label in SORT_LABELS.items() if value != "relevance" or results.terms
        ],
        "hidden_filters": [pair for pair in base if pair[0] not in ("q", "sort")],
        "pages": _page_links(results, base),
    }


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    try:
        scope = scope_for(request.user)
    except DomainError as exc:
        return error_page(request, exc)
    status = 200
    try:
        query = parse_query(request.GET)
        query = SearchQuery(
            q=query.q, filters=query.filters, sort=query.sort, page=query.page, page_size=PAGE_SIZE
        )
        error = None
    except ValidationFailed as exc:
        query, error, status = SearchQuery(page_size=PAGE_SIZE), exc, 400
    results = run_search(query, scope)
    if (
        results.hits == [] and results.count and query.page > results.num_pages
    ):  # a page past the end: the last one
        query = SearchQuery(
            q=query.q, filters=query.filters, sort=query.sort, page=results.num_pages, page_size=PAGE_SIZE
        )
        results = run_search(query, scope)
    context = {
        **_context(results),
        "error": error,
        "q": query.q if error is None else request.GET.get("q", ""),
    }
    partial = request.htmx and request.htmx.target == "search-panel"
    template = "catalog/search.html#search-panel" if partial else "catalog/search.html"
    return render(request, template, context, status=status)
