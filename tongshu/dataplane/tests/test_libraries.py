"""Base and thematic libraries: declared mappings (union, join), refresh through the pipeline when a source batch is
applied, lineage page, denials."""

from __future__ import annotations

import pytest

from tongshu.catalog.tests.factories import make_resource
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import evolution, libraries, store, tabs
from tongshu.dataplane.models import (
    Batch,
    BatchMode,
    BatchSource,
    BatchStatus,
    Library,
    RefreshStatus,
    ResourceData,
)
from tongshu.dataplane.tests.helpers import (
    geometry_resource,
    load_csv,
    make_people,
    people_csv,
    person_id,
    tab_bar,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]
LIBRARY_ITEMS = [
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("所属乡镇", "C", "C..20", False, True, False),
    ("低保状态", "C", "C..10", False, False, False),
]


@pytest.fixture
def setup(personas):
    people = make_people(personas.provider_org)
    load_csv(personas.provider_admin, people, people_csv(20))
    migrants = make_people(personas.provider_org, name="流动人口信息")
    load_csv(personas.provider_admin, migrants, people_csv(5, start=18, township="团洲乡"))
    welfare = make_resource(
        personas.consumer_org,
        name="低保对象",
        items=[
            ("公民身份号码", "C", "C18", True, True, True),
            ("保障状态", "C", "C..10", False, False, False),
        ],
    )
    evolution.evolve(welfare, None, welfare.published_version)
    load_csv(personas.consumer_cdo, welfare, f"公民身份号码,保障状态\n{person_id('19800110', 0)},在保\n")
    target = make_resource(personas.operator_org, name="人口基础信息库", items=LIBRARY_ITEMS)
    evolution.evolve(target, None, target.published_version)
    library = libraries.declare_library(personas.operator, target, kind="base", theme="population")
    union = {"f001": "f001", "f002": "f002", "f004": "f003"}
    libraries.add_mapping(personas.operator, library, people, kind="union", field_map=union)
    libraries.add_mapping(personas.operator, library, migrants, kind="union", field_map=union)
    libraries.add_mapping(
        personas.operator, library, welfare, kind="join", field_map={"f002": "f004"}, join_on={"f001": "f001"}
    )
    return people, migrants, welfare, target, library


def live(resource):
    return {row["f001"]: row for row in store.read_rows(evolution.read_schema(resource))}


def test_refresh_assembles_union_and_join_through_the_pipeline(setup):
    people, _migrants, _welfare, target, library = setup
    batch = libraries.refresh(library)
    assert batch.status == BatchStatus.APPLIED and batch.source == BatchSource.LIBRARY
    assert batch.mode == BatchMode.REPLACE
    rows = live(target)
    assert len(rows) == 23  # 20 + 5 with 2 keys in both: the earlier source wins
    assert rows[person_id("19800110", 0)]["f004"] == "在保"
    first_migrant_only = next(r for r in rows.values() if r["f003"] == "团洲乡")
    assert first_migrant_only["f004"] is None
    library.refresh_from_db()
    assert library.refresh_status == RefreshStatus.APPLIED and library.last_batch_id == batch.pk


def test_source_batch_refreshes_the_library(personas, setup, django_capture_on_commit_callbacks):
    people, _migrants, _welfare, target, library = setup
    with django_capture_on_commit_callbacks(execute=True):
        load_csv(personas.provider_admin, people, people_csv(3, start=500))
    library.refresh_from_db()
    assert library.refresh_status == RefreshStatus.APPLIED
    assert len(live(target)) == 26
    # A source record retired by a full replace disappears from the library at the next refresh.
    with django_capture_on_commit_callbacks(execute=True):
        load_csv(personas.provider_admin, people, people_csv(20), mode="replace")
    assert len(live(target)) == 23


