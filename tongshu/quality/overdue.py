"""Timeliness against the update cycle, and overdue resources (第二十二条: providers keep their data up to date).

A resource's last update is its last applied batch. A resource that never had one is not current, whatever its
cycle: its data was due at publication, so it counts as overdue from then on (and scores 0 for timeliness). A loaded
irregular (不定期) resource is never overdue and its timeliness is not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from tongshu.accounts.models import User
from tongshu.accounts.roles import DEPARTMENT_MANAGER_ROLES, Role
from tongshu.catalog.models import Resource
from tongshu.core.models import MessageKind
from tongshu.core.services import complete_todos, notify
from tongshu.dataplane.models import ResourceData
from tongshu.security.audit import record

from .models import OverdueAlert

# Days an update cycle allows (实时 and 每日 both one day).
CYCLE_DAYS = {"01": 1, "02": 1, "03": 7, "04": 31, "05": 92, "06": 183, "07": 366}


@dataclass(frozen=True)
class Timeliness:
    resource: Resource
    last_update: datetime | None
    due_at: datetime | None
    allowed_days: int | None

    @property
    def never_loaded(self) -> bool:
        return self.last_update is None

    def is_overdue(self, now: datetime) -> bool:
        return self.due_at is not None and now > self.due_at

    def days_overdue(self, now: datetime) -> int:
        return max(0, (now - self.due_at).days) if self.due_at is not None else 0

    def score(self, now: datetime) -> float | None:
        """100 within the cycle; past it, the share of the cycle in the time since the last update (twice the cycle
        → 50). None when the cycle is irregular."""
        if self.allowed_days is None:
            return None
        if self.last_update is None:
            return 0.0
        if not self.is_overdue(now):
            return 100.0
        age = (now - self.last_update).total_seconds()
        return round(100.0 * self.allowed_days * 86400 / age, 1)


def topic(resource: Resource) -> str:
    return f"quality.overdue:{resource.pk}"


def with_data(resources: QuerySet[Resource]) -> QuerySet[Resource]:
    """Resources with what `timeliness` reads, in the same query (no query per resource in lists)."""
    return resources.select_related("published_version", "provider", "data").annotate(
        data_loaded_at=F("data__last_loaded_at")
    )


def timeliness(resource: Resource) -> Timeliness:
    version = resource.published_version
    allowed = CYCLE_DAYS.get(version.update_cycle) if version is not None else None
    if hasattr(resource, "data_loaded_at"):  # annotated by `with_data`
        last: datetime | None = resource.data_loaded_at
    else:  # read afresh: an instance may hold a stale (or cached missing) `data` from before a load
        last = (
            ResourceData.objects.filter(resource_id=resource.pk)
            .values_list("last_loaded_at", flat=True)
            .first()
        )
    if last is None:  # never loaded: due since publication
        published = version.published_at if version is not None else None
        return Timeliness(resource=resource, last_update=None, due_at=published, allowed_days=allowed)
    due = last + timedelta(days=allowed) if allowed is not None else None
    return Timeliness(resource=resource, last_update=last, due_at=due, allowed_days=allowed)


def overdue_resources(resources: QuerySet[Resource], now: datetime | None = None) -> list[Timeliness]:
    """The overdue ones among `resources` (published, live), most overdue first."""
    now = now or timezone.now()
    entries = [
        timeliness(resource)
        for resource in with_data(resources.filter(published_version__isnull=False, is_retired=False))
    ]
    overdue = [entry for entry in entries if entry.is_overdue(now)]
    # An overdue entry always has a due date before `now`; `now` only satisfies the type checker.
    return sorted(overdue, key=lambda entry: entry.due_at or now)


def _managers(resource: Resource) -> list[User]:
    return list(
        User.objects.filter(
            organization_id=resource.provider_id,
            is_active=True,
            role_assignments__role__in=DEPARTMENT_MANAGER_ROLES,
        ).distinct()
    )


def check_overdue(now: datetime | None = None) -> list[OverdueAlert]:
    """第二十二条: open an alert for each newly overdue resource, post a to-do to its provider's data administrators
    and CDO, and one notice listing them to the operator's administrators. Safe to run again: an open alert is not
    posted twice."""
    now = now or timezone.now()
    opened = []
    for entry in overdue_resources(Resource.objects.all(), now):
        resource, due_at = entry.resource, entry.due_at
        if due_at is None:  # never: an overdue entry has a due date
            continue
        with transaction.atomic():
            if OverdueAlert.objects.filter(resource=resource, closed_at__isnull=True).exists():
                continue
            alert = OverdueAlert.objects.create(resource=resource, due_at=due_at, opened_at=now)
            name = resource.published_version.name  # type: ignore[union-attr]
            if entry.never_loaded:
                body = (
                    f"信息资源“{name}”（{resource.code}）于 {timezone.localtime(due_at):%Y-%m-%d} 发布，"
                    "至今未加载任何数据。请及时加载和更新数据（第二十二条）。"
                )
            else:
                body = (
                    f"信息资源“{name}”（{resource.code}）按更新周期应于 {timezone.localtime(due_at):%Y-%m-%d} 前更新，"
                    f"已逾期 {entry.days_overdue(now)} 天。请及时维护和更新数据（第二十二条）。"
                )
            notify(
                _managers(resource),
                f"数据更新逾期：{name}",
                body=body,
                link=reverse("quality:resource", args=[resource.pk]),
                kind=MessageKind.TODO,
                topic=topic(resource),
            )
            record(
                "quality.overdue_opened",
                organization=resource.provider,
                target=resource,
                details={"due_at": due_at.isoformat(), "days_overdue": entry.days_overdue(now)},
            )
            opened.append(alert)
    if opened:
        operators = User.objects.filter(is_active=True, role_assignments__role=Role.OPERATOR_ADMIN).distinct()
        names = "、".join(alert.resource.published_version.name for alert in opened[:10])  # type: ignore[union-attr]
        more = f"等 {len(opened)} 项" if len(opened) > 10 else ""
        notify(
            operators,
            f"新增 {len(opened)} 项信息资源更新逾期",
            body=f"{names}{more}未按更新周期更新数据。",
            link=reverse("quality:platform"),
            topic="quality.overdue",
        )
    return opened


def close_overdue(resource: Resource) -> int:
    """A batch was applied: the resource is up to date again; close its alert and its to-do items."""
    closed = OverdueAlert.objects.filter(resource=resource, closed_at__isnull=True).update(
        closed_at=timezone.now()
    )
    if closed:
        complete_todos(topic(resource))
    return closed


def open_alerts(resources: QuerySet[Resource]) -> QuerySet[OverdueAlert]:
    return OverdueAlert.objects.filter(resource__in=resources, closed_at__isnull=True)
