"""Home-page panels per role, with real figures from the database (each panel costs a handful of queries, never
one per row). Registered in AccountsConfig.ready()."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from tongshu.core.dashboards import register
from tongshu.core.models import Heartbeat, Message, MessageKind
from tongshu.security.models import AuditEntry

from . import permissions, queries
from .models import CDO_REQUIRED_KINDS, ApiKey, Organization, OrganizationKind, RoleAssignment, User
from .roles import SEPARATED_ROLES, Role

HEARTBEAT_MAX_AGE = timedelta(minutes=2)
LOGIN_FAILED = "login.failed"
LOCKED_OUT = "login.locked_out"


def _start_of_today() -> Any:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def process_health() -> list[dict[str, Any]]:
    """The task worker and the scheduler, from their heartbeats (one query)."""
    beats = {beat.name: beat for beat in Heartbeat.objects.filter(name__in=("worker", "scheduler"))}
    now = timezone.now()
    rows = []
    for name in ("worker", "scheduler"):
        beat = beats.get(name)
        if beat is None:
            status = "not_seen"
        else:
            status = "ok" if now - beat.last_seen <= HEARTBEAT_MAX_AGE else "stale"
        rows.append({"name": name, "status": status, "last_seen": beat.last_seen if beat else None})
    return rows


def lockout_events(since: Any) -> int:
    """Account lockouts since `since`: django-axes' failure log when it is kept, else the audit log."""
    if settings.AXES_ENABLE_ACCESS_FAILURE_LOG:
        from axes.models import AccessFailureLog

        return (
            AccessFailureLog.objects.filter(locked_out=True, attempt_time__gte=since)
            .values("username", "ip_address")
            .distinct()
            .count()
        )
    return AuditEntry.objects.filter(action=LOCKED_OUT, created_at__gte=since).count()


def _org_cdo_rows(organizations: Any) -> list[Organization]:
    return list(queries.in_official_order(queries.organizations_with_figures(organizations)))


@register("accounts.operator", {Role.OPERATOR_ADMIN}, "accounts/panels/operator.html", order=10)
def operator_panel(user: Any) -> dict[str, Any]:
    by_kind = {
        row["kind"]: row["n"] for row in Organization.objects.active().values("kind").annotate(n=Count("pk"))
    }
    accounts = User.objects.aggregate(
        active=Count("pk", filter=Q(is_active=True), distinct=True),
        inactive=Count("pk", filter=Q(is_active=False), distinct=True),
        awaiting=Count("pk", filter=Q(is_active=True, must_change_password=True), distinct=True),
        without_role=Count("pk", filter=Q(is_active=True, role_assignments__isnull=True), distinct=True),
    )
    return {
        "kinds": [
            {"code": code, "label": label, "count": by_kind.get(code, 0)}
            for code, label in OrganizationKind.choices
        ],
        "organization_total": sum(by_kind.values()),
        "accounts": accounts,
        "without_cdo": list(queries.in_official_order(Organization.objects.without_cdo())),
        "processes": process_health(),
    }


@register("accounts.security", {Role.SECURITY_ADMIN}, "accounts/panels/security.html", order=10)
def security_panel(user: Any) -> dict[str, Any]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    by_role = {
        row["role"]: row["n"]
        for row in RoleAssignment.objects.filter(user__is_active=True).values("role").annotate(n=Count("pk"))
    }
    with_totp = TOTPDevice.objects.filter(confirmed=True).values("user_id")
    admins_without_totp = queries.remember_roles(
        queries.with_roles(
            User.objects.filter(is_active=True, role_assignments__role__in=SEPARATED_ROLES)
            .exclude(pk__in=with_totp)
            .select_related("organization")
            .distinct()
            .order_by("username")
        )
    )
    return {
        "roles": [
            {"code": code, "label": label, "count": by_role.get(code, 0)} for code, label in Role.choices
        ],
        "admins_without_totp": admins_without_totp,
        "keys": queries.api_key_counts(ApiKey.objects.all()),
        "lockouts": lockout_events(timezone.now() - timedelta(hours=24)),
        "recent_grants": list(
            RoleAssignment.objects.select_related("user", "user__organization", "granted_by").order_by(
                "-granted_at", "-pk"
            )[:5]
        ),
        "refusals": AuditEntry.objects.filter(
            action="role.grant_refused", created_at__gte=timezone.now() - timedelta(days=7)
        ).count(),
    }


@register("accounts.auditor", {Role.AUDITOR}, "accounts/panels/auditor.html", order=10)
def auditor_panel(user: Any) -> dict[str, Any]:
    today = _start_of_today()
    figures = AuditEntry.objects.filter(created_at__gte=today).aggregate(
        entries=Count("pk"),
        failures=Count("pk", filter=Q(action=LOGIN_FAILED)),
        lockouts=Count("pk", filter=Q(action=LOCKED_OUT)),
        role_changes=Count("pk", filter=Q(action__startswith="role.")),
    )
    recent = list(
        AuditEntry.objects.filter(
            Q(action__startswith="role.")
            | Q(action__startswith="user.")
            | Q(action__startswith="organization.")
            | Q(action__startswith="api_key.")
            | Q(action=LOCKED_OUT)
        ).order_by("-id")[:8]
    )
    return {**figures, "recent": recent, "unsealed": AuditEntry.objects.filter(seq__isnull=True).count()}


