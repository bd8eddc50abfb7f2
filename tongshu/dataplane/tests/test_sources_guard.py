"""Pull sources cannot read the platform itself (review P0-1): no SQLite or other file database, never the platform's
control-plane or data-plane database, no loopback, private, link-local or metadata address unless the operator lists
it in TONGSHU_PULL_ALLOWED_HOSTS; redirects are not followed and every next-page link is checked; everything is checked
when a source is saved (service, page beside the field, API 400 with a code) and again when it runs."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tongshu.core.errors import ValidationFailed
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.models_sources import PullSource
from tongshu.dataplane.sources import services

from .sources_kit import LOCAL, Upstream, live_rows, small_resource

pytestmark = pytest.mark.django_db
PUBLIC = "93.184.215.14"  # a public address: saving connects nowhere, so nothing is sent to it
MAPPING = {"id": "f001", "name": "f002", "day": "f003", "people": "f004"}


@pytest.fixture
def resource(personas):
    return small_resource(personas.provider_org)


@pytest.fixture
def nothing_allowed(settings):
    settings.PULL_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


@pytest.fixture
def fake_dns(monkeypatch):
    """Names under .example answer what the test says (other names resolve as usual)."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def save_http(actor, resource, url, **values):
    fields = {
        "kind": "http",
        "name": "上游接口",
        "url": url,
        "rows_path": "$.data.items",
        "page_param": "page",
        "size_param": "size",
        "page_size": 2,
        "mapping": MAPPING,
        "timeout_seconds": 2,
        **values,
    }
    return services.save_source(actor, resource, fields)


def save_database(actor, resource, url):
    fields = {
        "kind": "database",
        "name": "部门业务库",
        "query": "SELECT code FROM people",
        "timeout_seconds": 2,
    }
    return services.save_source(actor, resource, fields, database_url=url)


def refused(call, code, field):
    with pytest.raises(ValidationFailed) as caught:
        call()
    assert caught.value.code == code and caught.value.field == field, (
        caught.value.code,
        caught.value.message,
    )
    assert caught.value.message and not caught.value.message.isascii()
    return caught.value.message


# --- saving ------------------------------------------------------------------------------------------------------
REFUSED_DATABASES = [
    ("sqlite:////tmp/review-var/tongshu.sqlite3", "database_not_allowed"),
    ("sqlite+pysqlite:///var/data.sqlite3", "database_not_allowed"),
    ("sqlite://", "database_not_allowed"),
    ("duckdb:///department.duckdb", "database_not_allowed"),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "address_not_allowed"),
    ("postgresql+psycopg://postgres@localhost/tongshu", "address_not_allowed"),
    ("mysql+pymysql://root:@127.0.0.1:3306/test", "address_not_allowed"),
    ("postgresql+psycopg://reader:pw@10.1.2.3:5432/gaj", "address_not_allowed"),
    ("postgresql+psycopg://reader:pw@169.254.169.254/x", "address_not_allowed"),
    ("postgresql+psycopg://reader@/tongshu?host=/var/run/postgresql", "url_option_not_allowed"),
    (f"postgresql+psycopg://reader@{PUBLIC}/gaj?hostaddr=127.0.0.1", "url_option_not_allowed"),
    (f"postgresql+psycopg://reader@{PUBLIC}/gaj?service=tongshu", "url_option_not_allowed"),
    (f"mysql+pymysql://reader@{PUBLIC}/gaj?local_infile=1", "url_option_not_allowed"),
    (f"mysql+pymysql://reader@{PUBLIC}/gaj?unix_socket=/run/mysqld/mysqld.sock", "url_option_not_allowed"),
    (f"mssql+pyodbc://reader@{PUBLIC}/gaj?driver=/tmp/evil.so", "url_option_not_allowed"),
    ("postgresql+psycopg:///tongshu", "bad_url"),
    ("not a url", "bad_url"),
]