def test_refresh_without_source_changes_makes_no_batch(personas, setup, django_capture_on_commit_callbacks):
    people, _migrants, _welfare, target, library = setup
    first = libraries.refresh(library)
    batches = Batch.objects.filter(resource=target).count()
    # Asked again by hand, and after a source batch that changed nothing (the same rows again).
    assert libraries.refresh(library) is None
    with django_capture_on_commit_callbacks(execute=True):
        load_csv(personas.provider_admin, people, people_csv(20))
    assert Batch.objects.filter(resource=target).count() == batches
    library.refresh_from_db()
    assert library.refresh_status == RefreshStatus.APPLIED and library.last_batch_id == first.pk
    assert "没有变化" in library.refresh_message
    assert ResourceData.objects.get(resource=target).last_batch_id == first.pk
    # A real change makes a batch again.
    with django_capture_on_commit_callbacks(execute=True):
        load_csv(personas.provider_admin, people, people_csv(1, start=900))
    assert Batch.objects.filter(resource=target).count() == batches + 1
    library.refresh_from_db()
    assert library.last_batch.inserted == 1 and library.refresh_message == ""


def test_mapping_validation_and_cycles(personas, setup):
    people, _migrants, welfare, target, library = setup
    with pytest.raises(ValidationFailed) as caught:
        libraries.add_mapping(personas.operator, library, welfare, kind="union", field_map={"f002": "f004"})
    assert caught.value.code == "key_not_mapped"
    with pytest.raises(ValidationFailed):
        libraries.add_mapping(personas.operator, library, people, kind="union", field_map={"nope": "f001"})
    with pytest.raises(ValidationFailed):
        libraries.add_mapping(personas.operator, library, welfare, kind="join", field_map={"f002": "f004"})
    with pytest.raises(ValidationFailed) as caught:
        libraries.add_mapping(personas.operator, library, target, kind="union", field_map={"f001": "f001"})
    assert caught.value.code == "mapping_cycle"
    # A library built on this library cannot become one of its sources.
    thematic_target = make_resource(personas.operator_org, name="主题库", items=LIBRARY_ITEMS)
    thematic = libraries.declare_library(personas.operator, thematic_target, kind="thematic", theme="other")
    libraries.add_mapping(personas.operator, thematic, target, kind="union", field_map={"f001": "f001"})
    with pytest.raises(ValidationFailed) as caught:
        libraries.add_mapping(
            personas.operator, library, thematic_target, kind="union", field_map={"f001": "f001"}
        )
    assert caught.value.code == "mapping_cycle"


def test_denials(personas, setup, client_for):
    people, _migrants, _welfare, target, library = setup
    for persona in (personas.outsider, personas.consumer_user, personas.auditor, personas.provider_admin):
        with pytest.raises(PermissionDenied):
            libraries.declare_library(persona, target, kind="base", theme="population")
        with pytest.raises(PermissionDenied):
            libraries.request_refresh(persona, library)
    response = client_for(personas.outsider).post(f"/data/browse/libraries/{target.pk}/refresh/")
    assert response.status_code == 403
    assert client_for(personas.citizen).get("/data/browse/libraries/").status_code == 403


def test_lineage_page(personas, setup, client_for):
    people, _migrants, _welfare, target, library = setup
    libraries.refresh(library)
    client = client_for(personas.provider_admin)
    body = client.get(f"/data/browse/libraries/{target.pk}/").content.decode()
    assert "户籍人口基本信息" in body and "流动人口信息" in body and "低保对象" in body
    assert client.get("/data/browse/libraries/").status_code == 200
    operator = client_for(personas.operator)
    response = operator.post(f"/data/browse/libraries/{target.pk}/refresh/")
    assert response.status_code == 302
    assert Library.objects.get(pk=library.pk).last_batch.status == BatchStatus.APPLIED


