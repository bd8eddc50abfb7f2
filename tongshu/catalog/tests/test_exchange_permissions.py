"""The permission matrix of the catalog exchange (CONVENTIONS.md): every page and API operation, persona → status.

Each request runs in a transaction that is rolled back, so one persona's import does not affect the next. A page or
operation without a row fails `test_every_exchange_endpoint_has_a_row`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from tongshu.catalog import urls_exchange
from tongshu.catalog.api_exchange import dcat_router
from tongshu.catalog.api_exchange import router as exchange_router
from tongshu.catalog.tests.factories import make_resource
from tongshu.standards.tests.factories import make_category

from .exchange_fixtures import valid_workbook

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
GROUPS = {"provider": {"provider_admin", "provider_cdo"}, "overseers": {"authority", "operator"}}


def expect(staff: int, *, anonymous: int, citizen: int | None = None, **special: int) -> dict[str, int]:
    result = {persona: staff for persona in STAFF}
    result["anonymous"] = anonymous
    result["citizen"] = citizen if citizen is not None else staff
    for name, status in special.items():
        for persona in GROUPS.get(name, {name}):
            result[persona] = status
    return result


@dataclass
class Row:
    name: str
    method: str
    url: Any  # callable(objects) -> str
    expected: dict[str, int]
    upload: bool = False


def api(path: str) -> str:
    return f"/api/v1/catalog/exchange{path}"


def page(name: str, *args: Any) -> Any:
    return lambda o: reverse(f"catalog_exchange:{name}", args=args)


ROWS = [
    # --- API ---
    Row("api:GET /template", "get", lambda o: api("/template"), expect(200, anonymous=401, citizen=403)),
    Row(
        "api:POST /import",
        "post",
        lambda o: api("/import"),
        expect(
            403, anonymous=401, provider=201, outsider=201
        ),  # the outsider imports into its own department
        upload=True,
    ),
    Row(
        "api:GET /departments/{organization_id}/export",
        "get",
        lambda o: api(f"/departments/{o.provider_org.pk}/export"),
        expect(403, anonymous=401, provider=200, overseers=200),
    ),
    Row(
        "api:GET /departments/{organization_id}/export (drafts)",
        "get",
        lambda o: api(f"/departments/{o.provider_org.pk}/export?drafts=true"),
        expect(403, anonymous=401, provider=200),
    ),
    Row(
        "api:GET /county.xlsx",
        "get",
        lambda o: api("/county.xlsx"),
        expect(403, anonymous=401, overseers=200),
    ),
    Row(
        "api:GET /county.json",
        "get",
        lambda o: api("/county.json"),
        expect(403, anonymous=401, overseers=200),
    ),
    Row("api:GET dcat", "get", lambda o: "/api/v1/catalog/dcat", expect(200, anonymous=200)),
    # --- pages ---
    Row("home", "get", page("home"), expect(200, anonymous=302, citizen=403)),
    Row("template", "get", page("template"), expect(200, anonymous=302, citizen=403)),
    Row("import", "get", page("import"), expect(403, anonymous=302, provider=200, outsider=200)),
    Row(
        "import (upload)",
        "post",
        page("import"),
        expect(403, anonymous=302, provider=200, outsider=200),
        upload=True,
    ),
    Row(
        "import_errors", "get", page("import_errors", "csv"), expect(404, anonymous=302)
    ),  # nothing rejected yet
    Row("export", "get", page("export"), expect(200, anonymous=302, citizen=403)),  # one's own department
    Row(
        "export (other department)",
        "get",
        lambda o: reverse("catalog_exchange:export") + f"?organization={o.provider_org.pk}",
        expect(403, anonymous=302, provider=200, overseers=200),
    ),
    Row(
        "export (drafts of another department)",
        "get",
        lambda o: reverse("catalog_exchange:export") + f"?organization={o.provider_org.pk}&drafts=1",
        expect(403, anonymous=302, provider=200),
    ),
    Row("county", "get", page("county"), expect(403, anonymous=302, overseers=200)),
    Row("county_export", "get", page("county_export", "json"), expect(403, anonymous=302, overseers=200)),
    Row("catalog_dcat", "get", lambda o: reverse("catalog_dcat"), expect(200, anonymous=200)),
]


class Rollback(Exception):
    pass


@pytest.fixture
def objects(personas: SimpleNamespace) -> SimpleNamespace:
    make_category("101", "人口")
    make_resource(personas.provider_org, name="已发布资源")
    return SimpleNamespace(provider_org=personas.provider_org, workbook=valid_workbook(1))


def _request(client: Any, row: Row, objects: SimpleNamespace) -> int:
    url = row.url(objects)
    if row.method == "get":
        return client.get(url).status_code
    data = {}
    if row.upload:
        data["file"] = SimpleUploadedFile("目录.xlsx", objects.workbook)
    return client.post(url, data).status_code


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_exchange_permission_matrix(
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


def test_every_exchange_endpoint_has_a_row() -> None:
    covered = {row.name.split(" (")[0] for row in ROWS}
    assert {pattern.name for pattern in urls_exchange.urlpatterns} - covered == set()
    operations = set()
    for router, prefix in ((exchange_router, ""), (dcat_router, "dcat")):
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    operations.add(f"api:{method} {prefix}{path}")
    assert operations - covered == set()
