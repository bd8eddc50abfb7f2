"""Managing the ways in through the API (pull sources, collection tasks, libraries): the same services and checks as
the pages, secrets write-only, bad input 4xx with a Chinese message and a code and nothing stored. Who may call what
is walked persona by persona in test_api_manage_matrix.py; here, the behaviour and the object-level denials."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tongshu.catalog.tests.factories import make_resource
from tongshu.dataplane import collection, evolution, libraries
from tongshu.dataplane.models import BatchStatus, Library, LibraryMapping, RefreshStatus
from tongshu.dataplane.models_sources import CollectionStatus, CollectionTask, PullSource
from tongshu.dataplane.sources import crypto
from tongshu.dataplane.sources import services as sources
from tongshu.security.models import AuditEntry

from .helpers import load_csv, make_people, people_csv
from .sources_kit import Upstream, live_rows, small_resource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def department_servers(settings):
    """TONGSHU_PULL_ALLOWED_HOSTS: the test interfaces on this machine and DB_URL's server (internal addresses are refused otherwise)."""
    settings.PULL_ALLOWED_HOSTS = ["127.0.0.1", "10.1.2.3"]


WAYS = "/api/v1/data/ways"
LIBRARIES = "/api/v1/data/libraries"
DB_PASSWORD = "pw-Zq81x"
DB_URL = f"postgresql+psycopg://reader:{DB_PASSWORD}@10.1.2.3:5432/gaj"


def send(client, method, url, body=None):
    return getattr(client, method)(url, body if body is not None else {}, content_type="application/json")


@pytest.fixture
def resource(personas):
    return small_resource(personas.provider_org)


@pytest.fixture
def admin(personas, client_for):
    return client_for(personas.provider_admin)


def http_body(resource, **values):
    return {
        "resource_id": resource.pk,
        "kind": "http",
        "name": "上游接口",
        "url": "http://127.0.0.1:9/pages",
        "rows_path": "data.items",
        "page_param": "page",
        "size_param": "size",
        "page_size": 2,
        "mapping": {"id": "f001", "name": "f002", "day": "f003", "people": "f004"},
        "auth_header_name": "X-Token",
        "auth_header_value": "s3cret-token",
        **values,
    }


def db_body(resource, **values):
    return {
        "resource_id": resource.pk,
        "kind": "database",
        "name": "业务库",
        "database_url": DB_URL,
        "query": "SELECT id, name FROM people",
        "incremental_column": "id",
        "every_minutes": 60,
        **values,
    }


def stored(source_id):
    """Everything of a source as stored, to show a refused request changed nothing."""
    return PullSource.objects.filter(pk=source_id).values().get()


# --- pull sources ------------------------------------------------------------------------------------------------
def test_create_http_and_database_sources_secrets_are_write_only(personas, resource, admin):
    created = send(admin, "post", f"{WAYS}/sources", http_body(resource))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["auth_header_set"] is True and body["database_url_set"] is False
    assert body["kind"] == "http" and body["owner"] and body["mapping"]["id"] == "f001"
    source = PullSource.objects.get(pk=body["id"])
    assert source.auth_header_secret.startswith("fernet:") and "s3cret" not in source.auth_header_secret
    assert crypto.decrypt(source.auth_header_secret) == "s3cret-token"

    database = send(admin, "post", f"{WAYS}/sources", db_body(resource, cipher="sm4"))
    assert database.status_code == 201, database.content
    answer = database.json()
    assert answer["database_url_set"] is True and answer["database_dialect"] == "postgresql"
    assert answer["next_run_at"] and answer["schedule"] == "每 60 分钟"
    secret = PullSource.objects.get(pk=answer["id"]).database_secret
    assert secret.startswith("sm4:") and crypto.decrypt(secret) == DB_URL
    # No endpoint ever gives a secret back.
    for response in (
        created,
        database,
        admin.get(f"{WAYS}/sources"),
        admin.get(f"{WAYS}/sources/{answer['id']}"),
        send(admin, "patch", f"{WAYS}/sources/{answer['id']}", {"name": "业务库（只读）"}),
    ):
        text = response.content.decode()
        assert (
            DB_PASSWORD not in text and "s3cret" not in text and "fernet:" not in text and "sm4:" not in text
        )
    assert AuditEntry.objects.filter(action="source.created").count() == 2


