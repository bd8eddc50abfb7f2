"""`/api/v1/data/ways`: pull sources, electronic-form records and collection tasks through the API, for the
provider's data administrator or CDO only; secrets never come back; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tongshu.accounts.services import create_api_key
from tongshu.catalog.models import InfoItem
from tongshu.dataplane import collection, eforms
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.models_sources import CollectionSubmission, PullSource, SubmissionStatus
from tongshu.dataplane.sources import services

from .sources_kit import LOCAL, Upstream, live_rows, small_resource

pytestmark = pytest.mark.django_db
API = "/api/v1/data/ways"
GOOD = {"f001": "C001", "f002": "章华镇便民服务点", "f003": "2024-03-01", "f004": "12"}
OUTSIDERS = ("outsider", "consumer_cdo", "consumer_user")


@pytest.fixture
def resource(personas):
    resource = small_resource(personas.provider_org)
    InfoItem.objects.filter(version=resource.published_version, field_name="f002").update(is_required=True)
    return resource


@pytest.fixture
def upstream(settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL  # the test interface listens on 127.0.0.1
    with Upstream() as server:
        yield server


@pytest.fixture
def source(personas, resource, upstream):
    return services.save_source(
        personas.provider_admin,
        resource,
        {
            "kind": "http",
            "name": "上游接口",
            "url": upstream.base + "/pages",
            "rows_path": "data.items",
            "page_param": "page",
            "size_param": "size",
            "page_size": 2,
            "mapping": {"id": "f001", "name": "f002", "day": "f003", "people": "f004"},
            "auth_header_name": "X-Token",
        },
        auth_value="s3cret-token",
    )


def json_post(client, url, body=None, method="post"):
    return getattr(client, method)(url, body or {}, content_type="application/json")


# --- pull sources ------------------------------------------------------------------------------------------------
def test_sources_list_detail_run_and_runs(personas, resource, source, client_for, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = client_for(personas.provider_admin)
    listed = client.get(f"{API}/sources")
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [source.pk]
    detail = client.get(f"{API}/sources/{source.pk}")
    body = detail.json()
    assert detail.status_code == 200 and body["auth_header_set"] is True and body["name"] == "上游接口"
    assert "s3cret" not in detail.content.decode() and "secret" not in "".join(body)
    run = client.post(f"{API}/sources/{source.pk}/run")
    assert run.status_code == 202 and run.json()["source_id"] == source.pk
    runs = client_for(personas.provider_cdo).get(f"{API}/sources/{source.pk}/runs").json()
    assert (
        len(runs) == 1 and runs[0]["batch_status"] == BatchStatus.APPLIED and runs[0]["trigger"] == "manual"
    )
    assert len(live_rows(resource)) == 5


def test_sources_denials(personas, source, client_for, anonymous):
    detail = f"{API}/sources/{source.pk}"
    for name in OUTSIDERS:
        client = client_for(getattr(personas, name))
        assert client.get(detail).status_code == 404
        assert client.get(detail + "/runs").status_code == 404
        refused = client.post(detail + "/run")
        assert refused.status_code == 404 and refused.json()["code"] == "source_not_found"
    assert client_for(personas.outsider).get(f"{API}/sources").json() == []
    denied = client_for(personas.consumer_user).get(f"{API}/sources")
    assert denied.status_code == 403 and denied.json()["message"]
    assert anonymous.get(f"{API}/sources").status_code == 401
    assert anonymous.post(detail + "/run").status_code == 401
    _, token = create_api_key(personas.provider_admin, name="系统", organization=personas.provider_org)
    by_key = Client().post(detail + "/run", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_key.status_code == 403 and by_key.json()["code"] == "user_required"
    assert not source.runs.exists()


def test_missing_source_is_404(personas, client_for):
    response = client_for(personas.provider_admin).get(f"{API}/sources/999999")
    assert response.status_code == 404 and response.json()["code"] == "source_not_found"
    assert not PullSource.objects.exists()


# --- electronic forms --------------------------------------------------------------------------------------------
def test_eform_add_edit_retire(personas, resource, client_for):
    client = client_for(personas.provider_admin)
    added = json_post(client, f"{API}/eforms/{resource.pk}/records", {**GOOD, "f004": 12})
    assert added.status_code == 200 and added.json()["inserted"] == 1 and added.json()["source"] == "eform"
    rid = eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]
    edited = json_post(client, f"{API}/eforms/{resource.pk}/records/{rid}", {**GOOD, "f002": "改名"}, "put")
    assert edited.status_code == 200 and edited.json()["updated"] == 1
    assert live_rows(resource) == [("C001", "改名")]
    retired = json_post(client, f"{API}/eforms/{resource.pk}/records/{rid}/retire", {"reason": "撤并"})
    assert retired.status_code == 200 and retired.json()["retired"] == 1
    assert live_rows(resource) == []


def test_eform_bad_input_is_400_by_field_and_loads_nothing(personas, resource, client_for):
    client = client_for(personas.provider_cdo)
    json_post(client, f"{API}/eforms/{resource.pk}/records", GOOD)
    before, batches = live_rows(resource), Batch.objects.count()
    bad = json_post(
        client, f"{API}/eforms/{resource.pk}/records", {"f001": "C002", "f002": "", "f003": "2024-13-45"}
    )
    body = bad.json()
    assert bad.status_code == 400 and body["code"] == "invalid_record" and body["message"]
    reasons = {d["field"]: d["reason"] for d in body["details"]}
    assert reasons["f002"] == "必填项为空" and "不是有效日期" in reasons["f003"]
    assert {d["label"] for d in body["details"]} >= {"名称", "登记日期"}
    duplicate = json_post(client, f"{API}/eforms/{resource.pk}/records", GOOD)
    assert duplicate.status_code == 400 and "已存在" in duplicate.json()["details"][0]["reason"]
    unknown = json_post(client, f"{API}/eforms/{resource.pk}/records", {**GOOD, "f001": "C3", "nope": "x"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_field"
    assert live_rows(resource) == before and Batch.objects.count() == batches


def test_eform_denials(personas, resource, client_for, anonymous):
    eforms.save_record(personas.provider_admin, resource, GOOD)
    rid = eforms.list_records(personas.provider_admin, resource)[0][0]["_rid"]
    batches = Batch.objects.count()
    for name in OUTSIDERS:
        client = client_for(getattr(personas, name))
        refused = json_post(client, f"{API}/eforms/{resource.pk}/records", {**GOOD, "f001": "C9"})
        assert refused.status_code == 404 and refused.json()["code"] == "resource_not_found"
        assert json_post(client, f"{API}/eforms/{resource.pk}/records/{rid}/retire").status_code == 404
    assert json_post(anonymous, f"{API}/eforms/{resource.pk}/records", GOOD).status_code == 401
    missing = json_post(
        client_for(personas.provider_admin), f"{API}/eforms/{resource.pk}/records/999999/retire"
    )
    assert missing.status_code == 404 and missing.json()["code"] == "record_not_found"
    assert Batch.objects.count() == batches and live_rows(resource) == [("C001", GOOD["f002"])]


# --- collection tasks --------------------------------------------------------------------------------------------
@pytest.fixture
def task(personas, resource):
    task = collection.create_task(
        personas.provider_admin,
        resource,
        {
            "title": "志愿服务点信息征集",
            "purpose": "建立全县志愿服务点名录。",
            "fields": ["f001", "f002", "f003", "f004"],
            "deadline": timezone.now() + timedelta(days=7),
            "collector": "华容县公安局",
            "retention": "自提交之日起保存三年",
            "contact": "0730-4221234",
        },
    )
    for n in (1, 2):
        collection.submit(
            task.token,
            {**GOOD, "f001": f"S00{n}"},
            client_address=f"203.0.113.{n}",
            accepted_notice=True,
        )
    return task


def test_tasks_submissions_approve_reject(personas, resource, task, client_for):
    client = client_for(personas.provider_admin)
    tasks = client.get(f"{API}/tasks").json()
    assert [(t["id"], t["pending"], t["is_open"]) for t in tasks] == [(task.pk, 2, True)]
    pending = client.get(f"{API}/tasks/{task.pk}/submissions").json()
    assert len(pending) == 2 and {s["status"] for s in pending} == {SubmissionStatus.PENDING}
    first, second = sorted(s["id"] for s in pending)
    approved = client.post(f"{API}/submissions/{first}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == SubmissionStatus.APPROVED
    assert approved.json()["batch_id"] and live_rows(resource) == [("S001", GOOD["f002"])]
    empty = json_post(client, f"{API}/submissions/{second}/reject", {"reason": "  "})
    assert empty.status_code == 400 and empty.json()["code"] == "required"
    assert CollectionSubmission.objects.get(pk=second).status == SubmissionStatus.PENDING
    rejected = json_post(client, f"{API}/submissions/{second}/reject", {"reason": "重复提交"})
    assert rejected.status_code == 200 and rejected.json()["reason"] == "重复提交"
    again = client.post(f"{API}/submissions/{first}/approve")
    assert again.status_code == 400 and again.json()["code"] == "already_reviewed"
    assert len(client.get(f"{API}/tasks/{task.pk}/submissions?status=all").json()) == 2
    assert client.get(f"{API}/tasks/{task.pk}/submissions?status=bogus").status_code == 400


def test_collection_denials(personas, resource, task, client_for, anonymous):
    submission = task.submissions.first()
    for name in OUTSIDERS:
        client = client_for(getattr(personas, name))
        assert client.get(f"{API}/tasks/{task.pk}/submissions").status_code == 404
        assert client.post(f"{API}/submissions/{submission.pk}/approve").status_code == 404
        assert (
            json_post(client, f"{API}/submissions/{submission.pk}/reject", {"reason": "x"}).status_code == 404
        )
    assert client_for(personas.outsider).get(f"{API}/tasks").json() == []
    assert client_for(personas.consumer_user).get(f"{API}/tasks").status_code == 403
    assert anonymous.get(f"{API}/tasks").status_code == 401
    assert anonymous.post(f"{API}/submissions/{submission.pk}/approve").status_code == 401
    assert not task.submissions.exclude(status=SubmissionStatus.PENDING).exists()
    assert live_rows(resource) == []
