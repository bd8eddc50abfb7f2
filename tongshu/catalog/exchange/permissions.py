"""Who may import and export catalogs: answered here only, for the pages and the API alike.

- import a department catalog: a `data_admin` or `cdo` of that department (第八条: departments compile their own
  catalog), into their own organization only;
- export a department catalog: the department's own staff, and the authority and operator, who oversee every
  catalog; drafts only for the department's `data_admin` / `cdo`;
- export the county catalog (分目录) for the city: the authority and the operator;
- the DCAT feed of open resources is public (第二十五条).
"""

from __future__ import annotations

from typing import Any

from tongshu.accounts.permissions import is_authenticated, manages_organization
from tongshu.accounts.roles import ORGANIZATION_ROLES, Role

COUNTY_ROLES = frozenset({Role.AUTHORITY, Role.OPERATOR_ADMIN})


def can_import_catalog(user: Any, organization: Any) -> bool:
    return manages_organization(user, organization)


def can_export_department_catalog(user: Any, organization: Any, *, include_drafts: bool = False) -> bool:
    if not is_authenticated(user) or organization is None:
        return False
    if include_drafts:
        return manages_organization(user, organization)
    if user.has_role(*COUNTY_ROLES):
        return True
    return user.organization_id == organization.pk and user.has_role(*ORGANIZATION_ROLES)


def can_export_county_catalog(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(*COUNTY_ROLES)


def can_download_template(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(*ORGANIZATION_ROLES)
