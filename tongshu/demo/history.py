"""Ninety days of the demo's data plane, replayed in order so every page has a past (issue 5 item 8).

Seven steps a fortnight apart, the first 89 days ago, then a last step now. Each step runs the real services
(uploads through the pipeline, library refreshes, collection reviews) and then moves what it made to the step's day:
the timestamps of its batches, of the resource's last load and of library refreshes (`backdate`). After each step
the real scoring (`quality.scoring.compute_score`) scores every resource that has data, on the data as it then stood,
and records the score at the step's day: that is the 90-day quality history. The audit log keeps the real time of
the load (it is append-only and chained), and so do the data-plane tables' own change timestamps.

What happens over the 90 days: the population registry is loaded with about a fifth of the phone numbers missing,
and later batches add new residents and fill the numbers in; the market register adds companies and deregisters a
few; tax credit ratings (a yearly resource) and township areas (yearly) are loaded once; the e-licenses, a daily
resource, are loaded once two months ago and never again, so they and the library built on them are overdue; the
volunteer register is filled by a closed public collection task and is overdue on its monthly cycle; a second task
is open with submissions awaiting review.

Idempotent: batches carry idempotency keys, libraries skip unchanged refreshes, tasks and sources are found by name;
`data_plane.is_loaded` checks the audit entry written at the very end (a run that stopped half-way resumes: what it
made is found again; a step's scores may then be recorded twice).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from tongshu.accounts.models import Organization, User
from tongshu.catalog.models import Resource, ResourceVersion, VersionTransition
from tongshu.dataplane import libraries
from tongshu.dataplane.models import Batch, Library, ResourceData
from tongshu.quality import overdue
from tongshu.quality.models import QualityScore
from tongshu.quality.scoring import compute_score
from tongshu.security.audit import record
from tongshu.standards.models import ResourceCategory

from . import spatial, synthetic, ways
from .data_plane import LIBRARIES, SEED, SOURCES, cdo_of, published, resource_fields, upload

log = logging.getLogger(__name__)
STEPS, STEP_DAYS = 7, 14  # fortnightly steps over the last 89 days, then one now
LOADED_ACTION = "demo.data_plane_loaded"
# When each source's single load happens (step number); people and companies change at every step.
ONCE = {"ratings": 0, "townships": 1, "licenses": 2}
CLOSED_TASK_STEP = 3


def moments(now: datetime) -> list[datetime]:
    """The steps' times: 09:30 every other week, the first 89 days ago (inside a 90-day window), then `now`."""
    first = timezone.localtime(now - timedelta(days=89))
    first = first.replace(hour=9, minute=30, second=0, microsecond=0)
    return [first + timedelta(days=STEP_DAYS * step) for step in range(STEPS)] + [now]


def people_plan(people: list[dict[str, str]], steps: int) -> list[list[dict[str, str]]]:
    """Rows of each step: 94% of the residents first, about a fifth of them without a phone number; later steps add
    the rest (births, moves) and fill the missing numbers in, a few of which stay missing."""
    plan: list[list[dict[str, str]]] = [[] for _ in range(steps)]
    initial = int(len(people) * 0.94)
    for i, person in enumerate(people[:initial]):
        bucket = (i * 7919) % 100
        if bucket < 22:
            plan[0].append({**person, "phone": ""})
            if bucket >= 2:
                plan[1 + i % (steps - 1)].append(person)
        else:
            plan[0].append(person)
    for j, person in enumerate(people[initial:]):
        plan[1 + j % (steps - 1)].append(person)
    return plan


def companies_plan(companies: list[dict[str, str]], steps: int) -> list[list[dict[str, str]]]:
    """90% registered before the first step, the rest over the following steps; at every later step one company
    changes its registration (every third step a deregistration, otherwise a doubled registered capital)."""
    plan: list[list[dict[str, str]]] = [[] for _ in range(steps)]
    initial = int(len(companies) * 0.9)
    plan[0] = list(companies[:initial])
    for j, company in enumerate(companies[initial:]):
        plan[1 + j % (steps - 1)].append(company)
    for step in range(1, steps):
        company = companies[(step * 37) % initial]
        if step % 3 == 0:
            plan[step].append({**company, "status": "注销"})
        else:
            plan[step].append({**company, "capital": f"{float(company['capital']) * 2:.2f}"})
    return plan


def backdate(batch: Batch | None, moment: datetime) -> None:
    """Move a batch made now to `moment`, and the resource's last load with it when it is the last batch."""
    if batch is None:
        return
    finished = moment + timedelta(seconds=5)
    Batch.objects.filter(pk=batch.pk).update(created_at=moment, started_at=moment, finished_at=finished)
    ResourceData.objects.filter(resource_id=batch.resource_id, last_batch_id=batch.pk).update(
        last_loaded_at=finished
    )


