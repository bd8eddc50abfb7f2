"""Who may import and export catalogs: answered here only, for the pages and the API alike, on top of the catalog's
own permissions (`tongshu.catalog.permissions`).

- import a department catalog: whoever edits that department's catalog (its `data_admin` or `cdo`, 第八条), into
  their own organization only;
- export a department catalog: whoever may view it (the department's staff, the authority and the operator);
  with drafts, the department's own staff only (drafts are the department's business until submitted);
- export the county catalog (分目录) for the city: the authority and the operator;
- the DCAT feed of open resources is public (第二十五条).
"""

from __future__ import annotations

from typing import Any

from tongshu.accounts.permissions import is_authenticated
from tongshu.accounts.roles import Role
from tongshu.catalog import permissions as catalog_permissions

COUNTY_ROLES = frozenset({Role.AUTHORITY, Role.OPERATOR_ADMIN})


def can_import_catalog(user: Any, organization: Any) -> bool:
    return organization is not None and catalog_permissions.can_edit_catalog(user, organization)


def can_export_department_catalog(user: Any, organization: Any, *, include_drafts: bool = False) -> bool:
    if organization is None:
        return False
    if include_drafts:
        return catalog_permissions.is_provider_staff(user, organization.pk)
    return catalog_permissions.can_view_department_catalog(user, organization)


def can_export_county_catalog(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(*COUNTY_ROLES)


def can_download_template(user: Any) -> bool:
    return catalog_permissions.is_staff(user)
