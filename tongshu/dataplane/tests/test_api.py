"""`/api/v1/data`: push with idempotency, uploads applied by a task, batch status and reports, and every denial."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.test import Client

from tongshu.accounts.roles import Role
from tongshu.accounts.services import create_api_key, revoke_api_key
from tongshu.accounts.tests.factories import make_user
from tongshu.dataplane import store
from tongshu.dataplane.models import Batch, BatchStatus, ResourceData
from tongshu.dataplane.schema import schema_for_version

from .formats import GOOD, HEADER, csv_bytes, xlsx_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]
ROWS = [dict(zip(HEADER, row, strict=True)) for row in GOOD]


@pytest.fixture
def token(personas):
    key, secret = create_api_key(personas.provider_admin, name="人口系统", organization=personas.provider_org)
    return secret


def names(resource):
    return sorted(r["f002"] for r in store.read_rows(schema_for_version(resource.published_version)))


def push(client, resource, body, key="k1", token=None):
    headers = {}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(
        f"/api/v1/data/resources/{resource.pk}/rows",
        data=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        **headers,
    )


def test_push_is_idempotent_by_key_and_body(resource, token):
    client = Client()
    body = {"mode": "upsert", "rows": ROWS}
    first = push(client, resource, body, token=token)
    assert first.status_code == 200, first.json()
    result = first.json()
    assert result["status"] == "applied" and result["inserted"] == 2 and result["source"] == "push"
    again = push(client, resource, body, token=token)
    assert again.status_code == 200 and again.json()["id"] == result["id"]
    assert again["Idempotent-Replayed"] == "true"
    other = push(client, resource, {"mode": "upsert", "rows": [{**ROWS[0], "姓名": "别人"}]}, token=token)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert names(resource) == ["张三", "李四"]
    assert Batch.objects.filter(resource=resource).count() == 1


def test_push_bad_rows_reported_and_nothing_changes(resource, token):
    client = Client()
    push(client, resource, {"rows": ROWS}, key="first", token=token)
    bad = [
        {"公民身份号码": f"4306231990010{n:05d}", "姓名": "坏", "出生日期": "1990-01-01"}
        for n in range(10_000)
    ]
    response = push(client, resource, {"mode": "replace", "rows": [ROWS[0], *bad]}, key="bad", token=token)
    body = response.json()
    assert response.status_code == 422, body
    assert body["code"] == "batch_rejected" and body["reason_code"] == "bad_rows"
    assert "未加载" in body["message"] and body["bad_rows"] >= 9000 and len(body["details"]) == 20
    problem = body["details"][0]
    assert problem["row"] == 2 and problem["label"] == "公民身份号码" and problem["reason"]
    batch = Batch.objects.get(pk=body["batch_id"])
    assert batch.status == BatchStatus.REJECTED and batch.reason_code == "bad_rows"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    report = client.get(body["report_csv"], **headers)
    assert report.status_code == 200 and len(b"".join(report.streaming_content).splitlines()) > 9000
    status = client.get(body["status_url"], **headers).json()
    assert status["status"] == "rejected" and status["reason_code"] == "bad_rows"
    # A retry with the same key gets the same answer, and nothing new is recorded.
    again = push(client, resource, {"mode": "replace", "rows": [ROWS[0], *bad]}, key="bad", token=token)
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    assert Batch.objects.filter(resource=resource).count() == 2
    assert names(resource) == ["张三", "李四"]


def test_push_without_key_column_is_rejected_with_its_reason(resource, token):
    client = Client()
    push(client, resource, {"rows": ROWS}, key="first", token=token)
    response = push(client, resource, {"rows": [{"姓名": "无证号"}]}, key="nokey", token=token)
    body = response.json()
    assert response.status_code == 422 and body["code"] == "batch_rejected"
    assert body["reason_code"] == "missing_key_column" and "公民身份号码" in body["message"]
    assert Batch.objects.get(pk=body["batch_id"]).reason_code == "missing_key_column"
    assert names(resource) == ["张三", "李四"]


def test_push_refuses_keys_that_name_no_item(personas, resource, token):
    client = Client()
    push(client, resource, {"rows": ROWS}, key="first", token=token)
    typo = push(client, resource, {"rows": [{**ROWS[0], "姓名": "改名", "phon": "13800000000"}]}, token=token)
    body = typo.json()
    assert typo.status_code == 400 and body["code"] == "unknown_fields"
    assert "phon" in body["message"] and "信息项" in body["message"]
    assert body["details"] == [{"field": "phon", "reason": "没有该信息项"}]
    only_unknown = push(client, resource, {"rows": [{"a": "1"}, {"b": "2"}]}, key="k2", token=token)
    assert only_unknown.status_code == 400 and only_unknown.json()["code"] == "unknown_fields"
    assert [d["field"] for d in only_unknown.json()["details"]] == ["a", "b"]
    twice = push(client, resource, {"rows": [{**ROWS[0], "f002": "又一个名字"}]}, key="k3", token=token)
    assert twice.status_code == 400 and twice.json()["code"] == "duplicate_fields"
    assert "姓名" in twice.json()["message"]
    assert names(resource) == ["张三", "李四"]
    assert Batch.objects.filter(resource=resource).count() == 1
    # A column name the resource's remembered mapping knows is an item's name for pushes too.
    ResourceData.objects.filter(resource=resource).update(column_mapping={"xm": "f002"})
    mapped = push(
        client,
        resource,
        {"rows": [{"公民身份号码": ROWS[0]["公民身份号码"], "xm": "张三丰"}]},
        key="k4",
        token=token,
    )
    assert mapped.status_code == 200 and mapped.json()["updated"] == 1
    assert names(resource) == ["张三丰", "李四"]


def test_push_requires_key_valid_json_and_size(resource, token, settings):
    client = Client()
    missing = push(client, resource, {"rows": ROWS}, key=None, token=token)
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"
    garbage = client.post(
        f"/api/v1/data/resources/{resource.pk}/rows",
        data=b"{not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="g",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert garbage.status_code == 400 and garbage.json()["code"] == "bad_json"
    assert (
        garbage.json()["message"]
        == "请求体不是有效的 JSON（第 1 行第 2 列：此处应为用英文双引号括起的属性名）"
    )
    not_utf8 = client.post(
        f"/api/v1/data/resources/{resource.pk}/rows",
        data='{"rows": [{"姓名": "张三"}]}'.encode("gbk"),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="g",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert not_utf8.status_code == 400 and not_utf8.json()["code"] == "bad_encoding"
    wrong_mode = push(client, resource, {"mode": "merge", "rows": ROWS}, key="m", token=token)
    assert wrong_mode.status_code == 400 and wrong_mode.json()["code"] == "invalid_mode"
    settings.DATAPLANE_PUSH_MAX_MB = 0
    too_big = push(client, resource, {"rows": ROWS}, key="big", token=token)
    assert too_big.status_code == 413 and too_big.json()["code"] == "body_too_large"
    assert "最大" in too_big.json()["message"]
    assert names(resource) == [] and not Batch.objects.exists()


def test_push_denials(personas, resource, client_for, token):
    body = {"rows": ROWS}
    anonymous = push(Client(), resource, body)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    outsider_key, outsider_token = create_api_key(
        personas.outsider, name="水利系统", organization=personas.outsider_org
    )
    # Another department's resource answers as the batch listing does: as if it did not exist.
    for refused in (
        push(Client(), resource, body, token=outsider_token),
        push(client_for(personas.consumer_user), resource, body),
        push(client_for(personas.outsider), resource, body),
        push(client_for(personas.authority), resource, body),
    ):
        assert refused.status_code == 404 and refused.json()["code"] == "resource_not_found"
    assert (
        client_for(personas.outsider).get(f"/api/v1/data/resources/{resource.pk}/batches").status_code == 404
    )
    # Those who see the resource's batches but may not load into it are told so.
    staff = make_user("provider_staff", Role.DEPT_USER, organization=personas.provider_org)
    for user in (personas.operator, staff):
        refused = push(client_for(user), resource, body)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    key = revoke_api_key(
        personas.security_admin,
        __import__("tongshu.accounts.models", fromlist=["ApiKey"]).ApiKey.objects.get(name="人口系统"),
    )
    revoked = push(Client(), resource, body, token=token)
    assert revoked.status_code == 401 and revoked.json()["code"] == "key_revoked"
    del key, outsider_key
    assert names(resource) == [] and not Batch.objects.exists()


def test_push_by_provider_data_admin_session(personas, resource, client_for):
    response = push(client_for(personas.provider_cdo), resource, {"rows": ROWS})
    assert response.status_code == 200 and response.json()["status"] == "applied"


def upload(client, resource, data, name, **fields):
    headers = {k: fields.pop(k) for k in list(fields) if k.startswith("HTTP_")}
    return client.post(
        f"/api/v1/data/resources/{resource.pk}/uploads",
        data={"file": _file(data, name), **fields},
        **headers,
    )


def _file(data, name):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_upload_is_applied_by_the_task_and_mapping_remembered(
    personas, resource, client_for, django_capture_on_commit_callbacks
):
    client = client_for(personas.provider_admin)
    rows = [["身份证号", "名字", "生日"], *GOOD]
    mapping = {"身份证号": "f001", "名字": "f002", "生日": "f003"}
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, resource, xlsx_bytes(rows), "人口.xlsx", mapping=json.dumps(mapping))
    assert response.status_code == 202, response.json()
    status = client.get(response.json()["status_url"]).json()
    assert status["status"] == "applied" and status["inserted"] == 2 and status["progress_percent"] == 100
    assert ResourceData.objects.get(resource=resource).column_mapping == mapping
    # The next upload with the same headers needs no mapping.
    with django_capture_on_commit_callbacks(execute=True):
        again = upload(client, resource, xlsx_bytes(rows), "人口2.xlsx")
    assert client.get(again.json()["status_url"]).json()["status"] == "applied"
    listing = client.get(f"/api/v1/data/resources/{resource.pk}/batches").json()
    assert listing["count"] == 2 and listing["items"][0]["file_name"] == "人口2.xlsx"


def test_upload_limits_and_formats(personas, resource, client_for, settings):
    client = client_for(personas.provider_admin)
    settings.DATAPLANE_UPLOAD_LIMITS_MB = {**settings.DATAPLANE_UPLOAD_LIMITS_MB, "csv": 0}
    too_big = upload(client, resource, csv_bytes(GOOD), "人口.csv")
    assert too_big.status_code == 413 and too_big.json()["code"] == "file_too_large"
    assert "上传限制" in too_big.json()["message"]
    unsupported = upload(client, resource, b"MZ", "人口.exe")
    assert unsupported.status_code == 400 and unsupported.json()["code"] == "unsupported_format"
    bad_mapping = upload(client, resource, b"x", "a.xlsx", mapping='{"列": "no_such_field"}')
    assert bad_mapping.status_code == 400 and bad_mapping.json()["code"] == "invalid_mapping"
    assert not Batch.objects.exists()


def test_a_spooled_upload_is_moved_into_place_not_copied(
    personas, resource, client_for, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Uploads past FILE_UPLOAD_MAX_MEMORY_SIZE arrive as Django temporary files, hashed as they arrive
    (core.upload_handlers): accepting one moves it; a repeated idempotency key or a file over the limit leaves no file behind."""
    import hashlib

    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    client = client_for(personas.provider_admin)
    data = csv_bytes(GOOD)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(client, resource, data, "人口.csv", HTTP_IDEMPOTENCY_KEY="s1")
    assert first.status_code == 202, first.json()
    batch = Batch.objects.get(pk=first.json()["batch_id"])
    assert batch.status == BatchStatus.APPLIED and names(resource) == ["张三", "李四"]
    assert batch.file_size == len(data) and batch.content_hash == hashlib.sha256(data).hexdigest()
    assert Path(batch.file_path).read_bytes() == data
    assert not list(spool.iterdir())
    again = upload(client, resource, data, "人口.csv", HTTP_IDEMPOTENCY_KEY="s1")
    assert again.status_code == 202 and again.json()["batch_id"] == batch.pk
    other = upload(
        client, resource, data + data.splitlines(keepends=True)[-1], "人口.csv", HTTP_IDEMPOTENCY_KEY="s1"
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    settings.DATAPLANE_UPLOAD_LIMITS_MB = {**settings.DATAPLANE_UPLOAD_LIMITS_MB, "csv": 0}
    too_big = upload(client, resource, data, "人口2.csv")
    assert too_big.status_code == 413 and too_big.json()["code"] == "file_too_large"
    assert not list(spool.iterdir())
    uploads = sorted(p.name for p in (tmp_path / "uploads").iterdir())
    assert uploads == [f"batch-{batch.pk}.csv"]
    assert Batch.objects.count() == 1


def test_upload_denials(personas, resource, client_for):
    for user in (personas.consumer_user, personas.outsider, personas.authority):
        response = upload(client_for(user), resource, csv_bytes(GOOD), "人口.csv")
        assert response.status_code == 404 and response.json()["code"] == "resource_not_found", user
    operator = upload(client_for(personas.operator), resource, csv_bytes(GOOD), "人口.csv")
    assert operator.status_code == 403 and operator.json()["code"] == "forbidden"
    assert upload(Client(), resource, csv_bytes(GOOD), "人口.csv").status_code == 401
    assert not Batch.objects.exists()


def test_upload_idempotency_key_covers_file_and_mode(
    personas, resource, client_for, django_capture_on_commit_callbacks
):
    client = client_for(personas.provider_admin)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(client, resource, csv_bytes(GOOD), "人口.csv", HTTP_IDEMPOTENCY_KEY="u1")
    assert first.status_code == 202 and names(resource) == ["张三", "李四"]
    same = upload(client, resource, csv_bytes(GOOD), "人口.csv", HTTP_IDEMPOTENCY_KEY="u1")
    assert same.status_code == 202 and same.json()["batch_id"] == first.json()["batch_id"]
    other_mode = upload(
        client, resource, csv_bytes(GOOD), "人口.csv", mode="replace", HTTP_IDEMPOTENCY_KEY="u1"
    )
    assert other_mode.status_code == 409 and other_mode.json()["code"] == "idempotency_conflict"
    other_file = upload(client, resource, csv_bytes(GOOD[:1]), "人口.csv", HTTP_IDEMPOTENCY_KEY="u1")
    assert other_file.status_code == 409 and other_file.json()["code"] == "idempotency_conflict"
    assert Batch.objects.count() == 1 and names(resource) == ["张三", "李四"]


def test_rejected_upload_has_a_reason_code(
    personas, resource, client_for, django_capture_on_commit_callbacks
):
    client = client_for(personas.provider_admin)
    with django_capture_on_commit_callbacks(execute=True):
        good = upload(client, resource, csv_bytes(GOOD), "人口.csv").json()
        bad = upload(client, resource, b'{"a": 1}\n{"a": }\n', "人口.ndjson").json()
    assert client.get(good["status_url"]).json()["reason_code"] == ""
    status = client.get(bad["status_url"]).json()
    assert status["status"] == "rejected" and status["reason_code"] == "bad_json"
    assert (
        status["message"]
        == "第 2 行第 7 列不是有效的 JSON：此处应为一个值（字符串、数字、true/false/null、对象或数组）"
    )
    assert [p["row"] for p in status["problems"]] == [2]
    listing = client.get(f"/api/v1/data/resources/{resource.pk}/batches").json()["items"]
    assert [b["reason_code"] for b in listing] == ["bad_json", ""]
    assert names(resource) == ["张三", "李四"]


def test_reports_csv_and_xlsx(personas, resource, client_for, django_capture_on_commit_callbacks):
    client = client_for(personas.provider_admin)
    bad = [*GOOD, ["123", "坏", "1990-01-01"], ["430623199001011237", "重复", "1990-01-01"]]
    with django_capture_on_commit_callbacks(execute=True):
        accepted = upload(client, resource, csv_bytes(bad, "gbk"), "坏.csv").json()
    status = client.get(accepted["status_url"]).json()
    assert status["status"] == "rejected" and status["bad_rows"] == 2
    report = client.get(status["report_csv"])
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["行号", "信息项", "字段", "值"]
    assert {line[0] for line in lines[1:]} == {"4", "5"}
    xlsx = client.get(status["report_xlsx"])
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "行号" and {v[0] for v in values[1:]} == {4, 5}
    assert names(resource) == []


def test_batch_reading_denials(personas, resource, client_for, token):
    pushed = push(Client(), resource, {"rows": ROWS}, token=token).json()
    url = f"/api/v1/data/batches/{pushed['id']}"
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client_for(personas.provider_admin).get(url).status_code == 200
    assert client_for(personas.operator).get(url).status_code == 200
    for user in (personas.outsider, personas.consumer_user, personas.authority):
        client = client_for(user)
        assert client.get(url).status_code == 404
        assert client.get(url + "/report.csv").status_code == 404
        assert client.get(f"/api/v1/data/resources/{resource.pk}/batches").status_code == 404
    assert Client().get(url).status_code == 401


def test_batch_status_shows_progress_while_running(personas, resource, client_for):
    from tongshu.dataplane import services

    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO(csv_bytes(GOOD * 50)), file_name="a.csv"
    )
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, rows_read=50)
    body = client_for(personas.provider_admin).get(f"/api/v1/data/batches/{batch.pk}").json()
    assert body["status"] == "running" and body["rows_read"] == 50 and 40 <= body["progress_percent"] <= 60


def test_anonymous_posts_are_401_and_sessions_still_need_the_csrf_token(personas, resource, token, settings):
    """Anonymous calls have no session to forge: 401. A signed-in browser's POST without the CSRF token is refused
    (403 `csrf_failed`); with it, or with an application key, the push goes through."""
    body = {"rows": ROWS}
    anonymous = push(Client(enforce_csrf_checks=True), resource, body)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.provider_admin)
    forged = push(browser, resource, body, key="s1")
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
    assert "CSRF" in forged.json()["message"] and not Batch.objects.exists()
    secret = "a" * 32
    browser.cookies[settings.CSRF_COOKIE_NAME] = secret
    signed = browser.post(
        f"/api/v1/data/resources/{resource.pk}/rows",
        data=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="s1",
        HTTP_X_CSRFTOKEN=secret,
    )
    assert signed.status_code == 200, signed.json()
    by_key = push(Client(enforce_csrf_checks=True), resource, {"rows": [ROWS[0]]}, key="s2", token=token)
    assert by_key.status_code == 200 and names(resource) == ["张三", "李四"]
