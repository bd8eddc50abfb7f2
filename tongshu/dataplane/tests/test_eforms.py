"""Electronic forms (第十九条(三)): add, edit and retire records by hand, each a one-row batch; the engine's findings
come back by field; only the provider's data_admin/CDO; pages work without JavaScript."""

from __future__ import annotations

import pytest

from tongshu.catalog.models import InfoItem
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import eforms, store, tabs
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.schema import schema_for_version

from .helpers import tab_bar
from .sources_kit import live_rows, small_resource

pytestmark = pytest.mark.django_db
GOOD = {"f001": "C001", "f002": "章华镇便民服务点", "f003": "2024-03-01", "f004": "12"}


@pytest.fixture
def resource(personas):
    resource = small_resource(personas.provider_org)
    InfoItem.objects.filter(version=resource.published_version, field_name="f002").update(is_required=True)
    return resource


def test_add_edit_retire(personas, resource):
    batch = eforms.save_record(personas.provider_admin, resource, GOOD)
    assert batch.source == "eform" and batch.status == BatchStatus.APPLIED and batch.inserted == 1
    rows, has_next = eforms.list_records(personas.provider_admin, resource)
    assert len(rows) == 1 and not has_next
    rid = rows[0]["_rid"]
    batch = eforms.save_record(personas.provider_cdo, resource, {**GOOD, "f002": "改名"}, rid=rid)
    assert batch.updated == 1 and live_rows(resource) == [("C001", "改名")]
    batch = eforms.retire_record(personas.provider_admin, resource, rid, reason="服务点撤并")
    assert batch.status == BatchStatus.APPLIED and batch.retired == 1 and batch.source == "eform"
    assert live_rows(resource) == []
    # The retired row is still there as of the edit batch, and the data-plane marker records the retire batch.
    schema = schema_for_version(resource.published_version)
    as_of = list(store.read_rows(schema, as_of_batch=batch.pk - 1))
    assert [r["f002"] for r in as_of] == ["改名"]
    assert store.applied_batch(batch.pk)["retired"] == 1
    resource.data.refresh_from_db()
    assert resource.data.row_count == 0 and resource.data.last_batch_id == batch.pk


def test_engine_findings_come_back_by_field_and_nothing_loads(personas, resource):
    eforms.save_record(personas.provider_admin, resource, GOOD)
    before = live_rows(resource)
    with pytest.raises(ValidationFailed) as caught:
        eforms.save_record(
            personas.provider_admin,
            resource,
            {"f001": "C002", "f002": "", "f003": "2024-13-45", "f004": "十二"},
        )
    details = caught.value.details
    assert details["f002"] == ["必填项为空"] and "不是有效日期" in details["f003"][0] and details["f004"]
    with pytest.raises(ValidationFailed) as caught:
        eforms.save_record(personas.provider_admin, resource, GOOD)  # the key exists already
    assert "已存在" in caught.value.details["f001"][0]
    rid = eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]
    with pytest.raises(ValidationFailed) as caught:
        eforms.save_record(personas.provider_admin, resource, {**GOOD, "f001": "C999"}, rid=rid)
    assert "不可修改" in caught.value.details["f001"][0]
    assert live_rows(resource) == before
    assert Batch.objects.filter(source="eform").count() == 1


def test_search_by_key_and_queryable_items(personas, resource):
    for n in range(1, 4):
        eforms.save_record(personas.provider_admin, resource, {**GOOD, "f001": f"C00{n}", "f002": f"点{n}"})
    rows, _ = eforms.list_records(personas.provider_admin, resource, field="f002", value="点2")
    assert [r["f001"] for r in rows] == ["C002"]
    with pytest.raises(ValidationFailed):
        eforms.list_records(personas.provider_admin, resource, field="f003", value="2024-03-01")


def test_only_the_provider_managers(personas, resource):
    eforms.save_record(personas.provider_admin, resource, GOOD)
    rid = eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]
    for persona in (personas.outsider, personas.consumer_user, personas.consumer_cdo, personas.operator):
        with pytest.raises(PermissionDenied):
            eforms.save_record(persona, resource, {**GOOD, "f001": "X1"})
        with pytest.raises(PermissionDenied):
            eforms.retire_record(persona, resource, rid)
        with pytest.raises(PermissionDenied):
            eforms.list_records(persona, resource)
    assert live_rows(resource) == [("C001", "章华镇便民服务点")]


def test_pages(personas, resource, client_for, anonymous):
    client = client_for(personas.provider_admin)
    base = f"/data/ways/eforms/{resource.pk}/"
    assert client.get("/data/ways/eforms/").status_code == 200
    page = client.get(base + "new/")
    assert page.status_code == 200 and "登记日期" in page.content.decode()
    response = client.post(base + "new/", {"f001": "C010", "f002": "", "f003": "bad", "f004": "1"})
    assert response.status_code == 400 and "必填项为空" in response.content.decode()
    response = client.post(base + "new/", {"f001": "C010", "f002": "点", "f003": "2024-01-01", "f004": "1"})
    assert response.status_code == 302
    rid = eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]
    listing = client.get(base, {"field": "f001", "q": "C010"}).content.decode()
    assert "C010" in listing
    assert client.get(f"{base}{rid}/").status_code == 200
    assert client.post(f"{base}{rid}/retire/", {"reason": "重复"}).status_code == 302
    assert live_rows(resource) == []
    for persona in (personas.outsider, personas.consumer_user):
        assert client_for(persona).get(base).status_code == 404
        assert client_for(persona).post(base + "new/", {"f001": "Z"}).status_code == 404
    assert anonymous.get(base).status_code == 302


def test_record_pages_sit_under_the_eform_tab(personas, resource, client_for):
    """Adding, editing (and a refused save) show the data page's tab bar, the tabs tabs.py lets the user open, with
    the e-form tab active; those the e-form turns away get the same 404 as before and no tab bar."""
    eforms.save_record(personas.provider_admin, resource, GOOD)
    rid = eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]
    base = f"/data/ways/eforms/{resource.pk}/"
    for persona in (personas.provider_admin, personas.provider_cdo):
        client = client_for(persona)
        expected = [tab.key for tab in tabs.data_tabs(persona, resource)]
        assert "eform" in expected
        refused = client.post(base + "new/", {"f001": "C011", "f002": "", "f003": "2024-01-01", "f004": "1"})
        assert refused.status_code == 400
        for response in (client.get(base + "new/"), client.get(f"{base}{rid}/"), refused):
            assert response.status_code in (200, 400)
            assert tab_bar(response) == (expected, "eform")
        assert "修改记录" in client.get(f"{base}{rid}/").content.decode()
    for persona in (personas.outsider, personas.consumer_user, personas.consumer_cdo, personas.operator):
        client = client_for(persona)
        for response in (client.get(base + "new/"), client.get(f"{base}{rid}/")):
            assert response.status_code == 404 and tab_bar(response) == ([], "")
    assert live_rows(resource) == [("C001", "章华镇便民服务点")]
