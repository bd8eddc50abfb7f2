"""Figures the quality pages, home panels and API share: per-resource rows, averages, trends (a constant number of
queries however many resources)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tongshu.catalog.models import Resource

from .models import QualityScore
from .overdue import timeliness, with_data
from .services import with_latest_scores


@dataclass(frozen=True)
class ResourceRow:
    resource: Resource
    name: str
    cycle: str
    last_update: datetime | None
    due_at: datetime | None
    is_overdue: bool
    days_overdue: int
    never_loaded: bool
    overall: float | None
    previous: float | None
    computed_at: datetime | None

    @property
    def trend(self) -> float | None:
        if self.overall is None or self.previous is None:
            return None
        return round(self.overall - self.previous, 1)


def resource_rows(resources: QuerySet[Resource], now: datetime | None = None) -> list[ResourceRow]:
    now = now or timezone.now()
    rows = []
    for resource in with_latest_scores(with_data(resources)).order_by("provider__code", "code"):
        timely = timeliness(resource)
        version = resource.published_version
        rows.append(
            ResourceRow(
                resource=resource,
                name=version.name if version else str(resource),
                cycle=version.get_update_cycle_display() if version else "",
                last_update=timely.last_update,
                due_at=timely.due_at,
                is_overdue=timely.is_overdue(now),
                days_overdue=timely.days_overdue(now),
                never_loaded=timely.never_loaded,
                overall=resource.latest_overall,  # type: ignore[attr-defined]
                previous=resource.previous_overall,  # type: ignore[attr-defined]
                computed_at=resource.latest_computed_at,  # type: ignore[attr-defined]
            )
        )
    return rows


def average(values: list[float | None]) -> float | None:
    measured = [value for value in values if value is not None]
    return round(sum(measured) / len(measured), 1) if measured else None


def summary(rows: list[ResourceRow]) -> dict[str, Any]:
    return {
        "resources": len(rows),
        "scored": sum(1 for row in rows if row.overall is not None),
        "average": average([row.overall for row in rows]),
        "overdue": sum(1 for row in rows if row.is_overdue),
    }


def by_department(rows: list[ResourceRow]) -> list[dict[str, Any]]:
    departments: dict[int, dict[str, Any]] = {}
    for row in rows:
        provider = row.resource.provider
        entry = departments.setdefault(provider.pk, {"organization": provider, "rows": []})
        entry["rows"].append(row)
    result = [
        {"organization": entry["organization"], **summary(entry["rows"])} for entry in departments.values()
    ]
    return sorted(result, key=lambda entry: (-entry["overdue"], entry["average"] or 0))


def dimension_averages(resources: QuerySet[Resource]) -> dict[str, float | None]:
    """The mean of each dimension over the resources' latest scores."""
    from django.db.models import OuterRef, Subquery

    latest = (
        QualityScore.objects.filter(resource=OuterRef("resource"))
        .order_by("-computed_at", "-pk")
        .values("pk")[:1]
    )
    scores = QualityScore.objects.filter(resource__in=resources, pk=Subquery(latest))
    figures = scores.aggregate(
        completeness=Avg("completeness"),
        validity=Avg("validity"),
        uniqueness=Avg("uniqueness"),
        consistency=Avg("consistency"),
        timeliness=Avg("timeliness"),
    )
    return {name: round(value, 1) if value is not None else None for name, value in figures.items()}


def trend(resources: QuerySet[Resource], days: int = 90) -> list[dict[str, Any]]:
    """The daily mean overall score over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    daily = (
        QualityScore.objects.filter(resource__in=resources, computed_at__gte=since, overall__isnull=False)
        .annotate(day=TruncDate("computed_at"))
        .values("day")
        .annotate(average=Avg("overall"))
        .order_by("day")
    )
    return [{"day": entry["day"].isoformat(), "average": round(entry["average"], 1)} for entry in daily]
