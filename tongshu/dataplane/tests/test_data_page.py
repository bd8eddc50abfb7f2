"""A resource's data page as one set of tabs: who sees which tab (and may open its page), the ways-in tab, the upload
step sent by htmx, the load's progress for every file format, the same masking on the browse and e-form lists, what
a rejected batch tells its sender to do, the schema-change kinds in words, a pull source's high-water mark."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tongshu.dataplane import services, uploads
from tongshu.dataplane.models import Batch, BatchMode, BatchSource, BatchStatus
from tongshu.dataplane.models_sources import PullSource
from tongshu.dataplane.views_sources import mark_text

from .formats import GOOD, HEADER, csv_bytes, ods_bytes, population_resource, xlsx_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]
TAB = re.compile(r'data-tab="(\w+)"')


def loaded(personas, resource, rows=GOOD):
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO(csv_bytes(rows)), file_name="a.csv"
    )
    return services.apply_batch(batch.pk)


def tabs_of(client, url):
    response = client.get(url)
    return response.status_code, TAB.findall(response.content.decode())


ALL_TABS = ["batches", "upload", "browse", "quality", "eform", "ways", "settings"]


@pytest.mark.parametrize(
    ("persona", "tabs"),
    [
        ("provider_admin", ALL_TABS),
        ("provider_cdo", ALL_TABS),
        ("operator", ["batches", "quality", "ways"]),
    ],
)
def test_each_tab_page_shows_the_tabs_its_user_may_open(personas, resource, client_for, persona, tabs):
    loaded(personas, resource)
    client = client_for(getattr(personas, persona))
    urls = {
        "batches": f"/data/resources/{resource.pk}/",
        "upload": f"/data/resources/{resource.pk}/upload/",
        "browse": f"/data/browse/{resource.pk}/",
        "quality": f"/quality/resources/{resource.pk}/",
        "eform": f"/data/ways/eforms/{resource.pk}/",
        "ways": f"/data/resources/{resource.pk}/ways/",
        "settings": f"/data/resources/{resource.pk}/settings/",
    }
    for key in tabs:
        status, shown = tabs_of(client, urls[key])
        assert status == 200 and shown == tabs, (key, shown)
        assert (
            f'data-testid="{key}-tab" class="active" aria-current="page"'
            in client.get(urls[key]).content.decode()
        )
    for key in set(ALL_TABS) - set(tabs):
        assert client.get(urls[key]).status_code in (403, 404), key


def test_the_authority_reaches_only_the_quality_tab(personas, resource, client_for):
    client = client_for(personas.authority)
    status, shown = tabs_of(client, f"/quality/resources/{resource.pk}/")
    assert status == 200 and shown == ["quality"]
    catalog = client.get(f"/catalog/resources/{resource.pk}/").content.decode()
    assert f'href="/quality/resources/{resource.pk}/" data-testid="data-page-link"' in catalog


def test_eform_tab_needs_a_key_item(personas, client_for):
    from tongshu.catalog.tests.factories import make_resource

    keyless = make_resource(personas.provider_org, items=[("名称", "C", "C..20", False, True, False)])
    _status, shown = tabs_of(client_for(personas.provider_admin), f"/data/resources/{keyless.pk}/")
    assert "eform" not in shown and "upload" in shown


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("provider_admin", 200),
        ("provider_cdo", 200),
        ("operator", 200),
        ("outsider", 404),
        ("consumer_user", 404),
        ("authority", 404),
        ("auditor", 404),
        ("citizen", 404),
    ],
)
def test_ways_tab_permissions(personas, resource, client_for, persona, status):
    assert (
        client_for(getattr(personas, persona)).get(f"/data/resources/{resource.pk}/ways/").status_code
        == status
    )


def test_ways_tab_lists_the_resource_sources_and_tasks(personas, resource, client_for):
    PullSource.objects.create(
        resource=resource, name="人口库同步", kind="database", owner=personas.provider_admin
    )
    other = population_resource(personas.provider_org)
    PullSource.objects.create(resource=other, name="别的资源", kind="database", owner=personas.provider_admin)
    html = client_for(personas.provider_admin).get(f"/data/resources/{resource.pk}/ways/").content.decode()
    assert "人口库同步" in html and "别的资源" not in html
    assert f"/api/v1/data/resources/{resource.pk}/rows" in html
    assert (
        f"?kind=http&amp;resource={resource.pk}" in html
        and f"/data/ways/collection/new/?resource={resource.pk}" in html
    )
    # The operator reads the sources but manages nothing.
    operator = client_for(personas.operator).get(f"/data/resources/{resource.pk}/ways/").content.decode()
    assert "人口库同步" in operator and "/data/ways/sources/new/" not in operator
    # The new-source form starts on the resource it was opened from.
    form = client_for(personas.provider_admin).get(f"/data/ways/sources/new/?kind=http&resource={other.pk}")
    assert f'<option value="{other.pk}" selected>' in form.content.decode()
    assert 'type="password"' in form.content.decode()


def test_anonymous_is_sent_to_log_in(resource):
    for url in (f"/data/resources/{resource.pk}/ways/", f"/data/resources/{resource.pk}/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- upload by htmx ------------------------------------------------------------------------------------------------
def test_htmx_upload_redirects_to_the_mapping_or_returns_the_form(personas, resource, client_for):
    client = client_for(personas.provider_admin)
    url = f"/data/resources/{resource.pk}/upload/"
    page = client.get(url).content.decode()
    assert 'hx-post="' in page and 'hx-encoding="multipart/form-data"' in page and "upload.js" in page
    assert "选择文件" in page and "未选择文件" in page
    rules = json.loads(
        re.search(r'<script id="upload-rules" type="application/json">(.*?)</script>', page).group(1)
    )
    assert rules["limits"][".csv"] == 4096 * 1024 * 1024 and ".xlsx" in rules["extensions"]

    sent = client.post(
        url, {"file": SimpleUploadedFile("a.csv", csv_bytes(GOOD)), "mode": "upsert"}, HTTP_HX_REQUEST="true"
    )
    batch = Batch.objects.get()
    assert sent.status_code == 200 and sent["HX-Redirect"] == f"/data/batches/{batch.pk}/mapping/"

    refused = client.post(
        url, {"file": SimpleUploadedFile("a.exe", b"x"), "mode": "upsert"}, HTTP_HX_REQUEST="true"
    )
    html = refused.content.decode()
    assert refused.status_code == 400 and "不支持的文件格式" in html
    assert 'id="upload-form"' in html and "<html" not in html  # the form alone, swapped in place
    assert Batch.objects.count() == 1


def test_htmx_upload_denied_to_others(personas, resource, client_for):
    for persona, status in (("operator", 403), ("outsider", 404), ("consumer_user", 404)):
        response = client_for(getattr(personas, persona)).post(
            f"/data/resources/{resource.pk}/upload/",
            {"file": SimpleUploadedFile("a.csv", csv_bytes(GOOD)), "mode": "upsert"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == status and "HX-Redirect" not in response
    assert not Batch.objects.exists()


# --- progress of a running load ------------------------------------------------------------------------------------
def _running(personas, resource, data, name, read):
    batch = services.submit_file(personas.provider_admin, resource, io.BytesIO(data), file_name=name)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, rows_read=read)
    return Batch.objects.get(pk=batch.pk)


def _rows(count):
    return [[f"43062319900101{i:04d}", f"人{i}", "1990-01-01"] for i in range(count)]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("a.csv", lambda rows: csv_bytes(rows)),
        (
            "a.ndjson",
            lambda rows: "\n".join(
                json.dumps(dict(zip(HEADER, r)), ensure_ascii=False) for r in rows
            ).encode(),
        ),
        (
            "a.json",
            lambda rows: json.dumps(
                [dict(zip(HEADER, r)) for r in rows], ensure_ascii=False, indent=1
            ).encode(),
        ),
        ("a.xlsx", lambda rows: xlsx_bytes([HEADER, *rows])),
        ("a.ods", lambda rows: ods_bytes([HEADER, *rows])),
    ],
)
def test_progress_is_estimated_for_every_format(personas, resource, name, make):
    batch = _running(personas, resource, make(_rows(4000)), name, read=1000)
    assert 15 <= uploads.estimated_progress(batch) <= 35, name
    Batch.objects.filter(pk=batch.pk).update(rows_read=4000)
    batch.refresh_from_db()
    assert uploads.estimated_progress(batch) == 99  # read, not yet written


def test_progress_unknown_shows_rows_read(personas, resource, client_for, monkeypatch):
    from tongshu.dataplane import progress

    monkeypatch.setattr(progress, "SHEET_PARSE_MAX_BYTES", 0)  # a large ODS: not parsed to estimate
    batch = _running(personas, resource, ods_bytes([HEADER, *_rows(50)]), "a.ods", read=20)
    html = client_for(personas.provider_admin).get(f"/data/batches/{batch.pk}/", HTTP_HX_REQUEST="true")
    text = html.content.decode()
    assert "<progress" in text and " value=" not in text.split("<progress")[1].split(">")[0]
    assert "已读取 20 行" in text


def test_waiting_and_finished_batches(personas, resource):
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO(csv_bytes(GOOD)), file_name="a.csv"
    )
    assert uploads.estimated_progress(batch) is None
    assert uploads.estimated_progress(services.apply_batch(batch.pk)) == 100


# --- one masking, one display ----------------------------------------------------------------------------------------
def test_eform_list_masks_like_the_browse_page(personas, resource, client_for):
    loaded(personas, resource)
    client = client_for(personas.provider_admin)
    browse = client.get(f"/data/browse/{resource.pk}/").content.decode()
    records = client.get(f"/data/ways/eforms/{resource.pk}/").content.decode()
    for shown in ("110105********002X", "张*"):
        assert shown in browse and shown in records
    assert "11010519491231002X" not in records and "1101**********002X" not in records


# --- what a rejected batch tells its sender --------------------------------------------------------------------------
def _rejected(resource, source, **fields):
    return Batch.objects.create(
        resource=resource,
        source=source,
        mode=BatchMode.UPSERT,
        status=BatchStatus.REJECTED,
        bad_rows=1,
        error_sample=[{"row": 1, "label": "姓名", "value": "", "reason": "必填", "severity": "error"}],
        **fields,
    )


def test_a_rejected_push_addresses_the_system_integrator(personas, resource, client_for):
    pushed = _rejected(resource, BatchSource.PUSH)
    uploaded = _rejected(resource, BatchSource.UPLOAD, submitted_by=personas.provider_admin)
    client = client_for(personas.provider_admin)
    html = client.get(f"/data/batches/{pushed.pk}/").content.decode()
    assert "系统集成方" in html and "Idempotency-Key" in html and "修改文件后重新上传" not in html
    html = client.get(f"/data/batches/{uploaded.pk}/").content.decode()
    assert "修改文件后重新上传" in html and "系统集成方" not in html
    # The operator reads the advice but gets no upload button.
    operator = client_for(personas.operator).get(f"/data/batches/{uploaded.pk}/").content.decode()
    assert "修改文件后重新上传" not in operator


# --- words instead of identifiers ----------------------------------------------------------------------------------
def test_schema_change_kinds_are_in_words(personas, resource, client_for):
    from tongshu.dataplane import evolution

    evolution.evolve(resource, None, resource.published_version)  # as on publication
    loaded(personas, resource)
    html = client_for(personas.provider_admin).get(f"/data/browse/{resource.pk}/").content.decode()
    assert '<span class="badge">建表</span>' in html and ">created<" not in html


def test_high_water_mark_in_local_time():
    assert mark_text("dt:2025-03-03T01:30:00+00:00") == "2025年3月3日 09:30:00"
    assert mark_text("dt:2025-03-03T01:30:00") == "2025年3月3日 01:30:00"  # the source's own clock
    assert mark_text("date:2025-03-03") == "2025年3月3日"
    assert mark_text("int:1042") == "1042" and mark_text("") == ""


def test_operator_data_list_speaks_of_every_department(personas, resource, client_for):
    html = client_for(personas.operator).get("/data/").content.decode()
    assert "全部部门的数据" in html and "您管理数据的" not in html
    html = client_for(personas.provider_admin).get("/data/").content.decode()
    assert "全部部门" not in html and f"/data/browse/{resource.pk}/" in html


def test_data_page_url_lands_on_the_first_tab_allowed(personas, resource):
    from tongshu.dataplane import tabs

    assert tabs.data_tabs(None, resource) == [] and tabs.data_page_url(personas.citizen, resource) == ""
    assert tabs.data_page_url(personas.consumer_cdo, resource) == ""
    assert tabs.data_page_url(personas.provider_admin, resource) == f"/data/resources/{resource.pk}/"
    assert tabs.data_page_url(personas.authority, resource) == f"/quality/resources/{resource.pk}/"
