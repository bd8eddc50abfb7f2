"""`GET /api/v1/catalog/search`: the catalog search of the pages, for business systems and scripts.

Signed-in staff (session) and organization application keys; anonymous callers get 401, public accounts 403.
Parameters are read by the same `parse_query` as the search page: repeat a facet parameter (or separate values with
commas) to choose several values of it; values of one facet combine with OR, facets with AND.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tongshu.core.api_auth import calling_key

from .search import parse_query, search
from .search.present import hit_fields

router = Router(tags=["catalog"])


class FacetValueOut(Schema):
    value: str
    label: str
    count: int
    selected: bool


class SearchResultOut(Schema):
    id: int
    code: str
    name: str
    summary: str
    provider_id: int
    provider_name: str
    category_code: str
    category_name: str
    share_type: str
    share_type_label: str
    open_type: str
    open_type_label: str
    update_cycle: str
    update_cycle_label: str
    format: str
    format_label: str
    security_level: str
    security_level_label: str
    published_at: datetime | None
    score: int
    matched_items: list[str]


class SearchOut(Schema):
    count: int
    page: int
    page_size: int
    num_pages: int
    sort: str
    terms: list[str]
    results: list[SearchResultOut]
    facets: dict[str, list[FacetValueOut]]


class SearchParams(Schema):
    """Documented here for the OpenAPI page; read by the same `parse_query` as the search page."""

    q: str = Field(
        "", description="搜索词：名称、摘要、信息项、提供部门、关键词、资源代码；空格分隔的词须同时出现"
    )
    provider: list[str] = Field([], description="提供部门（机构 id）")
    category: list[str] = Field([], description="信息资源分类代码（含下级分类）")
    share_type: list[str] = Field([], description="共享类型：unconditional / conditional / none")
    open_type: list[str] = Field([], description="开放类型：unconditional / conditional / none")
    update_cycle: list[str] = Field([], description="更新周期代码：01 实时 … 07 每年，99 不定期")
    format: list[str] = Field([], description="资源格式分类代码：1 电子文件 … 9 其他")
    security_level: list[str] = Field([], description="安全级别：general-1 … core")
    sort: str = Field("", description="relevance（有搜索词时默认）/ published（无搜索词时默认）/ code")
    page: str = Field("1", description="页码，从 1 开始")
    page_size: str = Field("20", description="每页条数，1–100")


@router.get("", response=SearchOut, summary="检索信息资源目录")
def search_catalog(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    actor = calling_key(request) or request.auth
    results = search(actor, parse_query(request.GET))
    return {
        "count": results.count,
        "page": results.page,
        "page_size": results.page_size,
        "num_pages": results.num_pages,
        "sort": results.sort,
        "terms": results.terms,
        "results": [hit_fields(hit, results.category_names) for hit in results.hits],
        "facets": {
            name: [
                {"value": v.value, "label": v.label, "count": v.count, "selected": v.selected} for v in values
            ]
            for name, values in results.facets.items()
        },
    }