class Replay:
    def __init__(self, orgs: dict[str, Organization], *, people: int, companies: int) -> None:
        self.orgs = orgs
        self.now = timezone.now()
        self.moments = moments(self.now)
        self.authority = User.objects.get(username="authority")
        self.operator = User.objects.get(username="operator")
        self.people = list(synthetic.people(people, SEED))
        adults = [p["name"] for p in self.people if p["birth_date"] < "2000-01-01"]
        self.companies = list(synthetic.companies(companies, adults, SEED))
        self.resources: dict[str, Resource] = {}
        self.libraries: dict[str, Library] = {}
        self.changed: set[str] = set()  # the sources and libraries that got a batch in the current step

    # -- the catalog ---------------------------------------------------------------------------------------------
    def publish(self) -> None:
        """Every source and library resource, published (by its department, through the catalog) two days before
        the first step; the versions' dates are moved there."""
        for key, (department, name, items, summary, cycle) in SOURCES.items():
            org = self.orgs[department]
            category = ResourceCategory.objects.get(organization=org).code
            fields = resource_fields(
                category, name, summary, cycle, conditional=key in ("people", "volunteers")
            )
            self.resources[key] = published(org, name, fields, items, self.authority)
        assert not set(SOURCES) & {spec.key for spec in LIBRARIES}, "one key space for sources and libraries"
        for spec in LIBRARIES:
            fields = resource_fields(
                spec.category, spec.name, spec.summary, spec.cycle, conditional=spec.key == "population"
            )
            self.resources[spec.key] = published(
                self.orgs["DSJ"], spec.name, fields, spec.items, self.authority
            )
        moment = self.moments[0] - timedelta(days=2)
        for resource in self.resources.values():
            versions = ResourceVersion.objects.filter(resource=resource, number=1)
            versions.update(created_at=moment, updated_at=moment, submitted_at=moment, reviewed_at=moment)
            versions.update(published_at=moment)
            VersionTransition.objects.filter(version__resource=resource).update(at=moment)
            Resource.objects.filter(pk=resource.pk).update(created_at=moment)

    # -- the steps -----------------------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        self.publish()
        steps = len(self.moments)
        people = people_plan(self.people, steps)
        companies = companies_plan(self.companies, steps)
        for step, moment in enumerate(self.moments):
            final = step == steps - 1
            self.changed = set()
            self.load("people", people[step], step, moment)
            self.load("companies", companies[step], step, moment)
            for key, when in ONCE.items():
                if when == step:
                    self.load(key, self.once_rows(key, companies[: step + 1]), step, moment)
            if step == CLOSED_TASK_STEP:
                ways.closed_task(self, moment)
            if final:
                ways.open_task(self)
                ways.example_sources(self)
            self.refresh_libraries(moment)
            self.score(None if final else moment + timedelta(hours=2))
        overdue.check_overdue()
        counts = {
            spec.name: ResourceData.objects.filter(resource=self.resources[spec.key])
            .values_list("row_count", flat=True)
            .first()
            or 0
            for spec in LIBRARIES
        }
        record(LOADED_ACTION, actor=self.operator, details={"libraries": counts, "steps": len(self.moments)})
        return counts

    def once_rows(self, key: str, registered: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
        names = {c["credit_code"] for rows in registered for c in rows}
        known = [c for c in self.companies if c["credit_code"] in names]
        if key == "ratings":
            return list(synthetic.credit_ratings(known, (2022, 2023, 2024), SEED))
        if key == "licenses":
            return list(synthetic.licenses(known, SEED))
        return spatial.townships()

    def load(self, key: str, rows: list[dict[str, Any]], step: int, moment: datetime) -> None:
        """One step's batch of a source, by its department's CDO, moved to the step's day (the last step's stays
        now)."""
        if not rows:
            return
        department, _name, items, _summary, _cycle = SOURCES[key]
        batch = upload(cdo_of(self.orgs[department]), self.resources[key], f"{key}-{step}", items, rows)
        if moment is not self.now:
            backdate(batch, moment)
        self.changed.add(key)

    def refresh_libraries(self, moment: datetime) -> None:
        """Declare each library once all its sources hold data, and refresh it when one of them changed in this step
        (as `libraries.refresh_libraries_fed_by` queues it after a source batch; libraries come after their
        sources in `LIBRARIES`)."""
        for spec in LIBRARIES:
            resource = self.resources[spec.key]
            library = Library.objects.filter(resource=resource).first()
            sources = [self.resources[source_key] for source_key, *_ in spec.mappings]
            if library is not None and not self.changed & {source_key for source_key, *_ in spec.mappings}:
                continue
            if library is None:
                if not all(
                    ResourceData.objects.filter(resource=s, row_count__gt=0).exists() for s in sources
                ):
                    continue
                library = libraries.declare_library(
                    self.operator, resource, kind=spec.kind, theme=spec.theme, description=spec.summary
                )
                for (_key, kind, field_map, join_on), source in zip(spec.mappings, sources, strict=True):
                    libraries.add_mapping(
                        self.operator, library, source, kind=kind, field_map=field_map, join_on=join_on
                    )
            batch = libraries.refresh(library, actor=self.operator)
            if batch is not None:
                self.changed.add(spec.key)
            if moment is not self.now:
                backdate(batch, moment + timedelta(minutes=10))
                Library.objects.filter(pk=library.pk).update(last_refreshed_at=moment + timedelta(minutes=10))
            self.libraries[spec.key] = library

    def score(self, at: datetime | None) -> None:
        """Score every resource with data, as it stands now, recorded at `at` (None: now)."""
        for resource in Resource.objects.filter(
            pk__in=[r.pk for r in self.resources.values()], data__row_count__gt=0
        ):
            if at is not None and QualityScore.objects.filter(resource=resource, computed_at=at).exists():
                continue
            fresh = Resource.objects.select_related("published_version", "provider", "data").get(
                pk=resource.pk
            )
            compute_score(fresh, at=at)


__all__ = ["LOADED_ACTION", "Replay", "backdate", "moments"]