@pytest.mark.parametrize("url,code", REFUSED_DATABASES)
def test_database_urls_refused_when_saved(personas, resource, nothing_allowed, url, code):
    refused(lambda: save_database(personas.provider_admin, resource, url), code, "database_url")
    assert not PullSource.objects.exists()


REFUSED_INTERFACES = [
    "http://127.0.0.1:8000/api/v1/data/browse/1/rows",
    "http://localhost/admin/",
    "http://[::1]:8000/",
    "http://127.1/",
    "http://0.0.0.0:8000/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/",
    "http://192.168.1.1/",
    "https://10.0.0.5/api",
    "http://224.0.0.1/",
]


@pytest.mark.parametrize("url", REFUSED_INTERFACES)
def test_internal_interface_addresses_refused_when_saved(personas, resource, nothing_allowed, url):
    message = refused(lambda: save_http(personas.provider_admin, resource, url), "address_not_allowed", "url")
    assert "不允许连接" in message
    assert not PullSource.objects.exists()


def test_unresolvable_host_is_refused(personas, resource, nothing_allowed):
    refused(
        lambda: save_http(personas.provider_admin, resource, "http://no-such-host.invalid/api"),
        "host_unresolvable",
        "url",
    )


def test_allow_list_opens_the_listed_hosts_and_networks_only(personas, resource, settings, fake_dns):
    fake_dns.update({"gaj.hrx.example": "10.43.1.2", "portal.hrx.example": "10.99.0.1"})
    settings.PULL_ALLOWED_HOSTS = ["127.0.0.1", "10.43.0.0/16", "*.hrx.example", "169.254.0.0/16"]
    admin = personas.provider_admin
    save_http(admin, resource, "http://127.0.0.1:8080/api", name="本机")
    save_http(admin, resource, "http://10.43.200.7/api", name="网段内")
    save_http(admin, resource, "http://portal.hrx.example/api", name="域名")  # listed by its domain
    save_database(admin, resource, "postgresql+psycopg://reader:pw@gaj.hrx.example:5432/gaj")
    refused(lambda: save_http(admin, resource, "http://10.44.0.1/api"), "address_not_allowed", "url")
    refused(lambda: save_http(admin, resource, "http://127.0.0.2/api"), "address_not_allowed", "url")
    # Metadata stays refused inside an allowed network; only listing the address itself opens it.
    metadata = "http://169.254.169.254/latest/meta-data/"
    refused(lambda: save_http(admin, resource, metadata), "address_not_allowed", "url")
    assert PullSource.objects.count() == 4
    settings.PULL_ALLOWED_HOSTS = ["169.254.169.254"]
    save_http(admin, resource, metadata, name="元数据")


