"""Who may see and do what in the catalog, answered here only (pages and API alike).

- Published resources are visible to every signed-in staff member (the county catalog, 第八条); public accounts see
  the open catalog on the portal, not this one.
- A version that is not published is visible to its provider's staff, and to the authority once it has been
  submitted (a draft nobody submitted is the department's own business).
- Only the provider's `data_admin` or `cdo` edits drafts and starts revisions; only its `cdo` submits; only the
  `authority` returns or publishes (declared once in `choices.TRANSITIONS`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tongshu.accounts.permissions import is_authenticated, manages_organization
from tongshu.accounts.roles import Role

from .choices import EDITABLE_STATES, TRANSITIONS, VersionState
from .models import BusinessSystem, Resource, ResourceVersion

# States a version reaches only after a submission: the authority may see those.
REVIEWED_STATES = frozenset(
    {VersionState.SUBMITTED, VersionState.RETURNED, VersionState.PUBLISHED, VersionState.SUPERSEDED}
)
OPEN_STATES = frozenset({VersionState.DRAFT, VersionState.SUBMITTED, VersionState.RETURNED})


def is_staff(user: Any) -> bool:
    """A signed-in person of an organization (any role but `public`)."""
    return is_authenticated(user) and bool(user.role_codes() - {Role.PUBLIC})


def is_authority(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.AUTHORITY)


def is_provider_staff(user: Any, provider_id: int | None) -> bool:
    return is_staff(user) and provider_id is not None and user.organization_id == provider_id


# -- resources and versions ---------------------------------------------------------------------------------------
def resources_visible_to(user: Any) -> QuerySet[Resource]:
    resources = Resource.objects.all()
    if not is_staff(user):
        return resources.none()
    condition = Q(published_version__isnull=False)
    if user.organization_id:
        condition |= Q(provider_id=user.organization_id)
    if is_authority(user):
        condition |= Q(versions__state__in=REVIEWED_STATES)
    return resources.filter(condition).distinct()


def versions_visible_to(user: Any) -> QuerySet[ResourceVersion]:
    versions = ResourceVersion.objects.all()
    if not is_staff(user):
        return versions.none()
    condition = Q(state__in=[VersionState.PUBLISHED, VersionState.SUPERSEDED])
    if user.organization_id:
        condition |= Q(resource__provider_id=user.organization_id)
    if is_authority(user):
        condition |= Q(state__in=REVIEWED_STATES)
    return versions.filter(condition)


def can_view_resource(user: Any, resource: Resource) -> bool:
    if not is_staff(user):
        return False
    if resource.published_version_id or is_provider_staff(user, resource.provider_id):
        return True
    return is_authority(user) and resource.versions.filter(state__in=REVIEWED_STATES).exists()


def can_view_version(user: Any, version: ResourceVersion) -> bool:
    if not is_staff(user):
        return False
    if version.state in (VersionState.PUBLISHED, VersionState.SUPERSEDED):
        return True
    if is_provider_staff(user, version.resource.provider_id):
        return True
    return is_authority(user) and version.state in REVIEWED_STATES


def can_edit_catalog(user: Any, provider: Any) -> bool:
    """A `data_admin` or `cdo` of the provider itself."""
    return manages_organization(user, provider)


def may_transition(user: Any, version: ResourceVersion, to_state: str) -> bool:
    """Whether `user` may move `version` to `to_state` (TRANSITIONS, plus: department roles act only in their own)."""
    roles = TRANSITIONS.get((version.state, to_state))
    if not roles or not is_authenticated(user) or not user.has_role(*roles):
        return False
    department_roles = {Role.CDO, Role.DATA_ADMIN}
    if user.role_codes() & roles <= department_roles:
        return user.organization_id == version.resource.provider_id
    return True


def can_edit_version(user: Any, version: ResourceVersion) -> bool:
    return version.state in EDITABLE_STATES and can_edit_catalog(user, version.resource.provider)


def can_submit(user: Any, version: ResourceVersion) -> bool:
    return may_transition(user, version, VersionState.SUBMITTED)


def can_review(user: Any, version: ResourceVersion) -> bool:
    return may_transition(user, version, VersionState.PUBLISHED)


def can_withdraw(user: Any, version: ResourceVersion) -> bool:
    return may_transition(user, version, VersionState.WITHDRAWN)


def can_start_revision(user: Any, resource: Resource) -> bool:
    return (
        resource.published_version_id is not None
        and not resource.is_retired
        and can_edit_catalog(user, resource.provider)
    )


def can_retire(user: Any, resource: Resource) -> bool:
    return is_authority(user) and resource.published_version_id is not None and not resource.is_retired


def can_view_review_queue(user: Any) -> bool:
    return is_authority(user)


def can_view_department_catalog(user: Any, organization: Any) -> bool:
    """A department's own staff, and the authority and operator who oversee every department."""
    if not is_staff(user) or organization is None:
        return False
    if user.organization_id == organization.pk:
        return True
    return user.has_role(Role.AUTHORITY, Role.OPERATOR_ADMIN)


def can_edit_settings(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.OPERATOR_ADMIN)


# -- business systems ---------------------------------------------------------------------------------------------
def can_manage_systems(user: Any, organization: Any) -> bool:
    return manages_organization(user, organization)


def can_view_all_systems(user: Any) -> bool:
    return is_authenticated(user) and user.has_role(Role.AUTHORITY, Role.OPERATOR_ADMIN)


def systems_visible_to(user: Any) -> QuerySet[BusinessSystem]:
    systems = BusinessSystem.objects.select_related("organization")
    if can_view_all_systems(user):
        return systems
    if is_staff(user) and user.organization_id:
        return systems.filter(organization_id=user.organization_id)
    return systems.none()


def can_view_system(user: Any, system: BusinessSystem) -> bool:
    return can_view_all_systems(user) or is_provider_staff(user, system.organization_id)


def can_view_systems_report(user: Any) -> bool:
    return can_view_all_systems(user)
