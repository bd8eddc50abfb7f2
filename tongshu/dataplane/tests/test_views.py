"""Data pages: the upload journey (file → mapping → progress → result), batches tab, data management list, denials."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tongshu.dataplane import services, store
from tongshu.dataplane.models import Batch, BatchStatus, ResourceData
from tongshu.dataplane.schema import schema_for_version

from .formats import GOOD, csv_bytes, xlsx_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


def names(resource):
    return sorted(r["f002"] for r in store.read_rows(schema_for_version(resource.published_version)))


def post_file(client, resource, data, name, **fields):
    return client.post(
        f"/data/resources/{resource.pk}/upload/",
        {"file": SimpleUploadedFile(name, data), "mode": "upsert", **fields},
    )


def test_gbk_csv_journey_report_fix_load(personas, resource, client_for, django_capture_on_commit_callbacks):
    client = client_for(personas.provider_admin)
    bad = [*GOOD, ["430623199001011230", "王五", "1990-01-01"]]
    response = post_file(client, resource, csv_bytes(bad, "gbk"), "人口.csv")
    assert response.status_code == 302
    mapping_url = response["Location"]
    page = client.get(mapping_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "公民身份号码" in html and 'value="f001" selected' in html
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(mapping_url, {"column-0": "f001", "column-1": "f002", "column-2": "f003"})
    assert confirmed.status_code == 302
    result = client.get(confirmed["Location"])
    html = result.content.decode()
    assert "不合格" in html and 'data-testid="problems"' in html and ">4<" in html
    assert "hx-trigger" not in html  # finished: no more polling
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.REJECTED and names(resource) == []
    report = client.get(f"/data/batches/{batch.pk}/report.csv")
    assert "430623199001011230" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert client.get(f"/data/batches/{batch.pk}/report.xlsx").status_code == 200
    # Fix and load: the mapping is remembered, the batches tab lists both.
    fixed = [*GOOD, ["430623199001011229", "王五", "1990-01-01"]]
    response = post_file(client, resource, csv_bytes(fixed, "gbk"), "人口修正.csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"column-0": "f001", "column-1": "f002", "column-2": "f003"})
    assert names(resource) == ["张三", "李四", "王五"]
    tab = client.get(f"/data/resources/{resource.pk}/").content.decode()
    assert tab.count('data-testid="batch-status"') == 2 and "已加载" in tab


def test_mapping_prefilled_from_remembered_and_errors_shown(personas, resource, client_for):
    ResourceData.objects.create(resource=resource, column_mapping={"证件号": "f001"})
    client = client_for(personas.provider_admin)
    response = post_file(
        client, resource, xlsx_bytes([["证件号", "名字"], ["11010519491231002X", "张三"]]), "a.xlsx"
    )
    url = response["Location"]
    html = client.get(url).content.decode()
    assert 'value="f001" selected' in html
    refused = client.post(url, {"column-0": "", "column-1": "f002"})
    assert refused.status_code == 400 and "主键" in refused.content.decode()
    twice = client.post(url, {"column-0": "f001", "column-1": "f001"})
    assert twice.status_code == 400 and "被多个列对应" in twice.content.decode()
    assert Batch.objects.get().status == BatchStatus.PENDING


def test_upload_form_errors_beside_the_field(personas, resource, client_for, settings):
    client = client_for(personas.provider_admin)
    response = post_file(client, resource, b"x", "a.exe")
    assert response.status_code == 400 and "不支持的文件格式" in response.content.decode()
    empty = post_file(client, resource, b"", "a.csv")
    assert empty.status_code == 400 and 'name="file"' in empty.content.decode()
    no_file = client.post(f"/data/resources/{resource.pk}/upload/", {"mode": "upsert"})
    assert no_file.status_code == 400
    settings.DATAPLANE_UPLOAD_LIMITS_MB = {**settings.DATAPLANE_UPLOAD_LIMITS_MB, "csv": 0}
    response = post_file(client, resource, csv_bytes(GOOD), "a.csv")
    assert response.status_code == 413 and "上传限制" in response.content.decode()
    assert 'name="file"' in response.content.decode()  # the form again, the error beside its field
    assert not Batch.objects.exists() and names(resource) == []


def test_unreadable_file_goes_to_its_rejection(personas, resource, client_for):
    client = client_for(personas.provider_admin)
    response = post_file(client, resource, b"not a zip", "a.xlsx")
    result = client.get(client.get(response["Location"])["Location"])
    assert "XLSX" in result.content.decode() and Batch.objects.get().status == BatchStatus.REJECTED


def test_progress_fragment_polls_while_running(personas, resource, client_for):
    batch = services.submit_file(
        personas.provider_admin, resource, _stream(csv_bytes(GOOD * 20)), file_name="a.csv"
    )
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, rows_read=20)
    client = client_for(personas.provider_admin)
    fragment = client.get(f"/data/batches/{batch.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "<progress" in fragment and "<html" not in fragment


def _stream(data):
    import io

    return io.BytesIO(data)


def test_data_management_list(personas, resource, client_for):
    services.apply_batch(
        services.submit_file(
            personas.provider_admin, resource, _stream(csv_bytes(GOOD)), file_name="a.csv"
        ).pk
    )
    html = client_for(personas.provider_cdo).get("/data/").content.decode()
    assert "户籍人口基本信息" in html and ">2<" in html and "数据管理" in html
    assert "户籍人口基本信息" not in client_for(personas.outsider).get("/data/").content.decode()
    detail = client_for(personas.provider_admin).get(f"/catalog/resources/{resource.pk}/").content.decode()
    assert f"/data/resources/{resource.pk}/" in detail
    outsider_detail = client_for(personas.consumer_user).get(f"/catalog/resources/{resource.pk}/")
    assert f"/data/resources/{resource.pk}/" not in outsider_detail.content.decode()


@pytest.mark.parametrize(
    ("persona", "index", "page", "upload"),
    [
        ("provider_admin", 200, 200, 200),
        ("provider_cdo", 200, 200, 200),
        ("operator", 200, 200, 403),
        ("outsider", 200, 404, 404),
        ("consumer_user", 403, 404, 404),
        ("authority", 403, 404, 404),
        ("auditor", 403, 404, 404),
    ],
)
def test_page_permissions(personas, resource, client_for, persona, index, page, upload):
    client = client_for(getattr(personas, persona))
    assert client.get("/data/").status_code == index
    assert client.get(f"/data/resources/{resource.pk}/").status_code == page
    assert client.get(f"/data/resources/{resource.pk}/upload/").status_code == upload


def test_batch_pages_denied_to_others(personas, resource, client_for):
    batch = services.submit_file(
        personas.provider_admin, resource, _stream(csv_bytes(GOOD)), file_name="a.csv"
    )
    for persona in ("outsider", "consumer_user", "authority"):
        client = client_for(getattr(personas, persona))
        for suffix in ("", "mapping/", "report.csv", "report.xlsx"):
            assert client.get(f"/data/batches/{batch.pk}/{suffix}").status_code == 404
    # The operator sees batches but may not map or load another department's file.
    assert client_for(personas.operator).get(f"/data/batches/{batch.pk}/mapping/").status_code == 403
    anonymous = Client().get(f"/data/batches/{batch.pk}/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert Batch.objects.get().status == BatchStatus.PENDING