def test_lineage_page_sits_under_the_data_browse_tab(personas, setup, client_for):
    """The lineage page is reached from the data browse tab's "Lineage" button: it shows the tabs tabs.py lets the
    user open, data browse active when the user may browse; who may not see libraries is refused as before."""
    _people, _migrants, _welfare, target, _library = setup
    url = f"/data/browse/libraries/{target.pk}/"
    operator = client_for(personas.operator)  # of the library's own department
    response = operator.get(url)
    expected = [tab.key for tab in tabs.data_tabs(personas.operator, target)]
    assert response.status_code == 200 and "browse" in expected
    assert tab_bar(response) == (expected, "browse")
    assert 'data-testid="browse-tab" class="active"' in response.content.decode()
    # Another department's staff see the lineage but only the tabs they may open (here none of the library's).
    other = client_for(personas.provider_admin)
    response = other.get(url)
    assert response.status_code == 200 and "流动人口信息" in response.content.decode()
    assert tab_bar(response) == ([tab.key for tab in tabs.data_tabs(personas.provider_admin, target)], "")
    assert "browse" not in tab_bar(response)[0] and "upload" not in tab_bar(response)[0]
    denied = client_for(personas.citizen).get(url)
    assert denied.status_code == 403 and tab_bar(denied) == ([], "")
    assert client_for(personas.outsider).post(f"{url}refresh/").status_code == 403


def test_geojson_geometry_rule(personas):
    """自然资源和空间地理: an item bound to the data element 几何 (check rule geojson) takes only GeoJSON geometry."""
    from tongshu.dataplane.geojson import is_valid_geometry

    assert is_valid_geometry('{"type": "Point", "coordinates": [112.56, 29.52]}')
    assert is_valid_geometry(
        '{"type": "Polygon", "coordinates": [[[112, 29], [113, 29], [113, 30], [112, 29]]]}'
    )
    assert not is_valid_geometry('{"type": "Polygon", "coordinates": [[[112, 29], [113, 29], [113, 30]]]}')
    assert not is_valid_geometry('{"type": "Point", "coordinates": [200, 29]}')
    assert not is_valid_geometry('{"coordinates": [1, 2]}') and not is_valid_geometry("不是JSON")
    parcels = geometry_resource(personas.provider_org)
    good = '地块编号,几何\nD1,"{""type"": ""Point"", ""coordinates"": [112.56, 29.52]}"\n'
    assert load_csv(personas.provider_admin, parcels, good).status == BatchStatus.APPLIED
    bad = '地块编号,几何\nD2,"{""type"": ""Point""}"\n'
    batch = load_csv(personas.provider_admin, parcels, bad)
    assert batch.status == BatchStatus.REJECTED and batch.error_sample[0]["code"] == "geojson"
    assert len(live(parcels)) == 1


def test_geometries_are_drawn_on_the_data_page(personas, client_for):
    """A geometry item shows a small drawing of the shape (inline SVG, north up, fitted to its box) with the GeoJSON
    text folded beside it; a value that is not a geometry is shown as text."""
    from tongshu.dataplane.geojson import outline

    square = outline(
        '{"type": "Polygon", "coordinates": [[[112, 29], [113, 29], [113, 30], [112, 30], [112, 29]]]}'
    )
    assert square is not None and square["d"].startswith("M") and square["d"].count("L") == 4
    corners = [tuple(map(float, p.strip("ML ").split(","))) for p in square["d"].split(" ")]
    assert all(0 <= x <= 96 and 0 <= y <= 48 for x, y in corners)
    assert corners[0][1] > corners[2][1]  # the southern edge is drawn below the northern one
    point = outline('{"type": "Point", "coordinates": [112.56, 29.52]}')
    assert point is not None and point["d"] == "" and len(point["dots"]) == 1
    assert outline("不是JSON") is None and outline(None) is None
    parcels = geometry_resource(personas.provider_org)
    polygon = '{""type"": ""Polygon"", ""coordinates"": [[[112, 29], [113, 29], [113, 30], [112, 29]]]}'
    load_csv(personas.provider_admin, parcels, f'地块编号,几何\nD1,"{polygon}"\n')
    page = client_for(personas.provider_admin).get(f"/data/browse/{parcels.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and body.count('data-testid="shape"') == 1
    assert "<svg" in body and '<path d="M' in body and "GeoJSON" in body
    assert client_for(personas.outsider).get(f"/data/browse/{parcels.pk}/").status_code in (403, 404)
