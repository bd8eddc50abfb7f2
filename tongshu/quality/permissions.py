"""Who may see and change data quality, answered here only (pages and API alike).

- A resource's quality (scores, rules, last batch's problems) is visible to its provider's staff, to the operator
  (大数据中心, which runs platform-wide quality, 第十五条) and to the authority (which assesses departments).
- Rules are edited by the provider's `data_admin` or `cdo` (谁主管、谁提供、谁负责, 第二十二条).
- The platform-wide page and every department's overdue list: the operator and the authority.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tongshu.accounts.permissions import is_authenticated, manages_organization
from tongshu.accounts.roles import Role
from tongshu.catalog.models import Resource

PLATFORM_ROLES = (Role.OPERATOR_ADMIN, Role.AUTHORITY)
DEPARTMENT_ROLES = (Role.CDO, Role.DATA_ADMIN, Role.DEPT_USER)


def can_view_platform(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(*PLATFORM_ROLES)


def can_view_department(user: Any, organization: Any) -> bool:
    """A department's data dashboard: its own staff, or the operator and the authority."""
    if not is_authenticated(user) or organization is None:
        return False
    if can_view_platform(user):
        return True
    return user.organization_id == organization.pk and user.has_role(*DEPARTMENT_ROLES)


def can_view_overdue(user: Any) -> bool:
    """The overdue list: the operator and the authority (every department), a department's staff (its own)."""
    return can_view_platform(user) or bool(
        is_authenticated(user) and user.organization_id and user.has_role(*DEPARTMENT_ROLES)
    )


def can_view_quality(user: Any, resource: Resource) -> bool:
    return can_view_department(user, resource.provider)


def can_manage_rules(user: Any, resource: Resource) -> bool:
    return manages_organization(user, resource.provider)


def resources_visible_to(user: Any) -> QuerySet[Resource]:
    """Published, live resources whose quality the user may see."""
    resources = Resource.objects.filter(published_version__isnull=False, is_retired=False)
    if can_view_platform(user):
        return resources
    if is_authenticated(user) and user.organization_id and user.has_role(*DEPARTMENT_ROLES):
        return resources.filter(provider_id=user.organization_id)
    return resources.none()