def test_platform_databases_refused_even_when_their_server_is_allowed(personas, resource, settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL
    admin = personas.provider_admin
    config = settings.DATABASES["default"]
    if config["ENGINE"].endswith("sqlite3"):
        refused(
            lambda: save_database(admin, resource, f"sqlite:///{config['NAME']}"),
            "database_not_allowed",
            "database_url",
        )
    else:  # the PostgreSQL run: the control plane's own server, port and database
        own = f"postgresql+psycopg://{config['USER'] or 'postgres'}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"
        refused(lambda: save_database(admin, resource, own), "platform_database", "database_url")
    # A PostgreSQL data plane on this machine: its database under any spelling of the host, in any case.
    settings.DATA_URL = "postgresql+psycopg://tongshu:pw@127.0.0.1:5432/tongshu_data"
    for url in (
        "postgresql+psycopg://reader:x@localhost/tongshu_data",
        "postgresql+psycopg://reader:x@127.0.0.1:5432/TONGSHU_DATA",
        "postgresql+psycopg2://tongshu_data@127.0.0.1",  # no database: libpq takes the user's name
    ):
        message = refused(
            lambda url=url: save_database(admin, resource, url), "platform_database", "database_url"
        )
        assert "本平台" in message
    # Another database of an allowed server, or another server's database of that name, is the operator's choice.
    save_database(admin, resource, "postgresql+psycopg://reader:x@127.0.0.1:5432/gaj")
    save_database(admin, resource, "postgresql+psycopg://reader:x@127.0.0.1:5433/tongshu_data")
    # On MySQL/MariaDB one login reads every database of its server: the whole server is refused.
    settings.DATA_URL = "mysql+pymysql://tongshu:pw@127.0.0.1:3306/tongshu"
    refused(
        lambda: save_database(admin, resource, "mysql+pymysql://root@127.0.0.1/test"),
        "platform_database",
        "database_url",
    )
    assert PullSource.objects.count() == 2


# --- running: checked again ------------------------------------------------------------------------------------------
def test_a_narrowed_allow_list_stops_the_next_run(personas, resource, upstream, settings):
    settings.PULL_ALLOWED_HOSTS = LOCAL
    source = save_http(personas.provider_admin, resource, upstream.base + "/pages")
    assert services.run_source(personas.provider_admin, source).batch.status == BatchStatus.APPLIED
    before, requests = live_rows(resource), len(upstream.requests)
    settings.PULL_ALLOWED_HOSTS = []
    run = services.run_source(None, source, trigger="schedule")
    assert run.batch.status == BatchStatus.FAILED and "不允许连接内部地址" in run.batch.message
    assert "TONGSHU_PULL_ALLOWED_HOSTS" in run.batch.message
    assert len(upstream.requests) == requests and live_rows(resource) == before


def test_a_dns_answer_that_changes_after_saving_is_caught(
    personas, resource, upstream, nothing_allowed, fake_dns
):
    port = upstream.server.server_address[1]
    fake_dns["upstream.example"] = PUBLIC
    fake_dns["dept-db.example"] = PUBLIC
    web = save_http(personas.provider_admin, resource, f"http://upstream.example:{port}/pages")
    database = save_database(
        personas.provider_admin, resource, "postgresql+psycopg://reader:x@dept-db.example/gaj"
    )
    fake_dns["upstream.example"] = fake_dns["dept-db.example"] = "127.0.0.1"  # rebound to this machine
    for source in (web, database):
        run = services.run_source(personas.provider_admin, source)
        assert run.batch.status == BatchStatus.FAILED and "127.0.0.1" in run.batch.message, run.batch.message
        assert "不允许连接内部地址" in run.batch.message
    assert upstream.requests == [] and live_rows(resource) == []


def test_a_redirect_to_this_machine_is_not_followed(personas, resource, upstream, settings):
    port = upstream.server.server_address[1]
    settings.PULL_ALLOWED_HOSTS = ["localhost"]  # the interface by name; 127.0.0.1 itself is not listed
    upstream.location = f"http://127.0.0.1:{port}/pages"
    source = save_http(personas.provider_admin, resource, f"http://localhost:{port}/moved", page_param="")
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.FAILED and "重定向" in run.batch.message
    assert [request["path"] for request in upstream.requests] == ["/moved"]
    assert live_rows(resource) == []


def test_a_next_page_link_to_an_internal_address_is_refused(personas, resource, upstream, settings):
    port = upstream.server.server_address[1]
    settings.PULL_ALLOWED_HOSTS = ["localhost"]
    upstream.next_base = f"http://127.0.0.1:{port}"
    source = save_http(
        personas.provider_admin,
        resource,
        f"http://localhost:{port}/linked",
        page_param="",
        size_param="",
        rows_path="result.rows",
        next_link_path="links.next",
    )
    run = services.run_source(personas.provider_admin, source)
    assert run.batch.status == BatchStatus.FAILED and "127.0.0.1" in run.batch.message
    assert len(upstream.requests) == 1 and live_rows(resource) == []  # nothing of page 1 loaded either


# --- pages and API -------------------------------------------------------------------------------------------------
def form_data(resource, **values):
    return {
        "resource": resource.pk,
        "name": "上游接口",
        "is_enabled": "on",
        "mode": "upsert",
        "every_minutes": "",
        "cron": "",
        "mapping": "",
        "cipher": "fernet",
        "timeout_seconds": 5,
        "page_size": 2,
        "max_pages": 10,
        "auth_header_name": "",
        "auth_value": "",
        "rows_path": "data.items",
        "page_param": "",
        "size_param": "",
        "first_page": 1,
        "next_link_path": "",
        "url": "",
        "database_url": "",
        "query": "",
        "incremental_column": "",
        **values,
    }


@pytest.mark.parametrize(
    "values,field,needle",
    [
        (
            {"kind": "database", "database_url": "sqlite:////tmp/review-var/tongshu.sqlite3"},
            "database_url",
            "SQLite",
        ),
        (
            {"kind": "database", "database_url": "postgresql+psycopg://postgres@127.0.0.1/tongshu"},
            "database_url",
            "127.0.0.1",
        ),
        ({"kind": "http", "url": "http://127.0.0.1:8000/api/v1/"}, "url", "127.0.0.1"),
        ({"kind": "http", "url": "http://169.254.169.254/latest/meta-data/"}, "url", "元数据"),
    ],
)
def test_page_shows_the_refusal_beside_the_field(
    personas, resource, client_for, nothing_allowed, values, field, needle
):
    if values["kind"] == "database":
        values = {**values, "query": "SELECT code FROM people"}
    response = client_for(personas.provider_admin).post(
        "/data/ways/sources/new/", form_data(resource, **values)
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field] and needle in errors[field][0], errors
    assert not PullSource.objects.exists()


def test_run_now_refuses_a_source_that_is_no_longer_allowed(personas, resource, client_for, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.PULL_ALLOWED_HOSTS = LOCAL
    source = save_http(personas.provider_admin, resource, "http://127.0.0.1:9/pages")
    settings.PULL_ALLOWED_HOSTS = []
    client = client_for(personas.provider_admin)
    answer = client.post(f"/api/v1/data/ways/sources/{source.pk}/run")
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "address_not_allowed" and body["field"] == "url"
    assert "不允许连接内部地址" in body["message"]
    page = client.post(f"/data/ways/sources/{source.pk}/run/", follow=True)
    assert "不允许连接内部地址" in page.content.decode()
    assert not source.runs.exists() and not Batch.objects.exists()


def test_api_create_and_change_refuse_internal_targets(personas, resource, client_for, nothing_allowed):
    """The create/change endpoints (api_sources) call the same service: 400 with the code beside the field."""
    client = client_for(personas.provider_admin)

    def send(method, url, body):
        return getattr(client, method)(url, body, content_type="application/json")

    base = {"resource_id": resource.pk, "name": "源", "query": "SELECT code FROM people", "mapping": MAPPING}
    cases = [
        (
            {"kind": "database", "database_url": "sqlite:////tmp/review-var/tongshu.sqlite3"},
            "database_not_allowed",
        ),
        (
            {"kind": "database", "database_url": "postgresql+psycopg://postgres@127.0.0.1/x"},
            "address_not_allowed",
        ),
        ({"kind": "http", "url": "http://127.0.0.1:8000/"}, "address_not_allowed"),
        ({"kind": "http", "url": "http://169.254.169.254/latest/meta-data/"}, "address_not_allowed"),
    ]
    for values, code in cases:
        answer = send("post", "/api/v1/data/ways/sources", {**base, **values})
        body = answer.json()
        assert answer.status_code == 400 and body["code"] == code, body
        assert not body["message"].isascii()
    created = send(
        "post", "/api/v1/data/ways/sources", {**base, "kind": "http", "url": f"http://{PUBLIC}/api"}
    )
    assert created.status_code == 201, created.json()
    changed = send("patch", f"/api/v1/data/ways/sources/{created.json()['id']}", {"url": "http://127.0.0.1/"})
    assert changed.status_code == 400 and changed.json()["code"] == "address_not_allowed"
    assert PullSource.objects.get().url == f"http://{PUBLIC}/api"
