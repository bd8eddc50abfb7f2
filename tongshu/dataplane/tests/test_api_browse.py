"""`/api/v1/data/browse`: rows masked as on the page, downloads, the audited reveal; denials and bad parameters."""

from __future__ import annotations

import json

import pytest

from tongshu.accounts.roles import Role
from tongshu.accounts.services import create_api_key
from tongshu.accounts.tests.factories import make_user
from tongshu.dataplane import browse
from tongshu.dataplane.browse import BrowseQuery
from tongshu.dataplane.tests.helpers import load_csv, make_people, people_csv, person_id
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(personas):
    resource = make_people(personas.provider_org)
    load_csv(personas.provider_admin, resource, people_csv(60))
    return resource


def url(resource, tail: str) -> str:
    return f"/api/v1/data/browse/{resource.pk}/{tail}"


def test_rows_are_masked_as_on_the_page(personas, people, client_for):
    client = client_for(personas.provider_admin)
    response = client.get(url(people, "rows"), {"page_size": 25, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 60 and body["page"] == 2 and body["page_size"] == 25 and len(body["rows"]) == 25
    assert body["can_reveal"] is True
    masked = {c["field"] for c in body["columns"] if c["masked"]}
    assert masked == {"f001", "f002", "f003"}
    page = browse.browse(personas.provider_admin, people, BrowseQuery(page_size=25, page=2))
    expected = {
        k: v for k, v in page.rows[0].items() if k == "_rid" or k in {c["field"] for c in body["columns"]}
    }
    first = body["rows"][0]
    assert first["_rid"] == expected["_rid"]
    for name in ("f001", "f002", "f003", "f004"):
        assert first[name] == expected[name]
    assert "********" in first["f001"] and "****" in first["f003"] and first["f004"] == "章华镇"


def test_filters_sort_and_bad_params(personas, people, client_for):
    load_csv(personas.provider_admin, people, people_csv(5, start=100, township="万庾镇"))
    client = client_for(personas.provider_cdo)
    assert client.get(url(people, "rows"), {"f_f004": "万庾"}).json()["count"] == 5
    rows = client.get(url(people, "rows"), {"sort": "f005", "dir": "desc"}).json()["rows"]
    dates = [r["f005"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    bad = client.get(url(people, "rows"), {"f_f005": "不是日期"})
    assert (
        bad.status_code == 400
        and bad.json()["code"] == "invalid_filter"
        and "格式不正确" in bad.json()["message"]
    )
    assert client.get(url(people, "rows"), {"f_f003": "138"}).json()["code"] == "not_queryable"
    batch = client.get(url(people, "rows"), {"as_of_batch": 999_999})
    assert batch.status_code == 400 and batch.json()["code"] == "invalid_batch"
    for params in ({"page_size": 0}, {"page_size": 10_000}, {"page": "x"}, {"dir": "up"}):
        response = client.get(url(people, "rows"), params)
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert client.get("/api/v1/data/browse/999999/rows").status_code == 404


def test_as_of_batch(personas, people, client_for):
    first = people.batches.get()
    load_csv(personas.provider_admin, people, people_csv(3, start=200))
    client = client_for(personas.provider_admin)
    assert client.get(url(people, "rows")).json()["count"] == 63
    assert client.get(url(people, "rows"), {"as_of_batch": first.pk}).json()["count"] == 60


def test_downloads_are_streamed_masked_and_audited(personas, people, client_for):
    client = client_for(personas.provider_admin)
    before = AuditEntry.objects.filter(action="dataplane.data_downloaded").count()
    response = client.get(url(people, "download.json"))
    assert response.status_code == 200 and response.streaming
    assert response["Cache-Control"] == "no-store"
    rows = json.loads(b"".join(response.streaming_content))
    assert len(rows) == 60 and "********" in rows[0]["f001"]
    csv = client.get(url(people, "download.csv"))
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert csv["Content-Type"].startswith("text/csv") and len(text.strip().splitlines()) == 61
    xlsx = client.get(url(people, "download.xlsx"))
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    entries = AuditEntry.objects.filter(action="dataplane.data_downloaded")
    assert entries.count() == before + 3
    assert entries.latest("pk").details["masked_fields"] == ["f001", "f002", "f003"]
    bad = client.get(url(people, "download.pdf"))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_format"


def test_reveal_is_audited_with_the_reason(personas, people, client_for):
    client = client_for(personas.provider_admin)
    rid = client.get(url(people, "rows")).json()["rows"][0]["_rid"]
    response = client.post(
        url(people, f"reveal/{rid}"), {"reason": "核实户籍信息"}, content_type="application/json"
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    row = response.json()["row"]
    assert len(row["f001"]) == 18 and "*" not in row["f001"] and "*" not in row["f002"]
    entry = AuditEntry.objects.filter(action="dataplane.data_revealed").latest("pk")
    assert entry.details["reason"] == "核实户籍信息" and entry.details["record_key"] == {"f001": row["f001"]}
    for body in ({}, {"reason": " "}):
        refused = client.post(url(people, f"reveal/{rid}"), body, content_type="application/json")
        assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
        assert "事由" in refused.json()["message"]
    missing = client.post(url(people, "reveal/99999999"), {"reason": "核实"}, content_type="application/json")
    assert missing.status_code == 404


def test_denials(personas, people, client_for, anonymous):
    rid = browse.browse(personas.provider_admin, people, BrowseQuery()).rows[0]["_rid"]
    reveal = url(people, f"reveal/{rid}")
    assert anonymous.get(url(people, "rows")).status_code == 401
    assert anonymous.get(url(people, "download.csv")).status_code == 401
    assert anonymous.post(reveal, {"reason": "看看"}, content_type="application/json").status_code == 401
    before = AuditEntry.objects.filter(
        action__in=["dataplane.data_revealed", "dataplane.data_downloaded"]
    ).count()
    for persona in (personas.outsider, personas.consumer_cdo, personas.citizen):
        client = client_for(persona)
        for response in (
            client.get(url(people, "rows")),
            client.get(url(people, "download.csv")),
            client.post(reveal, {"reason": "看看"}, content_type="application/json"),
        ):
            assert response.status_code == 403 and response.json()["code"] == "forbidden"
            assert response.json()["message"]
    # A plain department user of the provider browses masked rows but may not reveal.
    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    client = client_for(staff)
    body = client.get(url(people, "rows")).json()
    assert body["can_reveal"] is False and "********" in body["rows"][0]["f001"]
    assert client.post(reveal, {"reason": "看看"}, content_type="application/json").status_code == 403
    assert (
        AuditEntry.objects.filter(action__in=["dataplane.data_revealed", "dataplane.data_downloaded"]).count()
        == before
    )


def test_application_keys_are_refused(personas, people, client):
    _key, token = create_api_key(personas.provider_admin, name="人口系统", organization=personas.provider_org)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for response in (
        client.get(url(people, "rows"), **auth),
        client.get(url(people, "download.csv"), **auth),
        client.post(url(people, "reveal/1"), {"reason": "核实"}, content_type="application/json", **auth),
    ):
        assert response.status_code == 403 and response.json()["code"] == "user_required"


def test_prefix_filters_on_masked_items_match_nothing_for_browse_only_callers(personas, people, client_for):
    staff = client_for(make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org))
    full = person_id("19800110", 0)
    partial = staff.get(url(people, "rows"), {"f_f001": full[:12]}).json()
    assert partial["count"] == 0 and partial["rows"] == []
    assert partial["exact_fields"] == ["f001", "f002", "f003"]
    assert staff.get(url(people, "rows"), {"f_f002": "张"}).json()["count"] == 0
    whole = staff.get(url(people, "rows"), {"f_f001": full}).json()
    assert whole["count"] == 1 and full not in str(whole["rows"])
    admin = client_for(personas.provider_admin).get(url(people, "rows"), {"f_f001": full[:12]}).json()
    assert admin["count"] >= 1 and admin["exact_fields"] == []
