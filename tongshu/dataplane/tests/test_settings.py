"""A resource's bad-row policy: set by the provider's data administrator or CDO on the data page and through
`/api/v1/data/resources/{id}/settings`, audited, denied to everyone else; batches follow it (a full replace stays
all-or-nothing) and show the policy they were checked under."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client

from tongshu.accounts.roles import Role
from tongshu.accounts.services import create_api_key
from tongshu.accounts.tests.factories import make_user
from tongshu.dataplane import resource_settings, services, store
from tongshu.dataplane.models import BatchMode, BatchStatus, ResourceData
from tongshu.dataplane.schema import schema_for_version
from tongshu.security.models import AuditEntry

from .formats import GOOD, csv_bytes

pytestmark = pytest.mark.django_db
BAD = ["430623199001011230", "王五", "1990-01-01"]  # wrong checksum
CHANGED = "resource_data.settings_changed"


@pytest.fixture
def token(personas):
    _key, secret = create_api_key(
        personas.provider_admin, name="人口系统", organization=personas.provider_org
    )
    return secret


@pytest.fixture
def provider_clerk(personas):
    """Staff of the provider who sees its batches but does not manage its data."""
    return make_user("provider_clerk", Role.DEPT_USER, organization=personas.provider_org)


def policy(resource) -> str:
    data = ResourceData.objects.filter(resource=resource).first()
    return data.bad_row_policy if data else "reject"


def names(resource):
    return sorted(r["f002"] for r in store.read_rows(schema_for_version(resource.published_version)))


def settings_url(resource) -> str:
    return f"/api/v1/data/resources/{resource.pk}/settings"


def patch(client, resource, body, **headers):
    return client.patch(
        settings_url(resource), data=json.dumps(body), content_type="application/json", **headers
    )


def load(personas, resource, rows, mode=BatchMode.UPSERT):
    batch = services.submit_file(
        personas.provider_admin, resource, io.BytesIO(csv_bytes(rows)), file_name="people.csv", mode=mode
    )
    return services.apply_batch(batch.pk)


# --- services -----------------------------------------------------------------------------------------------------


def test_skip_loads_the_good_rows_and_replace_stays_whole(personas, resource):
    rejected = load(personas, resource, [*GOOD, BAD])
    assert (
        rejected.status == BatchStatus.REJECTED
        and rejected.bad_row_policy == "reject"
        and names(resource) == []
    )
    resource_settings.change_settings(personas.provider_admin, resource, bad_row_policy="skip")
    loaded = load(personas, resource, [*GOOD, BAD])
    assert loaded.status == BatchStatus.APPLIED and loaded.bad_row_policy == "skip"
    assert loaded.inserted == 2 and loaded.bad_rows == 1 and "1 行不合格" in loaded.message
    assert names(resource) == ["张三", "李四"]
    # A full replace with a bad row would retire the bad row's record if loaded without it: refused whole.
    replaced = load(personas, resource, [GOOD[0], BAD], mode=BatchMode.REPLACE)
    assert replaced.status == BatchStatus.REJECTED and replaced.bad_row_policy == "skip"
    assert names(resource) == ["张三", "李四"]


def test_change_is_audited_once_per_change(personas, resource):
    resource_settings.change_settings(personas.provider_cdo, resource, bad_row_policy="skip")
    resource_settings.change_settings(personas.provider_cdo, resource, bad_row_policy="skip")  # no change
    entries = AuditEntry.objects.filter(action=CHANGED)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.actor == personas.provider_cdo and entry.object_id == str(resource.pk)
    assert entry.details["bad_row_policy"] == {"from": "reject", "to": "skip"}


# --- API ----------------------------------------------------------------------------------------------------------


def test_api_reads_and_changes_the_policy(personas, resource, client_for):
    client = client_for(personas.provider_admin)
    read = client.get(settings_url(resource))
    assert read.status_code == 200
    assert read.json()["bad_row_policy"] == "reject" and read.json()["can_change"] is True
    assert {c["value"] for c in read.json()["bad_row_policies"]} == {"reject", "skip"}
    changed = patch(client, resource, {"bad_row_policy": "skip"})
    assert changed.status_code == 200, changed.json()
    assert (
        changed.json()["bad_row_policy"] == "skip"
        and changed.json()["bad_row_policy_label"] == "跳过不合格行并加载其余"
    )
    assert policy(resource) == "skip" and AuditEntry.objects.filter(action=CHANGED).count() == 1
    batch = load(personas, resource, [*GOOD, BAD])
    shown = client.get(f"/api/v1/data/batches/{batch.pk}").json()
    assert shown["bad_row_policy"] == "skip" and shown["status"] == "applied"


def test_api_refuses_an_unknown_policy(personas, resource, client_for):
    response = patch(client_for(personas.provider_admin), resource, {"bad_row_policy": "ignore"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_bad_row_policy"
    assert response.json()["message"].startswith("不合格行处理方式")
    missing = patch(client_for(personas.provider_admin), resource, {})
    assert missing.status_code == 422
    assert policy(resource) == "reject" and not AuditEntry.objects.filter(action=CHANGED).exists()


# persona → (GET status, PATCH status); 404 where the persona may not see the resource's batches at all.
API_MATRIX = {
    "provider_admin": (200, 200),
    "provider_cdo": (200, 200),
    "provider_clerk": (200, 403),
    "operator": (200, 403),
    "outsider": (404, 404),
    "consumer_cdo": (404, 404),
    "consumer_user": (404, 404),
    "authority": (404, 404),
    "auditor": (404, 404),
    "citizen": (404, 404),
}


@pytest.mark.parametrize("persona", sorted(API_MATRIX))
def test_api_permission_matrix(persona, personas, resource, client_for, provider_clerk):
    user = provider_clerk if persona == "provider_clerk" else getattr(personas, persona)
    client = client_for(user)
    expected_get, expected_patch = API_MATRIX[persona]
    read = client.get(settings_url(resource))
    assert read.status_code == expected_get, read.content
    if expected_get == 200:
        assert read.json()["can_change"] is (expected_patch == 200)
    changed = patch(client, resource, {"bad_row_policy": "skip"})
    assert changed.status_code == expected_patch, changed.content
    if expected_patch != 200:
        assert changed.json()["code"] in ("forbidden", "resource_not_found")
        assert policy(resource) == "reject" and not AuditEntry.objects.filter(action=CHANGED).exists()


def test_api_denies_anonymous_and_application_keys(personas, resource, token):
    assert Client().get(settings_url(resource)).status_code == 401
    anonymous = patch(Client(), resource, {"bad_row_policy": "skip"})
    assert anonymous.status_code in (401, 403)  # 401 unauthenticated (or the CSRF refusal before it)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    read = Client().get(settings_url(resource), **bearer)
    assert read.status_code == 200 and read.json()["can_change"] is False
    by_key = patch(Client(), resource, {"bad_row_policy": "skip"}, **bearer)
    assert by_key.status_code == 403 and by_key.json()["code"] == "forbidden"
    assert policy(resource) == "reject" and not AuditEntry.objects.filter(action=CHANGED).exists()


def test_api_unknown_resource_is_404(personas, client_for):
    assert (
        client_for(personas.provider_admin).get("/api/v1/data/resources/999999/settings").status_code == 404
    )


# --- pages --------------------------------------------------------------------------------------------------------


def test_settings_page_changes_the_policy_and_pages_show_it(personas, resource, client_for):
    client = client_for(personas.provider_admin)
    tab = client.get(f"/data/resources/{resource.pk}/").content.decode()
    assert 'data-testid="settings-tab"' in tab and "整批拒绝" in tab
    page = client.get(f"/data/resources/{resource.pk}/settings/")
    assert page.status_code == 200 and 'data-testid="settings-form"' in page.content.decode()
    assert "全量替换只要有不合格行就整批拒绝" in page.content.decode()
    saved = client.post(f"/data/resources/{resource.pk}/settings/", {"bad_row_policy": "skip"})
    assert saved.status_code == 302 and saved["Location"] == f"/data/resources/{resource.pk}/"
    assert policy(resource) == "skip" and AuditEntry.objects.filter(action=CHANGED).count() == 1
    tab = client.get(saved["Location"]).content.decode()
    assert "数据加载设置已保存" in tab and "跳过不合格行并加载其余" in tab
    upload_page = client.get(f"/data/resources/{resource.pk}/upload/").content.decode()
    assert 'data-testid="upload-policy"' in upload_page and "跳过不合格行并加载其余" in upload_page
    batch = load(personas, resource, [*GOOD, BAD])
    detail = client.get(f"/data/batches/{batch.pk}/").content.decode()
    assert 'data-testid="batch-policy"' in detail and "跳过不合格行并加载其余" in detail
    assert "1 行不合格，未加载" in detail


def test_settings_page_refuses_a_forged_value(personas, resource, client_for):
    response = client_for(personas.provider_admin).post(
        f"/data/resources/{resource.pk}/settings/", {"bad_row_policy": "ignore"}
    )
    assert response.status_code == 200 and 'data-testid="field-error"' in response.content.decode()
    assert policy(resource) == "reject"


# persona → status of GET and of POST on the settings page (anonymous: to the login page).
PAGE_MATRIX = {
    "provider_admin": (200, 302),
    "provider_cdo": (200, 302),
    "provider_clerk": (403, 403),
    "operator": (403, 403),
    "outsider": (404, 404),
    "consumer_cdo": (404, 404),
    "consumer_user": (404, 404),
    "citizen": (404, 404),
}


@pytest.mark.parametrize("persona", sorted(PAGE_MATRIX))
def test_settings_page_permission_matrix(persona, personas, resource, client_for, provider_clerk):
    user = provider_clerk if persona == "provider_clerk" else getattr(personas, persona)
    client = client_for(user)
    url = f"/data/resources/{resource.pk}/settings/"
    expected_get, expected_post = PAGE_MATRIX[persona]
    assert client.get(url).status_code == expected_get
    assert client.post(url, {"bad_row_policy": "skip"}).status_code == expected_post
    if expected_post != 302:
        assert policy(resource) == "reject" and not AuditEntry.objects.filter(action=CHANGED).exists()
        if expected_get == 200 or persona in ("operator", "provider_clerk"):
            tab = client.get(f"/data/resources/{resource.pk}/").content.decode()
            assert 'data-testid="settings-tab"' not in tab


def test_settings_page_sends_anonymous_to_login(resource):
    response = Client().get(f"/data/resources/{resource.pk}/settings/")
    assert response.status_code == 302 and "/login" in response["Location"]
    posted = Client().post(f"/data/resources/{resource.pk}/settings/", {"bad_row_policy": "skip"})
    assert posted.status_code in (302, 403) and policy(resource) == "reject"
