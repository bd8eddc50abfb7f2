"""Pull source pages: list, create/edit with errors beside fields, run now, last runs; who may see and do what."""

from __future__ import annotations

import pytest

from tongshu.dataplane.models import BatchStatus
from tongshu.dataplane.models_sources import PullSource
from tongshu.dataplane.sources import services

from .sources_kit import LOCAL, Upstream, live_rows, small_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def resource(personas):
    return small_resource(personas.provider_org)


def form_data(resource, upstream, **values):
    return {
        "resource": resource.pk,
        "kind": "http",
        "name": "上游接口",
        "is_enabled": "on",
        "mode": "upsert",
        "every_minutes": "",
        "cron": "",
        "mapping": '{"id": "f001", "name": "f002", "day": "f003", "people": "f004"}',
        "cipher": "fernet",
        "timeout_seconds": 2,
        "page_size": 2,
        "max_pages": 10,
        "url": upstream.base + "/pages",
        "auth_header_name": "X-Token",
        "auth_value": "s3cret-token",
        "rows_path": "data.items",
        "page_param": "page",
        "size_param": "size",
        "first_page": 1,
        "next_link_path": "",
        "database_url": "",
        "query": "",
        "incremental_column": "",
        **values,
    }


def test_create_edit_and_run_now(personas, resource, client_for, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.PULL_ALLOWED_HOSTS = LOCAL
    client = client_for(personas.provider_admin)
    with Upstream() as upstream:
        assert client.get("/data/ways/sources/").status_code == 200
        assert client.get("/data/ways/sources/new/?kind=database").status_code == 200
        response = client.post("/data/ways/sources/new/", form_data(resource, upstream, cron="every day"))
        assert response.status_code == 400 and "cron 表达式无效" in response.content.decode()
        response = client.post("/data/ways/sources/new/", form_data(resource, upstream))
        assert response.status_code == 302
        source = PullSource.objects.get()
        page = client.get(f"/data/ways/sources/{source.pk}/").content.decode()
        assert "s3cret" not in page and "已设置（加密保存）" in page
        edit = client.get(f"/data/ways/sources/{source.pk}/edit/").content.decode()
        assert "s3cret" not in edit
        response = client.post(f"/data/ways/sources/{source.pk}/run/")
        assert response.status_code == 302
        assert source.runs.get().batch.status == BatchStatus.APPLIED
        assert len(live_rows(resource)) == 5
        page = client.get(f"/data/ways/sources/{source.pk}/").content.decode()
        assert "已加载" in page
        # Saving without retyping the secret keeps it.
        response = client.post(
            f"/data/ways/sources/{source.pk}/edit/", form_data(resource, upstream, auth_value="", name="改名")
        )
        assert response.status_code == 302
        source.refresh_from_db()
        assert source.name == "改名" and source.auth_header_secret


def test_denials(personas, resource, client_for, anonymous, settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL
    with Upstream() as upstream:
        source = services.save_source(
            personas.provider_admin,
            resource,
            {"kind": "http", "name": "源", "url": upstream.base + "/pages", "rows_path": "data.items"},
        )
    detail, run = f"/data/ways/sources/{source.pk}/", f"/data/ways/sources/{source.pk}/run/"
    for persona in (personas.outsider, personas.consumer_cdo, personas.consumer_user):
        client = client_for(persona)
        assert client.get(detail).status_code == 404
        assert client.post(run).status_code == 404
        assert client.get(detail + "edit/").status_code == 404
        assert client.post(f"/data/ways/sources/{source.pk}/delete/").status_code == 404
    assert client_for(personas.consumer_user).get("/data/ways/sources/").status_code == 403
    assert anonymous.get("/data/ways/sources/").status_code == 302
    assert anonymous.post(run).status_code == 302
    assert not source.runs.exists() and PullSource.objects.filter(pk=source.pk).exists()
