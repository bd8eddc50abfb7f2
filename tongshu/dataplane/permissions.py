"""Who may load, read and reveal a resource's data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tongshu.accounts.roles import DEPARTMENT_MANAGER_ROLES, Role

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tongshu.catalog.models import Resource


def can_load_data(actor: Any, resource: Any) -> bool:
    """The provider's data administrators and CDO; an application key of the provider (系统对接)."""
    if actor is None:
        return False
    if getattr(actor, "prefix", None) is not None:  # an ApiKey
        return bool(actor.is_usable and actor.organization_id == resource.provider_id)
    return bool(
        getattr(actor, "is_authenticated", False)
        and actor.is_active
        and actor.organization_id == resource.provider_id
        and actor.has_role(*DEPARTMENT_MANAGER_ROLES)
    )


def can_manage_data_settings(actor: Any, resource: Any) -> bool:
    """The resource's data settings (bad-row policy): the provider's data administrators and CDO, signed in; never an
    application key (a business system pushes data, it does not decide how it is checked)."""
    return getattr(actor, "prefix", None) is None and can_load_data(actor, resource)


def can_view_batches(user: Any, resource: Any) -> bool:
    if (
        getattr(user, "prefix", None) is not None
    ):  # the provider's application key sees the batches it may push
        return bool(user.is_usable and user.organization_id == resource.provider_id)
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.organization_id == resource.provider_id or user.has_role(Role.OPERATOR_ADMIN))
    )


def managed_resources(user: Any) -> QuerySet[Resource]:
    """Published resources whose data the user manages: the own organization's for its data administrators and CDO,
    every organization's for the operator (who sees batches platform-wide)."""
    from tongshu.catalog.models import Resource

    published = Resource.objects.filter(published_version__isnull=False, is_retired=False)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return published.none()
    if user.has_role(Role.OPERATOR_ADMIN):
        return published
    if user.has_role(*DEPARTMENT_MANAGER_ROLES) and user.organization_id:
        return published.filter(provider_id=user.organization_id)
    return published.none()


def can_browse_data(user: Any, resource: Any) -> bool:
    """The provider's own staff browse and download its data (sharing grants widen this in a later issue)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "organization_id", None) is not None
        and user.organization_id == resource.provider_id
        and not user.has_role(Role.PUBLIC)
    )


def can_reveal_data(user: Any, resource: Any) -> bool:
    """Sensitive values are shown unmasked, one audited request at a time, to the provider's data administrators
    and CDO only."""
    return can_browse_data(user, resource) and user.has_role(*DEPARTMENT_MANAGER_ROLES)
