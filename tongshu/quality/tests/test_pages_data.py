"""The quality pages as part of a resource's data page: the rule form (fields by kind, Chinese empty options, a select
of the referenced resource's items fetched by htmx, a severity label true to the bad-row policy) and the dashboards
(a resource never loaded shows 从未加载 and counts as overdue; each row links to the data page)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from tongshu.dataplane.models import BadRowPolicy, ResourceData

from .factories import IDS, load, make_population, population_csv

pytestmark = pytest.mark.django_db
START = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def resource(personas):
    return make_population(personas.provider_org)


def test_rule_form_marks_each_parameter_with_its_kinds(personas, client_for, resource):
    html = (
        client_for(personas.provider_admin)
        .get(reverse("quality:rule_new", args=[resource.pk]))
        .content.decode()
    )
    assert "---------" not in html and "请选择信息资源" in html and "请选择信息项" in html
    assert re.search(r'data-kinds="range"[^>]*>\s*<label for="id_minimum"', html)
    assert re.search(r'data-kinds="pattern"[^>]*>\s*<label for="id_pattern"', html)
    assert re.search(r'id="target-field-row" data-kinds="reference"', html)
    assert re.search(r'data-kinds="id_birthdate id_sex date_order"[^>]*>\s*<label for="id_second_item"', html)
    assert "rule_form.js" in html
    # The referenced field is a select (its first choice: the key), refreshed by htmx when the resource changes.
    assert '<select name="target_field"' in html and "被引用资源的主键" in html
    assert f'hx-get="/quality/resources/{resource.pk}/rules/target-items/"' in html


def test_severity_label_follows_the_bad_row_policy(personas, client_for, resource):
    client = client_for(personas.provider_admin)
    url = reverse("quality:rule_new", args=[resource.pk])
    html = client.get(url).content.decode()
    assert "错误（整批拒绝" in html and "该行不予加载）" not in html
    ResourceData.objects.create(resource=resource, bad_row_policy=BadRowPolicy.SKIP)
    html = client.get(url).content.decode()
    assert "错误（该行不予加载，其余行照常加载）" in html and "整批拒绝" not in html


def test_referable_items_of_the_chosen_resource(personas, client_for, resource):
    target = make_population(personas.consumer_org, name="民政对象")
    url = reverse("quality:rule_target_items", args=[resource.pk]) + f"?target={target.pk}"
    fragment = client_for(personas.provider_admin).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.strip().startswith('<div class="form-row') and "<html" not in fragment
    assert 'value="f001"' in fragment and "公民身份号码（f001） · 主键" in fragment
    assert 'value="f003"' not in fragment  # neither a key nor queryable
    # Saving a reference to a chosen item works through the same form.
    response = client_for(personas.provider_admin).post(
        reverse("quality:rule_new", args=[resource.pk]),
        {
            "kind": "reference",
            "first_item": "f001",
            "target": target.pk,
            "target_field": "f002",
            "severity": "warning",
        },
    )
    assert response.status_code == 302
    assert resource.quality_rules.get().parameters == {"resource": target.pk, "field": "f002"}


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("provider_admin", 200),
        ("provider_cdo", 200),
        ("operator", 403),
        ("authority", 403),
        ("outsider", 404),
    ],
)
def test_referable_items_permissions(personas, client_for, resource, persona, status):
    url = reverse("quality:rule_target_items", args=[resource.pk]) + f"?target={resource.pk}"
    assert client_for(getattr(personas, persona)).get(url).status_code == status


def test_never_loaded_resource_is_not_current(personas, client_for):
    with time_machine.travel(START, tick=False):
        empty = make_population(personas.provider_org, name="从未加载的资源", update_cycle="07")
        current = make_population(personas.provider_org, update_cycle="07")
        load(personas.provider_admin, current, population_csv([(IDS[0], "张三", "2", "1949-12-31")]))
    with time_machine.travel(START + timedelta(days=2), tick=False):
        client = client_for(personas.provider_cdo)
        response = client.get(reverse("quality:department"))
        html = response.content.decode()
        assert response.context["summary"]["overdue"] == 1
        row = next(row for row in response.context["rows"] if row.resource == empty)
        assert row.never_loaded and row.is_overdue and row.last_update is None
        assert html.count('data-testid="never-loaded"') == 1 and "从未加载" in html and "无数据" in html
        assert html.count("按时") == 1  # only the loaded one
        assert f'href="/data/resources/{empty.pk}/" data-testid="data-page"' in html
        detail = client.get(reverse("quality:resource", args=[empty.pk])).content.decode()
        assert "从未加载" in detail and "发布时即应加载" in detail
        overdue = client.get(reverse("quality:overdue")).content.decode()
        assert "从未加载的资源" in overdue and "从未加载" in overdue
        rows = client.get("/api/v1/quality/overdue").json()
        assert [row["resource_id"] for row in rows] == [empty.pk]


def test_dashboard_data_links_only_for_those_allowed(personas, client_for, resource):
    html = (
        client_for(personas.authority)
        .get(reverse("quality:department") + f"?department={personas.provider_org.pk}")
        .content.decode()
    )
    # The authority has no batches tab: its data link is the quality tab.
    assert f'href="/quality/resources/{resource.pk}/" data-testid="data-page"' in html
    assert f"/data/resources/{resource.pk}/" not in html


def test_dashboard_links_cost_no_query_per_resource(personas, client_for, resource):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(personas.provider_cdo)
    client.get(reverse("quality:department"))  # warm caches (session, menus)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("quality:department")).status_code == 200
        return len(captured)

    few = queries()
    for number in range(4):
        make_population(personas.provider_org, name=f"资源{number}")
    assert queries() == few
