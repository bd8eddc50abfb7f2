"""Reading a search from request parameters, once for the page and the API: the same names, checks and messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tongshu.core.errors import ValidationFailed

from .engine import CHOICE_FACETS, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SORTS, SearchQuery
from .snapshot import FACETS
from .text import MAX_QUERY_LENGTH, MAX_TERMS, query_terms

MAX_PAGE = 10000
MAX_VALUES_PER_FACET = 30
FACET_TITLES = {
    "provider": "部门",
    "category": "信息资源分类",
    "share_type": "共享类型",
    "open_type": "开放类型",
    "update_cycle": "更新周期",
    "format": "资源格式",
    "security_level": "安全级别",
}
_CATEGORY_CODE = re.compile(r"^[0-9A-Za-z]{1,30}$")


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_search_parameter", field=field)


def _values(data: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(data, "getlist", None)
    raw = getlist(name) if getlist else data.get(name, [])
    if isinstance(raw, str | int):
        raw = [raw]
    values: list[str] = []
    for value in raw or []:
        for part in str(value).split(","):  # `share_type=a,b` and `share_type=a&share_type=b` alike
            part = part.strip()
            if part and part not in values:
                values.append(part)
    return values


def _single(data: Mapping[str, Any], name: str) -> str:
    values = _values(data, name)
    if len(values) > 1:
        raise _invalid(name, f"参数 {name} 只能取一个值")
    return values[0] if values else ""


def _positive_int(data: Mapping[str, Any], name: str, default: int, maximum: int) -> int:
    raw = _single(data, name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise _invalid(name, f"参数 {name} 必须是 1 到 {maximum} 之间的整数")
    return int(raw)


def _check_facet(name: str, values: list[str]) -> None:
    if len(values) > MAX_VALUES_PER_FACET:
        raise _invalid(name, f"{FACET_TITLES[name]}最多选择 {MAX_VALUES_PER_FACET} 项")
    if name == "provider":
        for value in values:
            if not value.isdigit():
                raise _invalid(name, f"部门编号无效：{value}")
    elif name == "category":
        for value in values:
            if not _CATEGORY_CODE.match(value):
                raise _invalid(name, f"信息资源分类代码无效：{value}")
    else:
        allowed = {choice.value for choice in CHOICE_FACETS[name]}
        for value in values:
            if value not in allowed:
                raise _invalid(name, f"{FACET_TITLES[name]}取值无效：{value}")


def parse_query(data: Mapping[str, Any]) -> SearchQuery:
    """A SearchQuery from `q`, the facet names, `sort`, `page` and `page_size`; ValidationFailed (400) otherwise."""
    q = " ".join(_values(data, "q")) if len(_values(data, "q")) > 1 else _single(data, "q")
    if len(q) > MAX_QUERY_LENGTH:
        raise _invalid("q", f"搜索词不能超过 {MAX_QUERY_LENGTH} 个字符")
    if len(query_terms(q)) > MAX_TERMS:
        raise _invalid("q", f"搜索词最多 {MAX_TERMS} 个")
    filters: dict[str, tuple[str, ...]] = {}
    for name in FACETS:
        values = _values(data, name)
        if values:
            _check_facet(name, values)
            filters[name] = tuple(values)
    sort = _single(data, "sort")
    if sort and sort not in SORTS:
        raise _invalid(
            "sort", "排序方式无效，可选：relevance（相关度）、published（发布时间）、code（资源代码）"
        )
    return SearchQuery(
        q=q.strip(),
        filters=filters,
        sort=sort,
        page=_positive_int(data, "page", 1, MAX_PAGE),
        page_size=_positive_int(data, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )
