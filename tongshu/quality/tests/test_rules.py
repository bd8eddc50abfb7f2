"""Department rules (第十五条): validation of a definition, who may edit, and what a load does with them."""

from __future__ import annotations

import pytest

from tongshu.catalog.tests.factories import make_resource
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import store
from tongshu.dataplane.models import BatchStatus
from tongshu.dataplane.schema import schema_for_version
from tongshu.quality import services
from tongshu.quality.models import QualityRule
from tongshu.security.models import AuditEntry

from .factories import IDS, bind_resident_id, load, make_population, population_csv

pytestmark = pytest.mark.django_db

ASSISTANCE_ITEMS = [
    ("救助编号", "C", "C..20", True, True, False),
    ("公民身份号码", "C", "C18", False, True, True),
    ("救助金额", "N", "N8,2", False, False, False),
    ("开始日期", "D", "D8", False, False, False),
    ("结束日期", "D", "D8", False, False, False),
]


@pytest.fixture
def population(personas):
    resource = make_population(personas.provider_org)
    batch = load(
        personas.provider_admin,
        resource,
        population_csv(
            [
                (IDS[0], "张三", "2", "1949-12-31"),
                (IDS[1], "李四", "1", "1990-01-01"),
                (IDS[2], "王五", "1", "1985-07-15"),
            ]
        ),
    )
    assert batch.status == BatchStatus.APPLIED, batch.error_sample
    return resource


@pytest.fixture
def assistance(personas):
    resource = make_resource(personas.consumer_org, name="最低生活保障对象", items=ASSISTANCE_ITEMS)
    bind_resident_id(resource)
    return resource


def test_reference_rule_reports_missing_ids_with_row_numbers(personas, population, assistance):
    services.create_rule(
        personas.consumer_cdo,
        assistance,
        kind="reference",
        items=["f002"],
        parameters={"resource": population.pk},
    )
    text = (
        "救助编号,公民身份号码,救助金额,开始日期,结束日期\n"
        f"A1,{IDS[0]},300.00,2024-01-01,2024-12-31\n"
        f"A2,{IDS[3]},300.00,2024-01-01,2024-12-31\n"  # a valid ID not in the population library
        f"A3,{IDS[1]},250.50,2024-01-01,2024-12-31\n"
    )
    batch = load(personas.consumer_cdo, assistance, text)
    assert batch.status == BatchStatus.REJECTED
    problems = [(e["row"], e["code"], e["value"]) for e in batch.error_sample]
    assert problems == [(3, "reference", IDS[3])]
    assert "户籍人口基本信息" in batch.error_sample[0]["reason"]
    assert store.count_rows(schema_for_version(assistance.published_version)) == 0
    # Once the person is in the population library, the same file loads.
    load(personas.provider_admin, population, population_csv([(IDS[3], "赵六", "2", "2000-12-12")]))
    assert load(personas.consumer_cdo, assistance, text).status == BatchStatus.APPLIED


def test_cross_range_and_pattern_rules_apply_on_load(personas, assistance):
    actor = personas.consumer_cdo
    services.create_rule(actor, assistance, kind="date_order", items=["f004", "f005"])
    services.create_rule(
        actor, assistance, kind="range", items=["f003"], parameters={"min": "0", "max": "5000"}
    )
    services.create_rule(actor, assistance, kind="pattern", items=["f001"], parameters={"pattern": r"A\d+"})
    services.create_rule(
        actor, assistance, kind="range", items=["f004"], parameters={"min": "2000-01-01"}, severity="warning"
    )
    text = (
        "救助编号,公民身份号码,救助金额,开始日期,结束日期\n"
        f"A1,{IDS[0]},300.00,2024-01-01,2024-12-31\n"
        f"A2,{IDS[1]},9000.00,2024-01-01,2024-12-31\n"
        f"B3,{IDS[2]},100.00,2024-06-01,2024-01-01\n"
        f"A4,{IDS[3]},100.00,1999-06-01,2024-01-01\n"
    )
    batch = load(actor, assistance, text)
    problems = sorted((e["row"], e["code"], e["severity"]) for e in batch.error_sample)
    assert problems == [
        (3, "rule_range", "error"),
        (4, "date_order", "error"),
        (4, "rule_pattern", "error"),
        (5, "rule_range", "warning"),
    ]


def test_other_department_and_plain_users_cannot_edit_rules(personas, population):
    for persona in (personas.outsider, personas.consumer_cdo, personas.operator, personas.authority):
        with pytest.raises(PermissionDenied):
            services.create_rule(persona, population, kind="id_sex", items=["f001", "f003"])
    rule = services.create_rule(personas.provider_admin, population, kind="id_sex", items=["f001", "f003"])
    with pytest.raises(PermissionDenied):
        services.update_rule(personas.outsider, rule, is_active=False)
    with pytest.raises(PermissionDenied):
        services.delete_rule(personas.consumer_user, rule)
    assert QualityRule.objects.get(pk=rule.pk).is_active
    services.delete_rule(personas.provider_cdo, rule)
    assert not QualityRule.objects.filter(pk=rule.pk).exists()
    actions = list(
        AuditEntry.objects.filter(action__startswith="quality.rule").values_list("action", flat=True)
    )
    assert sorted(actions) == ["quality.rule_created", "quality.rule_deleted"]


@pytest.mark.parametrize(
    ("kind", "items", "parameters", "field"),
    [
        ("range", ["f009"], {"min": 1}, "items"),  # no such item
        ("range", ["f002"], {"min": 1}, "items"),  # text item
        ("range", ["f004"], {}, "parameters"),  # no bound
        ("range", ["f004"], {"min": "2020-01-01", "max": "2019-01-01"}, "parameters"),
        ("range", ["f004"], {"min": "yesterday"}, "parameters"),
        ("pattern", ["f002"], {"pattern": "("}, "parameters"),
        ("pattern", ["f002"], {"pattern": ""}, "parameters"),
        ("date_order", ["f004"], {}, "items"),  # needs two
        ("date_order", ["f002", "f004"], {}, "items"),  # text is not a date
        ("id_birthdate", ["f001", "f002"], {}, "items"),
        ("reference", ["f001"], {"resource": 999999}, "parameters"),
        ("magic", ["f001"], {}, "kind"),
    ],
)
def test_invalid_definitions_are_refused(personas, population, kind, items, parameters, field):
    with pytest.raises(ValidationFailed) as error:
        services.create_rule(
            personas.provider_admin, population, kind=kind, items=items, parameters=parameters
        )
    assert error.value.field == field
    assert not QualityRule.objects.exists()


def test_update_revalidates(personas, population):
    rule = services.create_rule(
        personas.provider_admin, population, kind="range", items=["f004"], parameters={"min": "1900-01-01"}
    )
    with pytest.raises(ValidationFailed):
        services.update_rule(
            personas.provider_admin, rule, parameters={"min": "2020-01-01", "max": "2000-01-01"}
        )
    rule.refresh_from_db()
    assert rule.parameters == {"min": "1900-01-01", "max": None}
    services.update_rule(personas.provider_admin, rule, parameters={"max": "2030-12-31"}, severity="warning")
    rule.refresh_from_db()
    assert rule.parameters == {"min": None, "max": "2030-12-31"} and rule.severity == "warning"