def test_patch_changes_only_what_is_sent_and_keeps_or_replaces_secrets(personas, resource, admin, client_for):
    source_id = send(admin, "post", f"{WAYS}/sources", http_body(resource, every_minutes=30)).json()["id"]
    before = stored(source_id)
    cdo = client_for(personas.provider_cdo)
    disabled = send(cdo, "patch", f"{WAYS}/sources/{source_id}", {"is_enabled": False, "name": "停用的接口"})
    assert disabled.status_code == 200, disabled.content
    after = stored(source_id)
    assert after["is_enabled"] is False and after["next_run_at"] is None and after["name"] == "停用的接口"
    assert after["owner_id"] == personas.provider_cdo.pk  # scheduled runs now load on behalf of the CDO
    assert after["auth_header_secret"] == before["auth_header_secret"] and after["url"] == before["url"]
    # null or "" keep the secret; a value replaces it; a new cipher re-encrypts the stored one.
    send(cdo, "patch", f"{WAYS}/sources/{source_id}", {"auth_header_value": None})
    send(cdo, "patch", f"{WAYS}/sources/{source_id}", {"auth_header_value": ""})
    assert stored(source_id)["auth_header_secret"] == before["auth_header_secret"]
    send(cdo, "patch", f"{WAYS}/sources/{source_id}", {"auth_header_value": "new-token", "cipher": "sm4"})
    secret = stored(source_id)["auth_header_secret"]
    assert secret.startswith("sm4:") and crypto.decrypt(secret) == "new-token"
    # Switching to a database source needs its URL.
    refused = send(cdo, "patch", f"{WAYS}/sources/{source_id}", {"kind": "database", "query": "SELECT 1"})
    assert refused.status_code == 400 and refused.json()["field"] == "database_url"
    assert stored(source_id)["kind"] == "http"


