"""The demo's data plane: published population, legal-entity, credit and e-license resources filled with synthetic
records (valid ID numbers and credit codes, real townships), the base libraries assembled from them; deterministic
and idempotent."""

from __future__ import annotations

import pytest

from tongshu.catalog.choices import VersionState
from tongshu.core.checksums import is_valid_resident_id, is_valid_uscc
from tongshu.dataplane import evolution, store
from tongshu.dataplane.models import Batch, BatchStatus, Library
from tongshu.demo import data_plane, organizations, synthetic
from tongshu.standards.loading import load_standards

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs():
    orgs = organizations.load_organizations()
    load_standards()
    organizations.load_accounts(orgs)
    return orgs


def rows(resource):
    resource.refresh_from_db()
    return list(store.read_rows(evolution.read_schema(resource)))


def test_synthetic_records_are_valid_and_deterministic():
    people = list(synthetic.people(300, 7))
    assert people == list(synthetic.people(300, 7))
    assert len({p["resident_id"] for p in people}) == 300
    assert all(is_valid_resident_id(p["resident_id"]) for p in people)
    townships = {row["name"] for row in organizations.townships()}
    assert {p["township"] for p in people} <= townships
    assert all(p["township_code"].startswith("430623") for p in people)
    companies = list(synthetic.companies(50, [p["name"] for p in people], 7))
    assert all(is_valid_uscc(c["credit_code"]) for c in companies)
    assert len({c["credit_code"] for c in companies}) == 50


def test_demo_fills_the_base_libraries_and_loads_once(orgs):
    counts = data_plane.load_data_plane(orgs, people=120, companies=30)
    assert counts["人口基础信息库"] == 120 and counts["法人单位基础信息库"] == 30
    assert counts["社会信用基础信息库"] > 30 and counts["电子证照基础信息库"] >= 30
    libraries = Library.objects.select_related("resource__published_version", "resource__provider")
    assert {lib.resource.published_version.name for lib in libraries} == {
        "人口基础信息库",
        "法人单位基础信息库",
        "社会信用基础信息库",
        "电子证照基础信息库",
    }
    for library in libraries:
        assert library.resource.provider.code == "430623-DSJ"
        assert library.resource.published_version.state == VersionState.PUBLISHED
        assert library.resource.category.code.startswith("10")
        assert library.last_batch.status == BatchStatus.APPLIED
    population = next(lib for lib in libraries if lib.theme == "population").resource
    people = rows(population)
    assert len(people) == 120 and all(is_valid_resident_id(p["resident_id"]) for p in people)
    legal = next(lib for lib in libraries if lib.theme == "legal_entity").resource
    entities = rows(legal)
    assert all(is_valid_uscc(e["credit_code"]) for e in entities)
    assert {e["tax_credit_level"] for e in entities} <= {"A", "B", "M", "C", "D", None}
    assert any(e["tax_credit_level"] for e in entities)  # joined from the tax credit ratings
    # Sources were drafted, submitted and published by their own departments through the catalog.
    gaj = orgs["GAJ"]
    source = population.library.mappings.get().source
    assert (
        source.provider == gaj and source.published_version.transitions.filter(to_state="published").exists()
    )
    batches = Batch.objects.count()
    assert batches == 8 and not Batch.objects.exclude(status=BatchStatus.APPLIED).exists()
    # Loading again changes nothing.
    assert data_plane.load_data_plane(orgs, people=120, companies=30) == {}
    assert Batch.objects.count() == batches


def test_demo_pages_show_the_data(orgs, client_for):
    data_plane.load_data_plane(orgs, people=60, companies=12)
    from tongshu.accounts.models import User

    population = Library.objects.get(theme="population").resource
    operator = client_for(User.objects.get(username="operator"))
    page = operator.get(f"/data/browse/libraries/{population.pk}/").content.decode()
    assert "户籍人口基本信息" in page and "人口基础信息库" in page
    source = population.library.mappings.get().source
    cdo = client_for(User.objects.get(username="cdo"))  # 县公安局's CDO browses its own resource
    browse = cdo.get(f"/data/browse/{source.pk}/")
    assert browse.status_code == 200 and "430623" in browse.content.decode()
    assert (
        client_for(User.objects.get(username="dept_user")).get(f"/data/browse/{source.pk}/").status_code
        == 403
    )
