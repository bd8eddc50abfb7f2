"""Who may do what with organizations, users, roles and API keys: answered here only, for pages and API alike."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import ApiKey, Organization, User
from .roles import DEPARTMENT_MANAGER_ROLES, Role


def is_authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def can_manage_organizations(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.OPERATOR_ADMIN)


def can_manage_users(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.OPERATOR_ADMIN)


def can_grant_roles(user: Any) -> bool:
    """Only the security administrator grants and revokes roles (三员分立)."""
    return is_authenticated(user) and user.has_role(Role.SECURITY_ADMIN)


def can_view_directory(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.OPERATOR_ADMIN, Role.SECURITY_ADMIN)


def manages_organization(user: Any, organization: Organization | None) -> bool:
    """The user is a `data_admin` or `cdo` of this very organization."""
    return (
        is_authenticated(user)
        and organization is not None
        and user.organization_id == organization.pk
        and user.has_role(*DEPARTMENT_MANAGER_ROLES)
    )


def can_create_api_key(user: Any, organization: Organization | None) -> bool:
    if organization is None:
        return is_authenticated(user) and user.has_role(Role.PUBLIC) and user.organization_id is None
    return manages_organization(user, organization)


def can_revoke_api_key(user: Any, key: ApiKey) -> bool:
    if not is_authenticated(user):
        return False
    if user.has_role(Role.SECURITY_ADMIN):
        return True
    if key.owner_id is not None:
        return key.owner_id == user.pk
    return manages_organization(user, key.organization)


def api_keys_visible_to(user: Any) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("organization", "owner", "created_by")
    if not is_authenticated(user):
        return keys.none()
    if user.has_role(Role.SECURITY_ADMIN):
        return keys
    condition = Q(owner=user)
    if user.organization_id and user.has_role(*DEPARTMENT_MANAGER_ROLES):
        condition |= Q(organization_id=user.organization_id, owner__isnull=True)
    return keys.filter(condition)


def users_visible_to(user: Any) -> QuerySet[User]:
    users = User.objects.select_related("organization")
    if not is_authenticated(user):
        return users.none()
    if user.has_role(Role.OPERATOR_ADMIN, Role.SECURITY_ADMIN):
        return users
    if user.organization_id and user.has_role(*DEPARTMENT_MANAGER_ROLES):
        return users.filter(organization_id=user.organization_id)
    return users.filter(pk=user.pk)


# --- Management pages ------------------------------------------------------------------------------------------------


def can_view_organizations(user: Any) -> bool:
    """The organizations pages belong to the system administrator (operator) alone."""
    return can_manage_organizations(user)


def can_view_users(user: Any) -> bool:
    """Who may open the users page: the operator (manages), the security administrator (read-only, grants roles) and
    an organization's CDO or data administrator (their own organization's people, read-only)."""
    if not is_authenticated(user):
        return False
    if user.has_role(Role.OPERATOR_ADMIN, Role.SECURITY_ADMIN):
        return True
    return bool(user.organization_id) and user.has_role(*DEPARTMENT_MANAGER_ROLES)


def sees_all_users(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.OPERATOR_ADMIN, Role.SECURITY_ADMIN)


def can_view_api_keys(user: Any) -> bool:
    """The API-key page: the security administrator (all keys), an organization's CDO or data administrator (their
    organization's keys) and a public account (its own keys)."""
    if not is_authenticated(user):
        return False
    if user.has_role(Role.SECURITY_ADMIN):
        return True
    if user.organization_id:
        return user.has_role(*DEPARTMENT_MANAGER_ROLES)
    return user.has_role(Role.PUBLIC)


def sees_all_api_keys(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.SECURITY_ADMIN)
