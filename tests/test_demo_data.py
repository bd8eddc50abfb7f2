"""The demo's data plane: published population, legal-entity, credit, e-license, volunteer and township resources filled
with synthetic records (valid ID numbers of 华容县 and credit codes, real townships), the base and thematic libraries
assembled from them, 90 days of history (batches, quality scores, overdue resources), collection tasks and example
pull sources; deterministic and idempotent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tongshu.accounts.models import User
from tongshu.catalog.choices import VersionState
from tongshu.catalog.models import Resource
from tongshu.core.checksums import is_valid_resident_id, is_valid_uscc
from tongshu.dataplane import evolution, store
from tongshu.dataplane.geojson import geometry_problem
from tongshu.dataplane.models import Batch, BatchStatus, Library, ResourceData
from tongshu.dataplane.models_sources import CollectionTask, PullSource, SubmissionStatus
from tongshu.demo import data_plane, organizations, spatial, synthetic
from tongshu.quality import overdue
from tongshu.quality.models import QualityScore
from tongshu.quality.summaries import trend
from tongshu.standards.loading import load_standards

pytestmark = pytest.mark.django_db
LIBRARY_NAMES = {
    "人口基础信息库",
    "法人单位基础信息库",
    "社会信用基础信息库",
    "电子证照基础信息库",
    "自然资源和空间地理基础信息库",
    "企业信用画像主题库",
}


@pytest.fixture
def orgs():
    orgs = organizations.load_organizations()
    load_standards()
    organizations.load_accounts(orgs)
    return orgs


@pytest.fixture
def loaded(orgs, settings):
    settings.PULL_ALLOWED_HOSTS = [
        "192.0.2.0/24"
    ]  # as in demo mode (settings.py): the example sources' network
    counts = data_plane.load_data_plane(orgs, people=120, companies=30)
    return orgs, counts


def rows(resource):
    resource.refresh_from_db()
    return list(store.read_rows(evolution.read_schema(resource)))


def resource_named(name):
    return Resource.objects.get(published_version__name=name)


def test_synthetic_records_are_valid_and_deterministic():
    people = list(synthetic.people(300, 7))
    assert people == list(synthetic.people(300, 7))
    assert len({p["resident_id"] for p in people}) == 300
    assert all(is_valid_resident_id(p["resident_id"]) for p in people)
    assert all(
        p["resident_id"].startswith("430623") for p in people
    )  # every demo resident was born in 华容县
    townships = {row["name"] for row in organizations.townships()}
    assert {p["township"] for p in people} <= townships
    assert all(p["township_code"].startswith("430623") for p in people)
    companies = list(synthetic.companies(50, [p["name"] for p in people], 7))
    assert all(is_valid_uscc(c["credit_code"]) for c in companies)
    assert len({c["credit_code"] for c in companies}) == 50


def test_township_geometries_are_valid_geojson():
    records = spatial.townships()
    assert {r["name"] for r in records} == {row["name"] for row in organizations.townships()}
    assert {r["township_code"] for r in records} == {row["code"] for row in organizations.townships()}
    for record in records:
        seat, area = json.loads(record["seat"]), json.loads(record["area"])
        assert geometry_problem(seat) is None and geometry_problem(area) is None
        assert seat["type"] == "Point" and area["type"] == "Polygon"
        lon, lat = seat["coordinates"]
        assert 112.2 < lon < 112.9 and 29.3 < lat < 29.7  # 华容县
        assert "示意" in record["note"]


def test_demo_fills_the_libraries_with_ninety_days_of_history_and_loads_once(loaded):
    orgs, counts = loaded
    assert counts["人口基础信息库"] == 120 and counts["法人单位基础信息库"] == 30
    assert counts["社会信用基础信息库"] > 30 and counts["电子证照基础信息库"] >= 27
    assert counts["自然资源和空间地理基础信息库"] == 14 and counts["企业信用画像主题库"] == 30
    libraries = Library.objects.select_related("resource__published_version", "resource__provider")
    assert {lib.resource.published_version.name for lib in libraries} == LIBRARY_NAMES
    for library in libraries:
        assert library.resource.provider.code == "430623-DSJ"
        assert library.resource.published_version.state == VersionState.PUBLISHED
        assert library.resource.category.code.startswith("20" if library.kind == "thematic" else "10")
        assert library.last_batch.status == BatchStatus.APPLIED
    assert {lib.kind for lib in libraries} == {"base", "thematic"}
    population = next(lib for lib in libraries if lib.theme == "population").resource
    people = rows(population)
    assert len(people) == 120 and all(is_valid_resident_id(p["resident_id"]) for p in people)
    assert all(p["resident_id"].startswith("430623") for p in people)
    legal = next(lib for lib in libraries if lib.theme == "legal_entity").resource
    entities = rows(legal)
    assert all(is_valid_uscc(e["credit_code"]) for e in entities)
    assert {e["tax_credit_level"] for e in entities} <= {"A", "B", "M", "C", "D", None}
    assert any(e["tax_credit_level"] for e in entities)  # joined from the tax credit ratings
    profile = rows(resource_named("企业信用画像主题库"))
    assert any(p["rating_year"] == "2024" and p["tax_credit_level"] for p in profile)
    # The thematic library is assembled from the two base libraries.
    sources = {m.source.published_version.name for m in Library.objects.get(kind="thematic").mappings.all()}
    assert sources == {"法人单位基础信息库", "社会信用基础信息库"}
    # Valid geometries were stored through the geojson rule.
    spatial_rows = rows(resource_named("自然资源和空间地理基础信息库"))
    assert len(spatial_rows) == 14 and all(
        geometry_problem(json.loads(r["area"])) is None for r in spatial_rows
    )
    # Sources were drafted, submitted and published by their own departments through the catalog.
    source = population.library.mappings.get().source
    assert source.provider == orgs["GAJ"]
    assert source.published_version.transitions.filter(to_state="published").exists()
    assert not Batch.objects.exclude(status=BatchStatus.APPLIED).exists()
    check_ninety_days_of_history()
    batches, scores = Batch.objects.count(), QualityScore.objects.count()
    # Loading again changes nothing.
    assert data_plane.load_data_plane(orgs, people=120, companies=30) == {}
    assert (Batch.objects.count(), QualityScore.objects.count()) == (batches, scores)


def check_ninety_days_of_history():
    now = timezone.now()
    people = resource_named("户籍人口基本信息")
    loads = list(
        Batch.objects.filter(resource=people).order_by("created_at").values_list("created_at", flat=True)
    )
    assert len(loads) == 8 and now - loads[0] > timedelta(days=85) and now - loads[-1] < timedelta(hours=1)
    # Scores by the real scoring after each step, at the step's day: completeness grows as phone numbers come in.
    history = list(QualityScore.objects.filter(resource=people).order_by("computed_at"))
    assert len(history) == 8 and history[0].computed_at > loads[0]
    assert history[0].completeness < history[-1].completeness
    assert all(score.consistency == 100.0 for score in history)  # the ID-implied cross rules are scored
    points = trend(Resource.objects.all())
    assert len(points) == 8 and points[0]["day"] <= (now - timedelta(days=85)).date().isoformat()
    # Overdue against their update cycles: the e-licenses (daily, loaded two months ago), the library built on
    # them, and the volunteer register (monthly, last loaded by the closed task six weeks ago).
    late = {
        entry.resource.published_version.name for entry in overdue.overdue_resources(Resource.objects.all())
    }
    assert late == {"电子证照信息", "电子证照基础信息库", "平安志愿者登记信息"}
    licenses = ResourceData.objects.get(resource=resource_named("电子证照信息"))
    assert now - licenses.last_loaded_at > timedelta(days=55)
    assert overdue.open_alerts(Resource.objects.all()).count() == 3  # the daily check ran, to-dos were posted
    assert (
        User.objects.get(username="data_admin").messages.filter(title__contains="平安志愿者登记信息").exists()
    )
    # Publication precedes the first load.
    version = people.published_version
    assert version.published_at < loads[0]


def test_collection_tasks_example_sources_and_pages(loaded, client_for):
    closed = CollectionTask.objects.get(status="closed")
    statuses = sorted(closed.submissions.values_list("status", flat=True))
    assert statuses.count(SubmissionStatus.APPROVED) == 7 and statuses.count(SubmissionStatus.REJECTED) == 1
    assert closed.closed_at == closed.deadline < timezone.now()
    assert all(s.batch.status == BatchStatus.APPLIED for s in closed.submissions.exclude(batch=None))
    assert all(str(closed.deadline.year) in s.notice_text for s in closed.submissions.all())
    volunteers = rows(resource_named("平安志愿者登记信息"))
    assert len(volunteers) == 7 and all(v["resident_id"].startswith("430623") for v in volunteers)
    task = CollectionTask.objects.get(status="open")
    assert task.is_open and task.submissions.filter(status=SubmissionStatus.PENDING).count() == 5
    # Example pull sources: configured for 县公安局, disabled, never run (a demo has nothing to pull from).
    sources = PullSource.objects.filter(resource=resource_named("户籍人口基本信息"))
    assert sorted(sources.values_list("kind", flat=True)) == ["database", "http"]
    assert not sources.filter(is_enabled=True).exists() and not sources.filter(runs__isnull=False).exists()
    assert all("示例" in source.name for source in sources)
    # The pages show them.
    population = Library.objects.get(theme="population").resource
    operator = client_for(User.objects.get(username="operator"))
    page = operator.get(f"/data/browse/libraries/{population.pk}/").content.decode()
    assert "户籍人口基本信息" in page and "人口基础信息库" in page
    libraries = operator.get("/data/browse/libraries/").content.decode()
    assert "企业信用画像主题库" in libraries and "自然资源和空间地理基础信息库" in libraries
    platform = operator.get("/quality/platform/").content.decode()
    assert "电子证照信息" in platform and "平安志愿者登记信息" in platform
    source = population.library.mappings.get().source
    cdo = client_for(User.objects.get(username="cdo"))  # 县公安局's CDO browses its own resource
    browse = cdo.get(f"/data/browse/{source.pk}/")
    assert browse.status_code == 200 and "430623" in browse.content.decode()
    admin = client_for(User.objects.get(username="data_admin"))
    tasks = admin.get("/data/ways/collection/").content.decode()
    assert "华容县平安志愿者常态化招募" in tasks and "华容县第一批平安志愿者招募" in tasks
    assert "户政管理系统数据库（示例，未启用）" in admin.get("/data/ways/sources/").content.decode()
    assert "平安志愿者登记信息" in admin.get("/quality/department/").content.decode()
    assert (
        client_for(User.objects.get(username="dept_user")).get(f"/data/browse/{source.pk}/").status_code
        == 403
    )
