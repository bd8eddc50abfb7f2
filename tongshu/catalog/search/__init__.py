"""Catalog search (catalog issue, item 6) and similar-resource suggestions (item 8).

search(actor, query)            the caller's search: scope from the actor, then run_search
run_search(query, scope)        the search itself (pages, API, later the open-data portal with its own Scope)
parse_query(params)             request parameters → SearchQuery, ValidationFailed on bad input
similar_resources(name, ...)    published resources resembling a draft
index_resource / remove_resource / rebuild_index    index maintenance (receivers, reindex_catalog)
"""

from .engine import FacetValue, Hit, Scope, SearchQuery, SearchResults, run_search
from .indexing import index_resource, rebuild_index, remove_resource
from .params import FACET_TITLES, parse_query
from .services import scope_for, search
from .similar import similar_resources

__all__ = [
    "FACET_TITLES",
    "FacetValue",
    "Hit",
    "Scope",
    "SearchQuery",
    "SearchResults",
    "index_resource",
    "parse_query",
    "rebuild_index",
    "remove_resource",
    "run_search",
    "scope_for",
    "search",
    "similar_resources",
]
