"""Pages and API of data quality: the permission matrix (every persona, every page and endpoint), content, forms."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from tongshu.core.dashboards import panels_for
from tongshu.quality import services
from tongshu.quality.models import QualityRule

from .factories import IDS, load, make_population, population_csv

pytestmark = pytest.mark.django_db
START = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PERSONAS = (
    "operator",
    "security_admin",
    "auditor",
    "authority",
    "provider_cdo",
    "provider_admin",
    "consumer_cdo",
    "consumer_user",
    "outsider",
    "inspector",
    "citizen",
)
VIEWERS = {"operator", "authority", "provider_cdo", "provider_admin"}
MANAGERS = {"provider_cdo", "provider_admin"}
DEPARTMENT_STAFF = {"provider_cdo", "provider_admin", "consumer_cdo", "consumer_user", "outsider"}


@pytest.fixture
def world(personas):
    with time_machine.travel(START, tick=False):
        resource = make_population(personas.provider_org, update_cycle="03")
        load(personas.provider_admin, resource, population_csv([(IDS[0], "张三", "2", "1949-12-31")]))
        rule = services.create_rule(personas.provider_admin, resource, kind="id_sex", items=["f001", "f003"])
    return resource, rule


def _pages(resource, rule):
    return [
        (reverse("quality:department"), VIEWERS | DEPARTMENT_STAFF),
        (reverse("quality:platform"), {"operator", "authority"}),
        (reverse("quality:overdue"), {"operator", "authority"} | DEPARTMENT_STAFF),
        (reverse("quality:resource", args=[resource.pk]), VIEWERS),
        (reverse("quality:rule_new", args=[resource.pk]), MANAGERS),
        (reverse("quality:rule_edit", args=[resource.pk, rule.pk]), MANAGERS),
    ]


def test_page_matrix(personas, client_for, anonymous, world):
    resource, rule = world
    for url, allowed in _pages(resource, rule):
        assert anonymous.get(url).status_code == 302, url
        for name in PERSONAS:
            status = client_for(getattr(personas, name)).get(url).status_code
            expected = (
                200 if name in allowed else (404 if "resources/" in url and name not in VIEWERS else 403)
            )
            assert status == expected, (url, name, status)


def test_api_matrix(personas, client_for, anonymous, world):
    resource, rule = world
    base = "/api/v1/quality"
    reads = [
        (f"{base}/resources/{resource.pk}/score", VIEWERS),
        (f"{base}/resources/{resource.pk}/scores", VIEWERS),
        (f"{base}/resources/{resource.pk}/rules", VIEWERS),
        (f"{base}/rules/{rule.pk}", VIEWERS),
    ]
    for url, allowed in reads:
        assert anonymous.get(url).status_code == 401
        for name in PERSONAS:
            status = client_for(getattr(personas, name)).get(url).status_code
            assert status == (200 if name in allowed else 404), (url, name, status)
    for name in PERSONAS:
        client = client_for(getattr(personas, name))
        overdue = client.get(f"{base}/overdue").status_code
        assert overdue == (200 if name in {"operator", "authority"} | DEPARTMENT_STAFF else 403), name
        listed = client.get(f"{base}/resources").json()
        assert listed["count"] == (1 if name in VIEWERS else 0), name
        body = {"kind": "range", "items": ["f004"], "parameters": {"min": "1900-01-01"}}
        created = client.post(f"{base}/resources/{resource.pk}/rules", body, content_type="application/json")
        assert created.status_code == (201 if name in MANAGERS else 404 if name not in VIEWERS else 403), name
        patched = client.patch(
            f"{base}/rules/{rule.pk}", {"is_active": False}, content_type="application/json"
        )
        assert patched.status_code == (200 if name in MANAGERS else 404 if name not in VIEWERS else 403), name
    assert QualityRule.objects.filter(kind="range").count() == 2


def test_api_rule_errors_and_delete(personas, client_for, world):
    resource, rule = world
    client = client_for(personas.provider_cdo)
    bad = client.post(
        f"/api/v1/quality/resources/{resource.pk}/rules",
        {"kind": "pattern", "items": ["f002"], "parameters": {"pattern": "("}},
        content_type="application/json",
    )
    assert (
        bad.status_code == 400
        and bad.json()["code"] == "invalid_rule"
        and bad.json()["field"] == "parameters"
    )
    assert client_for(personas.outsider).delete(f"/api/v1/quality/rules/{rule.pk}").status_code == 404
    assert client.delete(f"/api/v1/quality/rules/{rule.pk}").status_code == 204
    assert not QualityRule.objects.filter(pk=rule.pk).exists()


def test_scores_api_and_overdue(personas, client_for, world):
    resource, _rule = world
    client = client_for(personas.operator)
    with time_machine.travel(START + timedelta(days=10), tick=False):
        rescored = client.post(f"/api/v1/quality/resources/{resource.pk}/score")
        assert rescored.status_code == 201 and rescored.json()["timeliness"] == 70.0
        overdue = client.get("/api/v1/quality/overdue").json()
        history = client.get(f"/api/v1/quality/resources/{resource.pk}/scores").json()
        refused = client_for(personas.consumer_cdo).post(f"/api/v1/quality/resources/{resource.pk}/score")
    assert [entry["resource_id"] for entry in overdue] == [resource.pk] and overdue[0]["days_overdue"] == 3
    assert history["count"] == 2 and history["items"][0]["timeliness"] == 70.0
    assert refused.status_code == 404


def test_pages_show_scores_overdue_and_charts(personas, client_for, world):
    resource, _rule = world
    with time_machine.travel(START + timedelta(days=10), tick=False):
        department = client_for(personas.provider_cdo).get(reverse("quality:department")).content.decode()
        platform = client_for(personas.operator).get(reverse("quality:platform")).content.decode()
        page = client_for(personas.provider_admin).get(reverse("quality:resource", args=[resource.pk]))
        panels = {panel["name"]: panel for panel in panels_for(personas.provider_cdo)}
        operator_panels = {panel["name"]: panel for panel in panels_for(personas.operator)}
    assert 'data-testid="overdue-badge"' in department and "户籍人口基本信息" in department
    assert 'id="quality-chart" type="application/json"' in platform and "<script>" not in platform
    assert "华容县公安局" in platform
    chart = json.loads(
        page.content.decode().split('id="quality-chart" type="application/json">')[1].split("</script>")[0]
    )
    assert len(chart["history"]) == 1 and page.context["can_manage"] and page.context["overdue"]
    assert panels["quality.department"]["overdue"] == 1
    assert operator_panels["quality.platform"]["overdue"] == 1
    assert [entry["organization"] for entry in operator_panels["quality.platform"]["departments"]] == [
        personas.provider_org
    ]


def test_rule_form_shows_errors_beside_fields_and_saves(personas, client_for, world):
    resource, rule = world
    client = client_for(personas.provider_admin)
    url = reverse("quality:rule_new", args=[resource.pk])
    response = client.post(url, {"kind": "range", "first_item": "f004", "minimum": "", "severity": "error"})
    assert response.status_code == 200
    assert "请至少填写最小值或最大值" in response.context["form"].errors["minimum"][0]
    response = client.post(
        url,
        {
            "kind": "range",
            "first_item": "f004",
            "minimum": "1900-01-01",
            "severity": "warning",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert QualityRule.objects.filter(resource=resource, kind="range", severity="warning").exists()
    edit = reverse("quality:rule_edit", args=[resource.pk, rule.pk])
    client.post(edit, {"kind": "id_sex", "first_item": "f001", "second_item": "f003", "severity": "warning"})
    rule.refresh_from_db()
    assert rule.severity == "warning" and not rule.is_active
    assert (
        client_for(personas.outsider).post(reverse("quality:rule_delete", args=[rule.pk])).status_code == 404
    )
    assert client.post(reverse("quality:rule_delete", args=[rule.pk])).status_code == 302
    assert not QualityRule.objects.filter(pk=rule.pk).exists()
