"""List pages and list endpoints do not grow their query count with the number of rows (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tongshu.catalog.models import BusinessSystem
from tongshu.catalog.services import create_draft, submit
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import plain_items, valid_fields

pytestmark = pytest.mark.django_db


def count_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def add_rows(personas, start, count):
    for n in range(start, start + count):
        system = BusinessSystem.objects.create(organization=personas.provider_org, name=f"业务系统{n}")
        make_resource(personas.provider_org, name=f"已发布资源{n}", business_system=system)
        version = create_draft(
            personas.provider_admin,
            provider=personas.provider_org,
            fields=valid_fields(name=f"待审资源{n}"),
            items=plain_items(3),
        )
        submit(personas.provider_cdo, version)


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("provider_admin", reverse("catalog:department")),
        ("authority", reverse("catalog:review_queue")),
        ("authority", reverse("catalog:systems")),
        ("authority", reverse("catalog:systems_report")),
        ("provider_admin", "/api/v1/catalog/resources?limit=100"),
        ("authority", "/api/v1/catalog/review-queue"),
        ("authority", "/api/v1/catalog/systems"),
        ("authority", "/api/v1/catalog/systems/report"),
    ],
)
def test_list_query_count_does_not_grow(personas, client_for, persona, url):
    client = client_for(getattr(personas, persona))
    add_rows(personas, 1, 2)
    client.get(url)  # the first request of a session also touches the session and login bookkeeping
    few = count_queries(client, url)
    add_rows(personas, 3, 6)
    many = count_queries(client, url)
    assert many == few, f"{url}: {few} queries with 2 rows of each kind, {many} with 8"
    assert few <= 25
