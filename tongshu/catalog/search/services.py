"""Who may search the catalog, and the search a person or an application makes.

The county catalog (分目录, 第八条) is the union of the published department catalogs; every department's staff
browse all of it, so any signed-in staff member sees every published resource (drafts never reach the index). An
application key issued to an organization searches as its organization's staff would. Public accounts and keys of
public accounts will search the open-data portal (a later issue) with their own `Scope`; here they are refused.
"""

from __future__ import annotations

from typing import Any

from tongshu.accounts.models import ApiKey
from tongshu.accounts.roles import Role
from tongshu.core.errors import NotAuthenticated, PermissionDenied

from .engine import Scope, SearchQuery, SearchResults, run_search

STAFF_SCOPE = Scope()


def scope_for(actor: Any) -> Scope:
    """The resources `actor` (a user or an ApiKey) may find; NotAuthenticated / PermissionDenied otherwise."""
    if isinstance(actor, ApiKey):
        if actor.organization_id is None:
            raise PermissionDenied("公众应用密钥无权检索政务信息资源目录", code="catalog_search_forbidden")
        return STAFF_SCOPE
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise NotAuthenticated("请先登录")
    if not actor.role_codes() - {Role.PUBLIC}:
        raise PermissionDenied(
            "只有政务部门工作人员可以检索政务信息资源目录", code="catalog_search_forbidden"
        )
    return STAFF_SCOPE


def search(actor: Any, query: SearchQuery) -> SearchResults:
    """Search the published catalog as `actor` sees it (第八条: one county catalog, shared by all departments)."""
    return run_search(query, scope_for(actor))