def test_a_source_runs_from_the_api_after_being_created_there(personas, resource, admin, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with Upstream() as upstream:
        body = http_body(resource, url=upstream.base + "/secured", rows_path="", page_param="", size_param="")
        source_id = send(admin, "post", f"{WAYS}/sources", body).json()["id"]
        assert admin.post(f"{WAYS}/sources/{source_id}/run").status_code == 202
    [run] = admin.get(f"{WAYS}/sources/{source_id}/runs").json()
    assert run["batch_status"] == BatchStatus.APPLIED and run["rows_fetched"] == 2
    assert live_rows(resource) == [("A001", "服务点1"), ("A002", "服务点2")]


BAD_SOURCES = [
    ({"url": "ftp://example.org/x"}, 400, "bad_url", "url"),
    ({"url": "", "kind": "http"}, 400, "bad_url", "url"),
    ({"cron": "every day"}, 400, "invalid", "cron"),
    ({"cron": "0 2 * * *", "every_minutes": 5}, 400, "invalid", "cron"),
    ({"every_minutes": 0}, 400, "invalid", "every_minutes"),
    ({"mapping": {"id": "f999"}}, 400, "invalid", "mapping"),
    ({"rows_path": "data..[x"}, 400, "invalid", "rows_path"),
    ({"timeout_seconds": 0}, 400, "out_of_range", "timeout_seconds"),
    ({"page_size": 100_001}, 400, "out_of_range", "page_size"),
    ({"name": "  "}, 400, "required", "name"),
    ({"name": "名" * 101}, 400, "too_long", "name"),
    ({"kind": "ftp"}, 400, "invalid", "kind"),
    ({"mode": "append"}, 400, "invalid", "mode"),
    ({"cipher": "rot13"}, 400, "invalid", "cipher"),
    ({"auth_header_value": "令牌"}, 400, "invalid", "auth_header_value"),
    ({"auth_header_name": "X Token"}, 400, "invalid", "auth_header_name"),
    ({"page_param": "page", "next_link_path": "links.next"}, 400, "invalid", "next_link_path"),
    ({"auth_value": "typo"}, 422, "invalid_request", None),
    ({"page_size": "many"}, 422, "invalid_request", None),
]
BAD_DATABASE_SOURCES = [
    ({"query": "DELETE FROM people"}, "not_select", "query"),
    ({"query": "SELECT 1; DROP TABLE people"}, "not_select", "query"),
    ({"query": ""}, "empty_query", "query"),
    ({"incremental_column": "id; --"}, "bad_column", "incremental_column"),
    ({"incremental_column": "id", "mode": "replace"}, "invalid", "mode"),
    ({"database_url": ""}, "required", "database_url"),
    ({"database_url": "not a url"}, "bad_url", "database_url"),
]


@pytest.mark.parametrize("values,status,code,field", BAD_SOURCES)
def test_bad_http_source_is_refused_and_nothing_is_stored(resource, admin, values, status, code, field):
    existing = send(admin, "post", f"{WAYS}/sources", http_body(resource)).json()["id"]
    before = stored(existing)
    for response in (
        send(admin, "post", f"{WAYS}/sources", http_body(resource, **values)),
        send(admin, "patch", f"{WAYS}/sources/{existing}", values),
    ):
        body = response.json()
        assert response.status_code == status and body["code"] == code, (values, body)
        assert body["message"] and not body["message"].isascii()
        if field:
            assert body["field"] == field
    assert PullSource.objects.count() == 1 and stored(existing) == before


@pytest.mark.parametrize("values,code,field", BAD_DATABASE_SOURCES)
def test_bad_database_source_is_refused_and_nothing_is_stored(resource, admin, values, code, field):
    existing = send(admin, "post", f"{WAYS}/sources", db_body(resource)).json()["id"]
    before = stored(existing)
    created = send(admin, "post", f"{WAYS}/sources", db_body(resource, **values))
    assert created.status_code == 400 and created.json()["code"] == code and created.json()["field"] == field
    if values != {"database_url": ""}:  # on a change, an empty URL keeps the stored one
        changed = send(admin, "patch", f"{WAYS}/sources/{existing}", values)
        assert changed.status_code == 400 and changed.json()["code"] == code, changed.json()
    assert PullSource.objects.count() == 1 and stored(existing) == before


def test_page_refuses_a_malformed_database_url_beside_the_field(resource, admin):
    """The page and the API share the check (a malformed URL used to escape as a server error)."""
    data = {
        "resource": resource.pk,
        "kind": "database",
        "name": "业务库",
        "mode": "upsert",
        "cipher": "fernet",
        "timeout_seconds": 30,
        "page_size": 1000,
        "max_pages": 10,
        "first_page": 1,
        "database_url": "not a url",
        "query": "SELECT 1",
    }
    response = admin.post("/data/ways/sources/new/", data)
    assert response.status_code == 400 and "SQLAlchemy URL" in response.content.decode()
    assert not PullSource.objects.exists()


def test_delete_source_keeps_its_batches(personas, resource, admin):
    source = sources.save_source(
        personas.provider_admin,
        resource,
        {"kind": "http", "name": "源", "url": "http://127.0.0.1:9/x"},
    )
    failed = sources.run_source(personas.provider_admin, source)
    assert failed.batch.status == BatchStatus.FAILED
    deleted = admin.delete(f"{WAYS}/sources/{source.pk}")
    assert deleted.status_code == 204 and not PullSource.objects.exists()
    assert admin.get(f"{WAYS}/sources/{source.pk}").json()["code"] == "source_not_found"
    failed.batch.refresh_from_db()
    assert AuditEntry.objects.filter(action="source.deleted").exists()


def test_another_departments_resource_cannot_get_a_source(personas, resource, client_for):
    """The outsider is a data administrator, but of another department: its resources only."""
    own = small_resource(personas.outsider_org, name="水利工程名录")
    outsider = client_for(personas.outsider)
    refused = send(outsider, "post", f"{WAYS}/sources", http_body(resource))
    assert refused.status_code == 404 and refused.json()["code"] == "resource_not_found"
    assert send(outsider, "post", f"{WAYS}/sources", http_body(own)).status_code == 201
    assert list(PullSource.objects.values_list("resource_id", flat=True)) == [own.pk]


# --- collection tasks --------------------------------------------------------------------------------------------
def task_body(resource, **values):
    return {
        "resource_id": resource.pk,
        "title": "志愿服务点信息征集",
        "purpose": "建立全县志愿服务点名录。",
        "fields": ["f001", "f002", "f003"],
        "deadline": (timezone.now() + timedelta(days=7)).isoformat(),
        "collector": "华容县公安局",
        "retention": "自提交之日起保存三年",
        "contact": "0730-4221234",
        **values,
    }


def test_task_draft_change_publish_close(personas, resource, admin, anonymous):
    created = send(admin, "post", f"{WAYS}/tasks", task_body(resource))
    assert created.status_code == 201, created.content
    task = created.json()
    assert task["status"] == CollectionStatus.DRAFT and task["is_open"] is False
    assert task["published_at"] is None and "华容县公安局" in task["notice"]
    public = task["public_url"].removeprefix("http://testserver")
    assert anonymous.get(public).status_code == 404  # a draft's link tells nothing
    url = f"{WAYS}/tasks/{task['id']}"
    changed = send(admin, "patch", url, {"title": "服务点征集（修订）", "fields": ["f001", "f002", "f004"]})
    assert changed.status_code == 200 and changed.json()["title"] == "服务点征集（修订）"
    assert changed.json()["fields"] == ["f001", "f002", "f004"]
    assert changed.json()["retention"] == "自提交之日起保存三年"  # not sent, kept
    published = admin.post(f"{url}/publish")
    assert published.status_code == 200 and published.json()["status"] == CollectionStatus.OPEN
    assert published.json()["is_open"] and published.json()["published_at"]
    assert anonymous.get(public).status_code == 200
    locked = send(admin, "patch", url, {"title": "发布后改名"})
    assert locked.status_code == 409 and locked.json()["code"] == "task_not_draft"
    closed = send(admin, "post", f"{url}/close", {"reason": "已收集足够"})
    assert closed.status_code == 200 and closed.json()["status"] == CollectionStatus.CLOSED
    assert send(admin, "post", f"{url}/close").status_code == 200  # closing a closed task changes nothing
    again = admin.post(f"{url}/publish")
    assert (
        again.status_code == 409 and again.json()["code"] == "invalid_transition" and again.json()["message"]
    )
    assert anonymous.get(public).status_code == 410
    moves = AuditEntry.objects.filter(object_id=str(task["id"]), action__startswith="collection.")
    assert [(e.action, e.details.get("from"), e.details.get("to")) for e in moves.order_by("pk")] == [
        ("collection.drafted", "", "draft"),
        ("collection.changed", None, None),
        ("collection.published", "draft", "open"),
        ("collection.closed", "open", "closed"),
    ]
    assert moves.get(action="collection.closed").details["reason"] == "已收集足够"
    assert CollectionTask.objects.get().title == "服务点征集（修订）"


def test_task_published_at_once_and_listed(resource, admin):
    created = send(admin, "post", f"{WAYS}/tasks", task_body(resource, publish=True))
    assert created.status_code == 201 and created.json()["status"] == CollectionStatus.OPEN
    detail = admin.get(f"{WAYS}/tasks/{created.json()['id']}").json()
    assert detail["is_open"] and detail["pending"] == 0
    assert [t["id"] for t in admin.get(f"{WAYS}/tasks").json()] == [detail["id"]]


BAD_TASKS = [
    ({"purpose": " "}, 400, "required", "purpose"),
    ({"collector": ""}, 400, "required", "collector"),
    ({"retention": ""}, 400, "required", "retention"),
    ({"contact": ""}, 400, "required", "contact"),
    ({"title": "题" * 201}, 400, "too_long", "title"),
    ({"fields": ["f002", "f003"]}, 400, "missing_required_items", "fields"),
    ({"fields": ["f001", "nope"]}, 400, "required", "fields"),
    ({"deadline": "2020-01-01T00:00:00+08:00"}, 400, "invalid", "deadline"),
    ({"deadline": None}, 400, "invalid", "deadline"),
    ({"hourly_limit": 0}, 400, "out_of_range", "hourly_limit"),
    ({"per_address_hourly_limit": 100_001}, 400, "out_of_range", "per_address_hourly_limit"),
    ({"token": "mine"}, 422, "invalid_request", None),
    ({"deadline": "next week"}, 422, "invalid_request", None),
]


@pytest.mark.parametrize("values,status,code,field", BAD_TASKS)
def test_bad_task_is_refused_and_nothing_is_stored(personas, resource, admin, values, status, code, field):
    draft = send(admin, "post", f"{WAYS}/tasks", task_body(resource)).json()
    before = CollectionTask.objects.filter(pk=draft["id"]).values().get()
    for response in (
        send(admin, "post", f"{WAYS}/tasks", task_body(resource, **values)),
        send(admin, "patch", f"{WAYS}/tasks/{draft['id']}", values),
    ):
        body = response.json()
        assert response.status_code == status and body["code"] == code, (values, body)
        assert body["message"] and not body["message"].isascii()
        if field:
            assert body["field"] == field
    assert CollectionTask.objects.count() == 1
    assert CollectionTask.objects.filter(pk=draft["id"]).values().get() == before


def test_publishing_checks_the_deadline_again(resource, admin):
    task_id = send(admin, "post", f"{WAYS}/tasks", task_body(resource)).json()["id"]
    CollectionTask.objects.filter(pk=task_id).update(deadline=timezone.now() - timedelta(minutes=1))
    refused = admin.post(f"{WAYS}/tasks/{task_id}/publish")
    assert refused.status_code == 400 and refused.json()["field"] == "deadline"
    assert CollectionTask.objects.get().status == CollectionStatus.DRAFT
    later = (timezone.now() + timedelta(days=1)).isoformat()
    assert send(admin, "patch", f"{WAYS}/tasks/{task_id}", {"deadline": later}).status_code == 200
    assert admin.post(f"{WAYS}/tasks/{task_id}/publish").json()["status"] == CollectionStatus.OPEN


def test_task_pages_save_a_draft_edit_and_publish_it(personas, resource, admin, anonymous):
    form = {
        "title": "征集",
        "purpose": "目的",
        "collected_items": ["f001", "f002"],
        "deadline": "2099-01-01T10:00",
        "collector": "公安局",
        "retention": "三年",
        "contact": "电话",
        "per_address_hourly_limit": 10,
        "hourly_limit": 100,
    }
    response = admin.post(f"/data/ways/collection/new/?resource={resource.pk}", {**form, "draft": "1"})
    assert response.status_code == 302
    task = CollectionTask.objects.get()
    assert task.status == CollectionStatus.DRAFT
    page = admin.get(f"/data/ways/collection/{task.pk}/").content.decode()
    assert "草稿" in page and f"/data/ways/collection/{task.pk}/publish/" in page
    assert admin.get(f"/data/ways/collection/{task.pk}/edit/").status_code == 200
    bad = admin.post(f"/data/ways/collection/{task.pk}/edit/", {**form, "contact": ""})
    assert bad.status_code == 400
    saved = admin.post(f"/data/ways/collection/{task.pk}/edit/", {**form, "title": "征集（改）"})
    assert saved.status_code == 302
    task.refresh_from_db()
    assert task.title == "征集（改）" and task.status == CollectionStatus.DRAFT
    assert anonymous.get(f"/collect/{task.token}/").status_code == 404
    assert admin.post(f"/data/ways/collection/{task.pk}/publish/").status_code == 302
    task.refresh_from_db()
    assert task.status == CollectionStatus.OPEN
    assert admin.get(f"/data/ways/collection/{task.pk}/edit/").status_code == 409
    assert anonymous.get(f"/collect/{task.token}/").status_code == 200


def test_task_of_another_department_is_not_found(personas, resource, client_for):
    task = collection.create_task(
        personas.provider_admin,
        resource,
        {**task_body(resource), "deadline": timezone.now() + timedelta(days=3)},
        publish=False,
    )
    outsider = client_for(personas.outsider)
    for method, url in (
        ("get", f"{WAYS}/tasks/{task.pk}"),
        ("patch", f"{WAYS}/tasks/{task.pk}"),
        ("post", f"{WAYS}/tasks/{task.pk}/publish"),
        ("post", f"{WAYS}/tasks/{task.pk}/close"),
    ):
        response = send(outsider, method, url, {"title": "抢改"} if method == "patch" else {})
        assert response.status_code == 404 and response.json()["code"] == "task_not_found"
    refused = send(outsider, "post", f"{WAYS}/tasks", task_body(resource, publish=True))
    assert refused.status_code == 404 and refused.json()["code"] == "resource_not_found"
    task.refresh_from_db()
    assert task.status == CollectionStatus.DRAFT and task.title == "志愿服务点信息征集"
    assert CollectionTask.objects.count() == 1


# --- libraries ---------------------------------------------------------------------------------------------------
LIBRARY_ITEMS = [
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("所属乡镇", "C", "C..20", False, True, False),
    ("低保状态", "C", "C..10", False, False, False),
]
UNION = {"f001": "f001", "f002": "f002", "f004": "f003"}


@pytest.fixture
def world(personas, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    people = make_people(personas.provider_org)
    load_csv(personas.provider_admin, people, people_csv(6))
    welfare = make_resource(
        personas.consumer_org,
        name="低保对象",
        items=[
            ("公民身份号码", "C", "C18", True, True, True),
            ("保障状态", "C", "C..10", False, False, False),
        ],
    )
    evolution.evolve(welfare, None, welfare.published_version)
    target = make_resource(personas.operator_org, name="人口基础信息库", items=LIBRARY_ITEMS)
    evolution.evolve(target, None, target.published_version)
    return people, welfare, target


def test_operator_declares_maps_refreshes_and_reads_lineage(
    personas, world, client_for, django_capture_on_commit_callbacks
):
    people, welfare, target = world
    operator = client_for(personas.operator)
    base = f"{LIBRARIES}/{target.pk}"
    declared = send(operator, "put", base, {"kind": "base", "theme": "population", "description": "全县人口"})
    assert declared.status_code == 200 and declared.json()["kind"] == "base" and declared.json()["can_manage"]
    union = send(
        operator, "post", f"{base}/mappings", {"source_id": people.pk, "kind": "union", "field_map": UNION}
    )
    assert union.status_code == 201, union.content
    assert union.json()["position"] == 0 and union.json()["source_code"] == people.code
    again = send(
        operator, "post", f"{base}/mappings", {"source_id": people.pk, "kind": "union", "field_map": UNION}
    )
    assert again.status_code == 409 and again.json()["code"] == "mapping_exists"
    join = send(
        operator,
        "post",
        f"{base}/mappings",
        {"source_id": welfare.pk, "kind": "join", "field_map": {"f002": "f004"}, "join_on": {"f001": "f001"}},
    )
    assert join.status_code == 201 and join.json()["position"] == 1
    listed = operator.get(f"{base}/mappings").json()
    assert [(m["kind"], m["source_id"]) for m in listed] == [("union", people.pk), ("join", welfare.pk)]
    changed = send(
        operator, "patch", f"{base}/mappings/{union.json()['id']}", {"field_map": {**UNION}, "position": 5}
    )
    assert changed.status_code == 200 and changed.json()["position"] == 5
    assert [m["kind"] for m in operator.get(f"{base}/mappings").json()] == ["join", "union"]

    with django_capture_on_commit_callbacks(execute=True):
        refreshed = operator.post(f"{base}/refresh")
    assert refreshed.status_code == 202 and refreshed.json()["message"]
    detail = operator.get(base).json()
    assert detail["refresh_status"] == RefreshStatus.APPLIED and detail["last_batch_id"]
    lineage = (
        client_for(personas.consumer_user).get(f"{base}/lineage").json()
    )  # staff of any department read it
    assert lineage["rows"] == 6 and lineage["library"]["can_manage"] is False
    first = next(s for s in lineage["sources"] if s["kind"] == "union")
    assert first["rows"] == 6 and first["provider"] == personas.provider_org.name
    assert {
        "source_field": "f004",
        "source_label": "所属乡镇",
        "target_field": "f003",
        "target_label": "所属乡镇",
    } in (first["fields"])
    assert (
        next(s for s in lineage["sources"] if s["kind"] == "join")["join_fields"][0]["target_field"] == "f001"
    )

    deleted = operator.delete(f"{base}/mappings/{join.json()['id']}")
    assert deleted.status_code == 204
    assert [m["kind"] for m in operator.get(f"{base}/mappings").json()] == ["union"]
    assert operator.get(f"{base}/mappings/{join.json()['id']}").status_code in (404, 405)
    actions = set(
        AuditEntry.objects.filter(action__startswith="dataplane.library").values_list("action", flat=True)
    )
    assert {
        "dataplane.library_declared",
        "dataplane.library_mapping_added",
        "dataplane.library_mapping_changed",
        "dataplane.library_mapping_deleted",
        "dataplane.library_refresh_requested",
    } <= actions


def test_bad_mappings_are_refused_and_nothing_changes(personas, world, client_for):
    people, welfare, target = world
    library = libraries.declare_library(personas.operator, target, kind="base", theme="population")
    mapping = libraries.add_mapping(personas.operator, library, people, kind="union", field_map=UNION)
    operator = client_for(personas.operator)
    base = f"{LIBRARIES}/{target.pk}"
    cases = [
        ({"source_id": welfare.pk, "kind": "union", "field_map": {"f002": "f004"}}, 400, "key_not_mapped"),
        ({"source_id": welfare.pk, "kind": "join", "field_map": {"f002": "f004"}}, 400, "join_on_required"),
        (
            {
                "source_id": welfare.pk,
                "kind": "join",
                "field_map": {"nope": "f004"},
                "join_on": {"f001": "f001"},
            },
            400,
            "invalid_field_map",
        ),
        (
            {"source_id": welfare.pk, "kind": "join", "field_map": {}, "join_on": {"f001": "f001"}},
            400,
            "invalid_field_map",
        ),
        ({"source_id": welfare.pk, "kind": "merge", "field_map": {"f001": "f001"}}, 400, "invalid_kind"),
        ({"source_id": target.pk, "kind": "union", "field_map": {"f001": "f001"}}, 400, "mapping_cycle"),
        ({"source_id": 999_999, "kind": "union", "field_map": {"f001": "f001"}}, 404, "source_not_found"),
        ({"source_id": people.pk, "kind": "union", "field_map": ["f001"]}, 422, "invalid_request"),
    ]
    for body, status, code in cases:
        response = send(operator, "post", f"{base}/mappings", body)
        assert response.status_code == status and response.json()["code"] == code, (body, response.json())
        assert not response.json()["message"].isascii()
    url = f"{base}/mappings/{mapping.pk}"
    for body, status, code in (
        ({"field_map": {"f002": "f002"}}, 400, "key_not_mapped"),
        ({"field_map": {"f001": "f999"}}, 400, "invalid_field_map"),
        ({"position": -1}, 400, "out_of_range"),
        ({"kind": "join"}, 422, "invalid_request"),
    ):
        response = send(operator, "patch", url, body)
        assert response.status_code == status and response.json()["code"] == code, (body, response.json())
    # Whoever may not manage the library learns that first, whatever the body holds.
    outsider = client_for(personas.outsider)
    for method, target, body in (
        ("post", f"{base}/mappings", {"source_id": people.pk, "kind": "union", "field_map": {"x": "y"}}),
        ("patch", url, {"position": -1}),
    ):
        assert send(outsider, method, target, body).json()["code"] == "forbidden"
    assert list(LibraryMapping.objects.values_list("pk", "field_map", "position")) == [(mapping.pk, UNION, 0)]
    bad_theme = send(operator, "put", base, {"kind": "base", "theme": "weather"})
    assert bad_theme.status_code == 400 and bad_theme.json()["code"] == "invalid_theme"
    bad_kind = send(operator, "put", base, {"kind": "lake"})
    assert bad_kind.status_code == 400 and bad_kind.json()["code"] == "invalid_kind"
    assert Library.objects.get().theme == "population"
    other = make_resource(personas.operator_org, name="另一个库", items=LIBRARY_ITEMS)
    assert operator.get(f"{LIBRARIES}/{other.pk}").json()["code"] == "library_not_found"
    assert operator.get(f"{base}/mappings/999999").status_code in (404, 405)
    assert send(operator, "delete", f"{base}/mappings/999999").json()["code"] == "mapping_not_found"


def test_a_department_draws_only_from_its_own_resources(
    personas, world, client_for, django_capture_on_commit_callbacks
):
    """A department's own thematic library: its data administrator manages it, but another department's data
    comes in only through the operator (第十四条); the operator's library is not theirs to change."""
    people, welfare, target = world
    own = make_resource(personas.provider_org, name="重点人员主题库", items=LIBRARY_ITEMS)
    evolution.evolve(own, None, own.published_version)
    admin = client_for(personas.provider_admin)
    base = f"{LIBRARIES}/{own.pk}"
    assert send(admin, "put", base, {"kind": "thematic"}).status_code == 200
    refused = send(
        admin,
        "post",
        f"{base}/mappings",
        {"source_id": welfare.pk, "kind": "join", "field_map": {"f002": "f004"}, "join_on": {"f001": "f001"}},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "source_forbidden"
    mine = send(
        admin, "post", f"{base}/mappings", {"source_id": people.pk, "kind": "union", "field_map": UNION}
    )
    assert mine.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"{base}/refresh").status_code == 202
    assert len(live_rows(own)) == 6
    # The operator's library, and declaring it, stay the operator's.
    assert send(admin, "put", f"{LIBRARIES}/{target.pk}", {"kind": "base"}).status_code == 403
    assert list(LibraryMapping.objects.values_list("library__resource_id", "source_id")) == [
        (own.pk, people.pk)
    ]
