"""The permission matrix of the data plane's management API (pull sources, collection tasks, libraries), as NetBox
does: each row states once what every persona gets, and one test per row walks every persona. An operation of those
routers without a row fails the suite.

Each persona's request runs in a savepoint that is rolled back, so every persona meets the same state; a refused
request must also leave the configuration tables exactly as they were. Anonymous callers get 401 and application keys
403 (these are a person's operations); other departments, and staff without a manager's role, get 404 for objects
they may not see, 403 for lists and creations they may not make or objects they see but may not change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tongshu.accounts.roles import Role
from tongshu.accounts.services import create_api_key
from tongshu.accounts.tests.factories import make_user
from tongshu.catalog.tests.factories import make_resource
from tongshu.dataplane import collection, evolution, libraries
from tongshu.dataplane.api_collection import router as collection_router
from tongshu.dataplane.api_libraries import router as libraries_router
from tongshu.dataplane.api_sources import router as sources_router
from tongshu.dataplane.models import Batch, Library, LibraryMapping
from tongshu.dataplane.models_sources import CollectionSubmission, CollectionTask, PullSource
from tongshu.dataplane.sources import services as sources

from .helpers import make_people
from .sources_kit import small_resource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def department_servers(settings):
    """TONGSHU_PULL_ALLOWED_HOSTS: the test interfaces are on this machine (internal addresses are refused otherwise)."""
    settings.PULL_ALLOWED_HOSTS = ["127.0.0.1"]


# Denials first: a success may change state that a later persona's request would meet (it is rolled back anyway).
PERSONAS = (
    "anonymous",
    "key",
    "citizen",
    "consumer_user",
    "provider_user",
    "consumer_cdo",
    "outsider",
    "operator",
    "provider_cdo",
    "provider_admin",
)
MANAGERS = ("provider_admin", "provider_cdo")
OTHER_MANAGERS = ("outsider", "consumer_cdo")
STAFF = ("consumer_user", "provider_user", "consumer_cdo", "outsider", "operator", *MANAGERS)
WAYS = "/api/v1/data/ways"
LIBRARIES = "/api/v1/data/libraries"
LIBRARY_ITEMS = [
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("所属乡镇", "C", "C..20", False, True, False),
]
UNION = {"f001": "f001", "f002": "f002", "f004": "f003"}


def expect(default: int, **statuses: int) -> dict[str, int]:
    unknown = set(statuses) - set(PERSONAS)
    assert not unknown, unknown
    return {"anonymous": 401, "key": 403} | {p: default for p in PERSONAS[2:]} | statuses


def only(status: int, personas: tuple[str, ...], default: int, **others: int) -> dict[str, int]:
    return expect(default, **dict.fromkeys(personas, status), **others)


@dataclass(frozen=True)
class Row:
    name: str  # "METHOD /path" as the router declares it
    url: Callable[[SimpleNamespace], str]
    expected: dict[str, int]
    body: Callable[[SimpleNamespace], Any] = field(default=lambda w: {})

    @property
    def method(self) -> str:
        return self.name.split()[0].lower()


def task_values(w: SimpleNamespace, **values: Any) -> dict[str, Any]:
    return {
        "title": "志愿服务点信息征集",
        "purpose": "建立全县志愿服务点名录。",
        "fields": ["f001", "f002"],
        "deadline": timezone.now() + timedelta(days=7),
        "collector": "华容县公安局",
        "retention": "三年",
        "contact": "0730-4221234",
        **values,
    }


SOURCE_BODY = {"kind": "http", "name": "新接口", "url": "http://127.0.0.1:9/new", "rows_path": "data"}

ROWS = [
    # --- pull sources: the provider's managers; the operator sees them (as on the pages) but does not change them.
    Row(
        "GET /sources",
        lambda w: f"{WAYS}/sources",
        only(200, (*MANAGERS, *OTHER_MANAGERS, "operator"), 403),
    ),
    Row(
        "POST /sources",
        lambda w: f"{WAYS}/sources",
        only(201, MANAGERS, 403, outsider=404, consumer_cdo=404),
        lambda w: {**SOURCE_BODY, "resource_id": w.resource.pk},
    ),
    Row(
        "GET /sources/{source_id}",
        lambda w: f"{WAYS}/sources/{w.source.pk}",
        only(200, (*MANAGERS, "operator"), 404),
    ),
    Row(
        "PATCH /sources/{source_id}",
        lambda w: f"{WAYS}/sources/{w.source.pk}",
        only(200, MANAGERS, 404, operator=403),
        lambda w: {"name": "改名", "is_enabled": False},
    ),
    Row(
        "DELETE /sources/{source_id}",
        lambda w: f"{WAYS}/sources/{w.source.pk}",
        only(204, MANAGERS, 404, operator=403),
    ),
    Row(
        "GET /sources/{source_id}/runs",
        lambda w: f"{WAYS}/sources/{w.source.pk}/runs",
        only(200, (*MANAGERS, "operator"), 404),
    ),
    Row(
        "POST /sources/{source_id}/run",
        lambda w: f"{WAYS}/sources/{w.source.pk}/run",
        only(202, MANAGERS, 404, operator=403),
    ),
    # --- collection tasks: the provider's managers only.
    Row("GET /tasks", lambda w: f"{WAYS}/tasks", only(200, (*MANAGERS, *OTHER_MANAGERS), 403)),
    Row(
        "POST /tasks",
        lambda w: f"{WAYS}/tasks",
        only(201, MANAGERS, 403, outsider=404, consumer_cdo=404),
        lambda w: {
            **task_values(w),
            "deadline": task_values(w)["deadline"].isoformat(),
            "resource_id": w.resource.pk,
        },
    ),
    Row("GET /tasks/{task_id}", lambda w: f"{WAYS}/tasks/{w.open_task.pk}", only(200, MANAGERS, 404)),
    Row(
        "PATCH /tasks/{task_id}",
        lambda w: f"{WAYS}/tasks/{w.draft_task.pk}",
        only(200, MANAGERS, 404),
        lambda w: {"title": "改名"},
    ),
    Row(
        "POST /tasks/{task_id}/publish",
        lambda w: f"{WAYS}/tasks/{w.draft_task.pk}/publish",
        only(200, MANAGERS, 404),
    ),
    Row(
        "POST /tasks/{task_id}/close",
        lambda w: f"{WAYS}/tasks/{w.open_task.pk}/close",
        only(200, MANAGERS, 404),
    ),
    Row(
        "GET /tasks/{task_id}/submissions",
        lambda w: f"{WAYS}/tasks/{w.open_task.pk}/submissions",
        only(200, MANAGERS, 404),
    ),
    Row(
        "POST /submissions/{submission_id}/approve",
        lambda w: f"{WAYS}/submissions/{w.submission.pk}/approve",
        only(200, MANAGERS, 404),
    ),
    Row(
        "POST /submissions/{submission_id}/reject",
        lambda w: f"{WAYS}/submissions/{w.submission.pk}/reject",
        only(200, MANAGERS, 404),
        lambda w: {"reason": "信息不实"},
    ),
    Row(
        "POST /submissions/{submission_id}/reveal",
        lambda w: f"{WAYS}/submissions/{w.submission.pk}/reveal",
        only(200, MANAGERS, 404),
        lambda w: {"reason": "核对提交信息"},
    ),
    # --- libraries (the operator's 人口基础信息库): government staff read; the operator manages.
    Row("GET ", lambda w: LIBRARIES, only(200, STAFF, 403)),
    Row("GET /{resource_id}", lambda w: f"{LIBRARIES}/{w.target.pk}", only(200, STAFF, 403)),
    Row(
        "PUT /{resource_id}",
        lambda w: f"{LIBRARIES}/{w.target.pk}",
        only(200, ("operator",), 403),
        lambda w: {"kind": "base", "theme": "population", "description": "全县人口"},
    ),
    Row("GET /{resource_id}/lineage", lambda w: f"{LIBRARIES}/{w.target.pk}/lineage", only(200, STAFF, 403)),
    Row(
        "GET /{resource_id}/mappings", lambda w: f"{LIBRARIES}/{w.target.pk}/mappings", only(200, STAFF, 403)
    ),
    Row(
        "POST /{resource_id}/mappings",
        lambda w: f"{LIBRARIES}/{w.target.pk}/mappings",
        only(201, ("operator",), 403),
        lambda w: {"source_id": w.migrants.pk, "kind": "union", "field_map": UNION},
    ),
    Row(
        "PATCH /{resource_id}/mappings/{mapping_id}",
        lambda w: f"{LIBRARIES}/{w.target.pk}/mappings/{w.mapping.pk}",
        only(200, ("operator",), 403),
        lambda w: {"position": 3},
    ),
    Row(
        "DELETE /{resource_id}/mappings/{mapping_id}",
        lambda w: f"{LIBRARIES}/{w.target.pk}/mappings/{w.mapping.pk}",
        only(204, ("operator",), 403),
    ),
    Row(
        "POST /{resource_id}/refresh",
        lambda w: f"{LIBRARIES}/{w.target.pk}/refresh",
        only(202, ("operator",), 403),
    ),
]


@pytest.fixture
def world(personas: SimpleNamespace) -> SimpleNamespace:
    resource = small_resource(personas.provider_org)
    source = sources.save_source(
        personas.provider_admin,
        resource,
        {"kind": "http", "name": "上游接口", "url": "http://127.0.0.1:9/pages", "rows_path": "data.items"},
        auth_value="s3cret-token",
    )
    open_task = collection.create_task(personas.provider_admin, resource, task_values(SimpleNamespace()))
    draft_task = collection.create_task(
        personas.provider_admin, resource, task_values(SimpleNamespace(), title="草稿"), publish=False
    )
    submission = collection.submit(
        open_task.token,
        {"f001": "S001", "f002": "东山镇志愿服务点"},
        client_address="203.0.113.1",
        accepted_notice=True,
    )
    people = make_people(personas.provider_org)
    migrants = make_people(personas.provider_org, name="流动人口信息")
    target = make_resource(personas.operator_org, name="人口基础信息库", items=LIBRARY_ITEMS)
    evolution.evolve(target, None, target.published_version)
    library = libraries.declare_library(personas.operator, target, kind="base", theme="population")
    mapping = libraries.add_mapping(personas.operator, library, people, kind="union", field_map=UNION)
    return SimpleNamespace(
        resource=resource,
        source=source,
        open_task=open_task,
        draft_task=draft_task,
        submission=submission,
        migrants=migrants,
        target=target,
        mapping=mapping,
    )


def clients(personas: SimpleNamespace, client_for: Any) -> dict[str, Client]:
    provider_user = make_user("provider_user", Role.DEPT_USER, organization=personas.provider_org)
    _, token = create_api_key(personas.provider_admin, name="业务系统", organization=personas.provider_org)
    made = {"anonymous": Client(), "key": Client(HTTP_AUTHORIZATION=f"Bearer {token}")}
    made["provider_user"] = client_for(provider_user)
    for name in PERSONAS:
        if name not in made:
            made[name] = client_for(getattr(personas, name))
    return made


def configuration() -> list[Any]:
    """What a refused request must not touch."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (PullSource, CollectionTask, CollectionSubmission, Library, LibraryMapping)
    ] + [Batch.objects.count()]


class Undo(Exception):
    pass


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name.strip())
def test_permission_matrix(
    row: Row, personas: SimpleNamespace, world: SimpleNamespace, client_for: Any
) -> None:
    by_persona = clients(personas, client_for)
    url, body = row.url(world), row.body(world)
    for persona in PERSONAS:
        before = configuration()
        try:
            with transaction.atomic():
                if row.method == "get":
                    response = by_persona[persona].get(url)
                else:
                    response = getattr(by_persona[persona], row.method)(
                        url, json.dumps(body), content_type="application/json"
                    )
                expected = row.expected[persona]
                assert response.status_code == expected, (row.name, persona, response.content[:300])
                if expected >= 400:
                    answer = response.json()
                    assert answer["code"] and answer["message"] and not answer["message"].isascii()
                    assert configuration() == before, (row.name, persona, "a refused request changed state")
                raise Undo
        except Undo:
            pass


def test_every_management_operation_has_a_row() -> None:
    operations = {
        f"{method} {path}"
        for router in (sources_router, collection_router, libraries_router)
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))
    assert operations - set(names) == set(), "add these operations to the permission matrix"
    assert set(names) - operations == set(), "these rows name no operation"
