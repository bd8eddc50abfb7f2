"""The permission matrix (CONVENTIONS.md): for every catalog page and API operation, persona → expected status.

Each row runs every persona against the same objects; each request is rolled back so one persona's change does not
affect the next. A page or operation without a row fails `test_every_endpoint_has_a_row`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse

from tongshu.catalog import urls as catalog_urls
from tongshu.catalog.api import router as catalog_router
from tongshu.catalog.api_systems import router as systems_router
from tongshu.catalog.models import BusinessSystem
from tongshu.catalog.services import create_draft, submit
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import plain_items, valid_fields
from tongshu.standards.tests.factories import make_data_element

pytestmark = pytest.mark.django_db

PERSONAS = [
    "anonymous",
    "citizen",
    "consumer_user",
    "outsider",
    "provider_admin",
    "provider_cdo",
    "authority",
    "operator",
    "auditor",
]
STAFF = set(PERSONAS) - {"anonymous", "citizen"}
PROVIDER = {"provider_admin", "provider_cdo"}
OVERSEERS = {"authority", "operator"}


def expect(staff: int, *, anonymous: int, citizen: int | None = None, **special: int) -> dict[str, int]:
    """`staff` for every staff persona, then `special` by persona name or group (provider=, overseers=)."""
    result = {persona: staff for persona in STAFF}
    result["anonymous"] = anonymous
    result["citizen"] = citizen if citizen is not None else staff
    groups = {"provider": PROVIDER, "overseers": OVERSEERS}
    for name, status in special.items():
        for persona in groups.get(name, {name}):
            result[persona] = status
    return result


@dataclass
class Row:
    name: str
    method: str
    url: Any  # callable(objects) -> str
    expected: dict[str, int]
    data: Any = field(default_factory=dict)  # dict, or callable(objects) -> dict

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:")


def api(path: str) -> str:
    return f"/api/v1/catalog{path}"


P, D, S, B = "published", "draft", "submitted", "system"
API_OPEN = {"anonymous": 401}
PAGE_ANON = 302

ROWS = [
    # --- API ---
    Row("api:GET /resources", "get", lambda o: api("/resources"), expect(200, anonymous=401)),
    Row(
        "api:POST /resources",
        "post",
        lambda o: api("/resources"),
        expect(403, anonymous=401, provider=201),
        lambda o: {**valid_fields(name="新资源"), "provider_id": o.provider_org.pk, "items": plain_items()},
    ),
    Row(
        "api:GET /resources/{resource_id}",
        "get",
        lambda o: api(f"/resources/{o.published.pk}"),
        expect(200, anonymous=401, citizen=404),
    ),
    Row(
        "api:GET /resources/{resource_id} (draft)",
        "get",
        lambda o: api(f"/resources/{o.draft.resource_id}"),
        expect(404, anonymous=401, provider=200),
    ),
    Row(
        "api:PATCH /resources/{resource_id}",
        "patch",
        lambda o: api(f"/resources/{o.published.pk}"),
        expect(403, anonymous=401, citizen=404, provider=409),
        {"share_type": "none", "share_basis": "保密"},
    ),
    Row(
        "api:GET /resources/{resource_id}/versions",
        "get",
        lambda o: api(f"/resources/{o.published.pk}/versions"),
        expect(200, anonymous=401, citizen=404),
    ),
    Row(
        "api:POST /resources/{resource_id}/revisions",
        "post",
        lambda o: api(f"/resources/{o.published.pk}/revisions"),
        expect(403, anonymous=401, citizen=404, provider=201),
        {"reason": "修订"},
    ),
    Row(
        "api:POST /resources/{resource_id}/retire",
        "post",
        lambda o: api(f"/resources/{o.published.pk}/retire"),
        expect(403, anonymous=401, citizen=404, authority=200),
        {"reason": "停用"},
    ),
    Row(
        "api:GET /versions/{version_id}",
        "get",
        lambda o: api(f"/versions/{o.draft.pk}"),
        expect(404, anonymous=401, provider=200),
    ),
    Row(
        "api:PATCH /versions/{version_id}",
        "patch",
        lambda o: api(f"/versions/{o.draft.pk}"),
        expect(404, anonymous=401, provider=200),
        {"summary": "新的摘要"},
    ),
    Row(
        "api:GET /versions/{version_id}/diff",
        "get",
        lambda o: api(f"/versions/{o.published.published_version_id}/diff"),
        expect(200, anonymous=401, citizen=404),
    ),
    Row(
        "api:GET /versions/{version_id}/similar",
        "get",
        lambda o: api(f"/versions/{o.draft.pk}/similar"),
        expect(404, anonymous=401, provider=200),
    ),
    Row(
        "api:POST /versions/{version_id}/submit",
        "post",
        lambda o: api(f"/versions/{o.draft.pk}/submit"),
        expect(404, anonymous=401, provider_admin=403, provider_cdo=200),
    ),
    Row(
        "api:POST /versions/{version_id}/return",
        "post",
        lambda o: api(f"/versions/{o.submitted.pk}/return"),
        expect(404, anonymous=401, provider=403, authority=200),
        {"reason": "退回"},
    ),
    Row(
        "api:POST /versions/{version_id}/publish",
        "post",
        lambda o: api(f"/versions/{o.submitted.pk}/publish"),
        expect(404, anonymous=401, provider=403, authority=200),
        {"comment": ""},
    ),
    Row(
        "api:POST /versions/{version_id}/withdraw",
        "post",
        lambda o: api(f"/versions/{o.draft.pk}/withdraw"),
        expect(404, anonymous=401, provider=200),
        {"reason": ""},
    ),
    Row(
        "api:GET /review-queue",
        "get",
        lambda o: api("/review-queue"),
        expect(403, anonymous=401, authority=200),
    ),
    Row("api:GET /systems", "get", lambda o: api("/systems"), expect(200, anonymous=401)),
    Row(
        "api:POST /systems",
        "post",
        lambda o: api("/systems"),
        expect(403, anonymous=401, provider=201, outsider=201),
        {"name": "新业务系统"},
    ),
    Row(
        "api:GET /systems/report",
        "get",
        lambda o: api("/systems/report"),
        expect(403, anonymous=401, overseers=200),
    ),
    Row(
        "api:GET /systems/{system_id}",
        "get",
        lambda o: api(f"/systems/{o.system.pk}"),
        expect(404, anonymous=401, provider=200, overseers=200),
    ),
    Row(
        "api:PATCH /systems/{system_id}",
        "patch",
        lambda o: api(f"/systems/{o.system.pk}"),
        expect(404, anonymous=401, provider=200, overseers=403),
        {"description": "说明"},
    ),
    Row(
        "api:DELETE /systems/{system_id}",
        "delete",
        lambda o: api(f"/systems/{o.system.pk}"),
        expect(404, anonymous=401, provider=204, overseers=403),
    ),
    Row("api:GET /settings", "get", lambda o: api("/settings"), expect(200, anonymous=401, citizen=403)),
    Row(
        "api:PATCH /settings",
        "patch",
        lambda o: api("/settings"),
        expect(403, anonymous=401, operator=200),
        {"code_sequence_width": 6},
    ),
    # --- pages ---
    Row("index", "get", lambda o: reverse("catalog:index"), expect(302, anonymous=PAGE_ANON)),
    Row(
        "department",
        "get",
        lambda o: reverse("catalog:department"),
        expect(200, anonymous=PAGE_ANON, citizen=404),
    ),
    Row(
        "department_of",
        "get",
        lambda o: reverse("catalog:department_of", args=[o.provider_org.pk]),
        expect(403, anonymous=PAGE_ANON, provider=200, overseers=200),
    ),
    Row(
        "new_draft",
        "get",
        lambda o: reverse("catalog:new_draft"),
        expect(403, anonymous=PAGE_ANON, provider=200, outsider=200),
    ),
    Row(
        "resource_detail",
        "get",
        lambda o: reverse("catalog:resource_detail", args=[o.published.pk]),
        expect(200, anonymous=PAGE_ANON, citizen=404),
    ),
    Row(
        "resource_detail (draft)",
        "get",
        lambda o: reverse("catalog:resource_detail", args=[o.draft.resource_id]),
        expect(404, anonymous=PAGE_ANON, provider=200),
    ),
    Row(
        "start_revision",
        "post",
        lambda o: reverse("catalog:start_revision", args=[o.published.pk]),
        expect(403, anonymous=PAGE_ANON, citizen=404, provider=302),
        {"reason": "修订"},
    ),
    Row(
        "retire",
        "post",
        lambda o: reverse("catalog:retire", args=[o.published.pk]),
        expect(403, anonymous=PAGE_ANON, citizen=404, authority=302),
        {"reason": "停用"},
    ),
    Row(
        "version_detail",
        "get",
        lambda o: reverse("catalog:version_detail", args=[o.draft.pk]),
        expect(404, anonymous=PAGE_ANON, provider=302),
    ),
    Row(
        "edit_version",
        "get",
        lambda o: reverse("catalog:edit_version", args=[o.draft.pk]),
        expect(404, anonymous=PAGE_ANON, provider=200),
    ),
    Row(
        "submit",
        "post",
        lambda o: reverse("catalog:submit", args=[o.draft.pk]),
        expect(404, anonymous=PAGE_ANON, provider_admin=403, provider_cdo=302),
    ),
    Row(
        "withdraw",
        "post",
        lambda o: reverse("catalog:withdraw", args=[o.draft.pk]),
        expect(404, anonymous=PAGE_ANON, provider=302),
    ),
    Row(
        "item_row",
        "get",
        lambda o: reverse("catalog:item_row"),
        expect(200, anonymous=PAGE_ANON, citizen=403),
    ),
    Row(
        "element_search",
        "get",
        lambda o: reverse("catalog:element_search") + "?q=测试",
        expect(200, anonymous=PAGE_ANON, citizen=403),
    ),
    Row(
        "bind_element",
        "post",
        lambda o: reverse("catalog:bind_element"),
        expect(200, anonymous=PAGE_ANON, citizen=403),
        lambda o: {"item_key": "k1", "items-k1-name": "", "element_id": o.element.pk, "row_key": "k1"},
    ),
    Row(
        "editor_similar",
        "post",
        lambda o: reverse("catalog:editor_similar"),
        expect(200, anonymous=PAGE_ANON, citizen=403),
        {"name": "户籍"},
    ),
    Row(
        "review_queue",
        "get",
        lambda o: reverse("catalog:review_queue"),
        expect(403, anonymous=PAGE_ANON, authority=200),
    ),
    Row(
        "review_detail",
        "get",
        lambda o: reverse("catalog:review_detail", args=[o.submitted.pk]),
        expect(403, anonymous=PAGE_ANON, authority=200),
    ),
    Row(
        "return",
        "post",
        lambda o: reverse("catalog:return", args=[o.submitted.pk]),
        expect(403, anonymous=PAGE_ANON, authority=302),
        {"reason": "退回"},
    ),
    Row(
        "publish",
        "post",
        lambda o: reverse("catalog:publish", args=[o.submitted.pk]),
        expect(403, anonymous=PAGE_ANON, authority=302),
    ),
    Row(
        "systems", "get", lambda o: reverse("catalog:systems"), expect(200, anonymous=PAGE_ANON, citizen=403)
    ),
    Row(
        "system_new",
        "get",
        lambda o: reverse("catalog:system_new"),
        expect(403, anonymous=PAGE_ANON, provider=200, outsider=200),
    ),
    Row(
        "systems_report",
        "get",
        lambda o: reverse("catalog:systems_report"),
        expect(403, anonymous=PAGE_ANON, overseers=200),
    ),
    Row(
        "system_edit",
        "get",
        lambda o: reverse("catalog:system_edit", args=[o.system.pk]),
        expect(404, anonymous=PAGE_ANON, provider=200, overseers=403),
    ),
    Row(
        "system_delete",
        "post",
        lambda o: reverse("catalog:system_delete", args=[o.system.pk]),
        expect(404, anonymous=PAGE_ANON, provider=302, overseers=403),
    ),
    Row(
        "system_document",
        "get",
        lambda o: reverse("catalog:system_document", args=[o.system.pk]),
        expect(404, anonymous=PAGE_ANON, provider=200, overseers=200),
    ),
    Row(
        "settings",
        "get",
        lambda o: reverse("catalog:settings"),
        expect(403, anonymous=PAGE_ANON, operator=200),
    ),
]


class Rollback(Exception):
    pass


@pytest.fixture
def objects(personas: SimpleNamespace, settings: Any, tmp_path: Any) -> SimpleNamespace:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    published = make_resource(personas.provider_org, name="已发布资源")
    draft = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    pending = create_draft(
        personas.provider_admin,
        provider=personas.provider_org,
        fields=valid_fields(name="待审资源"),
        items=plain_items(),
    )
    submit(personas.provider_cdo, pending)
    system = BusinessSystem.objects.create(organization=personas.provider_org, name="人口管理系统")
    system.interface_document.save("api.pdf", ContentFile(b"%PDF-1.4 test"))
    return SimpleNamespace(
        published=published,
        draft=draft,
        submitted=pending,
        system=system,
        element=make_data_element("测试数据元"),
        provider_org=personas.provider_org,
    )


def _request(client: Any, row: Row, objects: SimpleNamespace) -> int:
    data = row.data(objects) if callable(row.data) else row.data
    url = row.url(objects)
    if row.is_api and row.method == "get":
        response = client.get(url)
    elif row.is_api:
        response = getattr(client, row.method)(url, json.dumps(data), content_type="application/json")
    elif row.method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data)
    return response.status_code


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_permission_matrix(
    row: Row, personas: SimpleNamespace, objects: SimpleNamespace, client_for: Any, anonymous: Any
) -> None:
    assert set(row.expected) == set(PERSONAS), row.name
    got = {}
    for persona in PERSONAS:
        client = anonymous if persona == "anonymous" else client_for(getattr(personas, persona))
        try:
            with transaction.atomic():
                got[persona] = _request(client, row, objects)
                raise Rollback
        except Rollback:
            pass
    assert got == row.expected


def test_every_endpoint_has_a_row() -> None:
    covered = {row.name.split(" (")[0] for row in ROWS}
    page_names = {pattern.name for pattern in catalog_urls.urlpatterns}
    assert page_names - covered == set()
    operations = set()
    for router, prefix in ((catalog_router, ""), (systems_router, "")):
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    operations.add(f"api:{method} {prefix}{path}")
    assert operations - covered == set()
