"""Read-side helpers for the management pages: filtered, annotated lists that render without N+1 queries.

Visibility is decided in `permissions.py` (`users_visible_to`, `api_keys_visible_to`); these functions only narrow
an already-scoped queryset by the filters a person chose and attach what the lists display.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from .models import ApiKey, Organization, OrganizationKind, RoleAssignment, User
from .roles import Role

KEY_STATUSES = ("active", "expired", "revoked")


def kind_rank(prefix: str = "") -> Case:
    """Organization types in their declared order (departments, townships, upper level, enterprises, companies)."""
    return Case(
        *(
            When(**{f"{prefix}kind": kind}, then=Value(rank))
            for rank, kind in enumerate(OrganizationKind.values)
        ),
        default=Value(len(OrganizationKind.values)),
        output_field=IntegerField(),
    )


def in_official_order(organizations: QuerySet[Organization]) -> QuerySet[Organization]:
    """Type, then the department number the county gave it, then code: the order of the county's own lists."""
    return organizations.order_by(kind_rank(), F("sequence").asc(nulls_last=True), "code")


def users_in_official_order(users: QuerySet[User]) -> QuerySet[User]:
    """People grouped by organization in the county's order; public accounts (no organization) last."""
    return users.order_by(F("organization__sequence").asc(nulls_last=True), "organization__code", "username")


def _cdo_of(field: str) -> Subquery:
    return Subquery(
        User.objects.filter(organization=OuterRef("pk"), is_active=True, role_assignments__role=Role.CDO)
        .order_by("pk")
        .values(field)[:1]
    )


def organizations_with_figures(organizations: QuerySet[Organization] | None = None) -> QuerySet[Organization]:
    """Organizations with their parent, CDO (name, id) and count of active accounts, in one query."""
    organizations = Organization.objects.all() if organizations is None else organizations
    return organizations.select_related("parent").annotate(
        cdo_full_name=_cdo_of("full_name"),
        cdo_username=_cdo_of("username"),
        cdo_id=_cdo_of("pk"),
        active_user_count=Count("users", filter=Q(users__is_active=True), distinct=True),
    )


def filter_organizations(
    organizations: QuerySet[Organization],
    *,
    q: str = "",
    kind: str = "",
    without_cdo: bool = False,
    status: str = "",
) -> QuerySet[Organization]:
    if q:
        organizations = organizations.filter(
            Q(name__icontains=q)
            | Q(short_name__icontains=q)
            | Q(code__icontains=q)
            | Q(credit_code__iexact=q)
        )
    if kind in OrganizationKind.values:
        organizations = organizations.filter(kind=kind)
    if without_cdo:
        organizations = organizations.filter(pk__in=Organization.objects.without_cdo().values("pk"))
    if status == "active":
        organizations = organizations.filter(is_active=True)
    elif status == "inactive":
        organizations = organizations.filter(is_active=False)
    return organizations


def with_roles(users: QuerySet[User]) -> QuerySet[User]:
    """Prefetch role assignments so that `role_codes()` and the role badges cost one query for the whole page."""
    return users.prefetch_related(
        Prefetch(
            "role_assignments", queryset=RoleAssignment.objects.order_by("role"), to_attr="prefetched_roles"
        )
    )


def remember_roles(users: Iterable[User]) -> list[User]:
    """Fill each user's role cache from the prefetched assignments (see `with_roles`)."""
    users = list(users)
    for user in users:
        assignments = getattr(user, "prefetched_roles", None)
        if assignments is not None:
            user._role_codes = frozenset(a.role for a in assignments)
    return users


def filter_users(
    users: QuerySet[User],
    *,
    q: str = "",
    organization: Organization | None = None,
    role: str = "",
    status: str = "",
) -> QuerySet[User]:
    if q:
        users = users.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(phone__icontains=q))
    if organization is not None:
        users = users.filter(organization=organization)
    if role == "none":
        users = users.filter(role_assignments__isnull=True)
    elif role in Role.values:
        users = users.filter(role_assignments__role=role)
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "inactive":
        users = users.filter(is_active=False)
    elif status == "must_change":
        users = users.filter(is_active=True, must_change_password=True)
    return users.distinct()


def filter_api_keys(
    keys: QuerySet[ApiKey],
    *,
    q: str = "",
    status: str = "",
    organization: Organization | None = None,
) -> QuerySet[ApiKey]:
    if q:
        keys = keys.filter(Q(name__icontains=q) | Q(prefix__istartswith=q.removeprefix("ts_")))
    if organization is not None:
        keys = keys.filter(organization=organization)
    now = timezone.now()
    if status == "active":
        keys = keys.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    elif status == "expired":
        keys = keys.filter(revoked_at__isnull=True, expires_at__lte=now)
    elif status == "revoked":
        keys = keys.filter(revoked_at__isnull=False)
    return keys


def api_key_counts(keys: QuerySet[ApiKey]) -> dict[str, Any]:
    """Active, expired and revoked keys among `keys`, in one query."""
    now = timezone.now()
    live = Q(revoked_at__isnull=True)
    return keys.aggregate(
        active=Count("pk", filter=live & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))),
        expired=Count("pk", filter=live & Q(expires_at__lte=now)),
        revoked=Count("pk", filter=Q(revoked_at__isnull=False)),
        total=Count("pk"),
    )


def parent_choices(exclude: Organization | None = None) -> QuerySet[Organization]:
    """Organizations that may be chosen as a parent: active ones, never the organization itself."""
    choices = in_official_order(Organization.objects.active())
    if exclude is not None and exclude.pk:
        choices = choices.exclude(pk=exclude.pk)
    return choices