@register("accounts.authority", {Role.AUTHORITY}, "accounts/panels/authority.html", order=10)
def authority_panel(user: Any) -> dict[str, Any]:
    rows = _org_cdo_rows(Organization.objects.active().filter(kind__in=CDO_REQUIRED_KINDS))
    missing = [row for row in rows if not getattr(row, "cdo_id", None)]
    return {
        "departments": [row for row in rows if row.kind == OrganizationKind.DEPARTMENT],
        "townships": [row for row in rows if row.kind == OrganizationKind.TOWNSHIP],
        "total": len(rows),
        "with_cdo": len(rows) - len(missing),
        "missing": missing,
    }


@register(
    "accounts.own_organization",
    {Role.CDO, Role.DATA_ADMIN, Role.DEPT_USER},
    "accounts/panels/own_organization.html",
    order=10,
)
def own_organization_panel(user: Any) -> dict[str, Any]:
    todos = list(
        Message.objects.filter(recipient=user, kind=MessageKind.TODO, done_at__isnull=True).order_by(
            "deadline", "-created_at"
        )[:6]
    )
    if user.organization_id is None:
        return {"organization": None, "todos": todos}
    [organization] = queries.organizations_with_figures(Organization.objects.filter(pk=user.organization_id))
    return {
        "organization": organization,
        "keys": queries.api_key_counts(ApiKey.objects.filter(organization=organization)),
        "todos": todos,
        "can_see_users": permissions.can_view_users(user),
        "can_see_keys": permissions.can_view_api_keys(user),
    }


@register("accounts.org_staff", {Role.CDO}, "accounts/panels/org_staff.html", order=20)
def org_staff_panel(user: Any) -> dict[str, Any]:
    if user.organization_id is None:
        return {"members": []}
    members = queries.remember_roles(
        queries.with_roles(
            User.objects.filter(organization_id=user.organization_id, is_active=True)
        ).order_by("username")
    )
    has_data_admin = any(Role.DATA_ADMIN in member.role_codes() for member in members)
    return {"members": members, "has_data_admin": has_data_admin}


@register("accounts.org_keys", {Role.CDO, Role.DATA_ADMIN}, "accounts/panels/org_keys.html", order=30)
def org_keys_panel(user: Any) -> dict[str, Any]:
    now = timezone.now()
    keys = ApiKey.objects.filter(organization_id=user.organization_id, owner__isnull=True)
    live = keys.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    return {
        "keys": list(live.order_by("expires_at", "-created_at")[:6]),
        "expiring": live.filter(expires_at__lte=now + timedelta(days=30)).count(),
        "unused": live.filter(last_used_at__isnull=True).count(),
        "soon": now + timedelta(days=30),
    }


@register("accounts.inspector", {Role.INSPECTOR}, "accounts/panels/inspector.html", order=10)
def inspector_panel(user: Any) -> dict[str, Any]:
    today = _start_of_today()
    since = today - timedelta(days=6)
    entries = AuditEntry.objects.filter(created_at__gte=since, action__in=(LOGIN_FAILED, LOCKED_OUT))
    per_day: dict[Any, dict[str, Any]] = {
        row["day"]: dict(row)
        for row in entries.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            failures=Count("pk", filter=Q(action=LOGIN_FAILED)),
            lockouts=Count("pk", filter=Q(action=LOCKED_OUT)),
        )
    }
    days = []
    for offset in range(6, -1, -1):
        day = (today - timedelta(days=offset)).date()
        row = per_day.get(day, {})
        days.append({"day": day, "failures": row.get("failures", 0), "lockouts": row.get("lockouts", 0)})
    peak = max([d["failures"] for d in days] + [1])
    for d in days:
        d["width"] = round(100 * d["failures"] / peak)
    top_accounts = list(
        entries.filter(action=LOGIN_FAILED)
        .exclude(actor_name="")
        .values("actor_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "actor_name")[:5]
    )
    top_addresses = list(
        entries.filter(action=LOGIN_FAILED)
        .exclude(client_ip="")
        .values("client_ip")
        .annotate(n=Count("pk"))
        .order_by("-n", "client_ip")[:5]
    )
    return {
        "days": days,
        "failures": sum(d["failures"] for d in days),
        "lockouts": sum(d["lockouts"] for d in days),
        "top_accounts": top_accounts,
        "top_addresses": top_addresses,
    }


@register("accounts.public", {Role.PUBLIC}, "accounts/panels/public.html", order=10)
def public_panel(user: Any) -> dict[str, Any]:
    keys = permissions.api_keys_visible_to(user)
    return {"keys": queries.api_key_counts(keys), "recent": list(keys.order_by("-created_at")[:5])}
