"""Scheduled pulls (第十九条): an upstream HTTP interface served by a local thread, department databases on the
machine's PostgreSQL and MariaDB; every fault leaves the resource's data unchanged and is reported on a batch."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.models_sources import PullSource
from tongshu.dataplane.sources import crypto, services
from tongshu.dataplane.sources.database import check_query
from tongshu.dataplane.sources.http import SourceFault, resolve

from .sources_kit import LOCAL, Upstream, live_rows, small_resource

pytestmark = pytest.mark.django_db
MAPPING = {"id": "f001", "name": "f002", "day": "f003", "people": "f004"}


@pytest.fixture
def resource(personas):
    return small_resource(personas.provider_org)


@pytest.fixture
def upstream(settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL  # the test interface listens on 127.0.0.1
    with Upstream() as server:
        yield server


def http_source(actor, resource, upstream, path="/pages", **values):
    fields = {
        "kind": "http",
        "name": "上游接口",
        "url": upstream.base + path,
        "rows_path": "$.data.items",
        "page_param": "page",
        "size_param": "size",
        "page_size": 2,
        "mapping": MAPPING,
        "timeout_seconds": 2,
        **values,
    }
    return services.save_source(actor, resource, fields, auth_value=values.pop("auth", None))


def test_paged_pull_loads_every_page(personas, resource, upstream):
    source = http_source(personas.provider_admin, resource, upstream)
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.APPLIED, run.batch.message
    assert run.batch.source == "pull_http" and run.batch.inserted == 5 and run.pages == 3
    assert [r["query"]["page"] for r in upstream.requests] == ["1", "2", "3"]
    assert live_rows(resource)[0] == ("A001", "服务点1")


def test_next_link_pagination(personas, resource, upstream):
    source = http_source(
        personas.provider_admin,
        resource,
        upstream,
        path="/linked",
        page_param="",
        size_param="",
        rows_path="result.rows",
        next_link_path="links.next",
    )
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.APPLIED and run.batch.inserted == 5 and run.pages == 3


def test_auth_header_is_sent_and_stored_encrypted(personas, resource, upstream):
    source = http_source(
        personas.provider_admin,
        resource,
        upstream,
        path="/secured",
        page_param="",
        rows_path="",
        auth_header_name="X-Token",
        auth="s3cret-token",
    )
    assert "s3cret" not in source.auth_header_secret and source.auth_header_secret.startswith("fernet:")
    assert crypto.decrypt(source.auth_header_secret) == "s3cret-token"
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.APPLIED and run.batch.inserted == 2
    # The key file sits outside the database, readable by its owner only.
    assert stat.S_IMODE(os.stat(crypto.key_file()).st_mode) == 0o600
    # Saving again without the secret keeps it; switching to SM4 re-encrypts it.
    source = services.save_source(personas.provider_admin, resource, {"cipher": "sm4"}, source=source)
    assert source.auth_header_secret.startswith("sm4:")
    assert crypto.decrypt(source.auth_header_secret) == "s3cret-token"


def test_sm4_round_trip_and_tamper_detected():
    stored = crypto.encrypt("postgresql://u:密码@db/x", "sm4")
    assert crypto.decrypt(stored) == "postgresql://u:密码@db/x"
    with pytest.raises(ValidationFailed):
        crypto.decrypt(stored[:-6] + ("AAAAAA" if not stored.endswith("AAAAAA") else "BBBBBB"))


@pytest.mark.parametrize(
    ("path", "values", "needle", "code"),
    [
        ("/garbage", {}, "不是有效的 JSON", "not_json"),
        ("/broken", {}, "HTTP 500", "http_status"),
        ("/hang", {"timeout_seconds": 1}, "超时", "timeout"),
        ("/pages", {"rows_path": "data.rows"}, "找不到数据行", "rows_path"),
        ("/pages", {"rows_path": "data.page"}, "不是数组", "rows_path"),
        ("/endless", {"max_pages": 3}, "页数超过上限", "too_many_pages"),
        ("/secured", {"page_param": "", "rows_path": ""}, "HTTP 401", "http_status"),
        ("/empty", {"mode": "replace"}, "0 行", "empty_replace"),
    ],
)
def test_faults_fail_the_batch_and_keep_data(personas, resource, upstream, path, values, needle, code):
    good = http_source(personas.provider_admin, resource, upstream)
    services.run_source(personas.provider_admin, good)
    before = live_rows(resource)
    source = http_source(personas.provider_admin, resource, upstream, path=path, name="故障源", **values)
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.FAILED and needle in run.batch.message, run.batch.message
    assert run.batch.reason_code == code
    assert live_rows(resource) == before
    # The owner hears about it in the message centre.
    assert personas.provider_admin.messages.filter(title__contains="故障源").exists()


def test_bad_rows_reject_the_batch_and_keep_data(personas, resource, upstream):
    services.run_source(personas.provider_admin, http_source(personas.provider_admin, resource, upstream))
    before = live_rows(resource)
    source = http_source(personas.provider_admin, resource, upstream, path="/bad-rows", page_param="")
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.REJECTED and run.batch.bad_rows == 1
    assert run.batch.reason_code == "bad_rows"
    assert live_rows(resource) == before


def test_permissions(personas, resource, upstream):
    for persona in (personas.outsider, personas.consumer_user, personas.consumer_cdo, personas.authority):
        with pytest.raises(PermissionDenied):
            http_source(persona, resource, upstream)
    source = http_source(personas.provider_cdo, resource, upstream)
    with pytest.raises(PermissionDenied):
        services.run_source(personas.outsider, source)
    assert not services.sources_visible_to(personas.outsider).exists()
    assert not services.sources_visible_to(personas.consumer_user).exists()
    assert services.sources_visible_to(personas.provider_admin).get() == source


def test_owner_who_lost_the_right_stops_scheduled_loads(personas, resource, upstream):
    source = http_source(personas.provider_admin, resource, upstream, every_minutes=5)
    personas.provider_admin.organization = personas.outsider_org
    personas.provider_admin.save()
    source.refresh_from_db()
    run = services.run_source(None, source, trigger="schedule")
    assert run.batch.status == BatchStatus.FAILED and "加载权限" in run.batch.message
    assert run.batch.reason_code == "owner_not_allowed"
    assert live_rows(resource) == []


def test_schedule_runs_due_sources_once(personas, resource, upstream):
    with time_machine.travel("2025-03-03 08:00 +0800", tick=False):
        every = http_source(personas.provider_admin, resource, upstream, every_minutes=30)
        nightly = http_source(personas.provider_admin, resource, upstream, name="每晚", cron="0 2 * * *")
        manual = http_source(personas.provider_admin, resource, upstream, name="手动")
        assert manual.next_run_at is None
        assert timezone.localtime(nightly.next_run_at).hour == 2
        assert services.run_due_sources() == 0
    with time_machine.travel("2025-03-03 08:31 +0800", tick=False):
        assert services.run_due_sources() == 1
        assert services.run_due_sources() == 0  # claimed: not run twice for the same slot
        every.refresh_from_db()
        assert every.next_run_at == timezone.now() + timedelta(minutes=30)
    with time_machine.travel("2025-03-04 02:00 +0800", tick=False):
        assert services.run_due_sources() == 2
    assert Batch.objects.filter(source="pull_http", status=BatchStatus.APPLIED).count() == 3


def test_configuration_is_validated(personas, resource, upstream):
    cases = [
        ({"url": "ftp://example.org/x"}, "url"),
        ({"cron": "every day"}, "cron"),
        ({"cron": "0 2 * * *", "every_minutes": 5}, "cron"),
        ({"mapping": {"id": "nope"}}, "mapping"),
        ({"rows_path": "data..[x"}, "rows_path"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"next_link_path": "links.next"}, "next_link_path"),
    ]
    for values, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            http_source(personas.provider_admin, resource, upstream, **values)
        assert caught.value.field == field, values
    with pytest.raises(ValidationFailed) as caught:
        http_source(personas.provider_admin, resource, upstream, auth_header_name="X-Token", auth="令牌")
    assert caught.value.field == "auth_value"
    assert not PullSource.objects.exists()


def test_json_paths():
    document = {"a": {"b": [{"c": [1, 2]}]}}
    assert resolve(document, "$.a.b[0].c") == [1, 2]
    assert resolve(document, "a.b.0.c") == [1, 2]
    assert resolve(document, "") == document
    with pytest.raises(KeyError):
        resolve(document, "a.x")


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM t",
        "SELECT 1; DROP TABLE t",
        "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
        "SELECT * INTO copy FROM t",
        "UPDATE t SET a = 1",
        "SELECT * FROM t FOR UPDATE",
        "",
    ],
)
def test_only_select_is_accepted(query):
    with pytest.raises(SourceFault):
        check_query(query)


def test_select_with_keywords_in_literals_and_comments_is_accepted():
    assert check_query("SELECT 'delete; drop' AS note, \"update\" FROM t -- insert\n WHERE a > 1;")
