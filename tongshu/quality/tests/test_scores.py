"""Quality scores on a small fixture (第十三条), timeliness against the update cycle, overdue to-dos (第二十二条)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tongshu.catalog.tests.factories import make_resource
from tongshu.core.models import Message, MessageKind
from tongshu.dataplane.models import ResourceData
from tongshu.quality import overdue, services
from tongshu.quality.models import OverdueAlert, QualityScore
from tongshu.quality.scoring import compute_score

from .factories import IDS, bind_standard_elements, load, make_population, population_csv

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 3, 3, 9, 0, tzinfo=TZ)

ROWS = [
    (IDS[0], "张三", "2", "1949-12-31"),
    (IDS[1], "李四", "1", "1990-01-01"),
    (IDS[2], "王五", "2", "1985-07-15"),  # the ID says male
    (IDS[3], "李四", "1", "1990-01-01"),  # the ID says female; repeats row 2 on every non-key item
    (IDS[4], "", "1", "1970-01-01"),  # no name
]


def test_scores_on_a_small_fixture(personas):
    with time_machine.travel(START, tick=False):
        resource = make_population(personas.provider_org)
        load(personas.provider_admin, resource, population_csv(ROWS))
        first = QualityScore.objects.get(resource=resource)  # computed after the batch
        assert first.row_count == 5 and first.completeness == 95.0 and first.validity == 100.0
        assert first.uniqueness == 80.0 and first.consistency is None and first.timeliness == 100.0
        assert first.overall == round((95 + 100 + 80 + 100) / 4, 1)
        # Rules added later judge the stored rows.
        services.create_rule(personas.provider_admin, resource, kind="id_sex", items=["f001", "f003"])
        services.create_rule(
            personas.provider_admin, resource, kind="range", items=["f004"], parameters={"max": "1989-12-31"}
        )
        score = services.recompute_score(personas.provider_cdo, resource)
    assert (score.completeness, score.validity, score.uniqueness, score.consistency, score.timeliness) == (
        95.0,
        60.0,
        80.0,
        60.0,
        100.0,
    )
    assert score.overall == 79.0
    assert score.details["problems"] == {"id_sex": 2, "rule_range": 2}
    names = {item["label"]: item["filled"] for item in score.details["items"]}
    assert names["姓名"] == 80.0 and names["公民身份号码"] == 100.0
    assert services.latest_score(resource) == score


def test_cross_rules_the_data_elements_imply_are_scored_under_consistency(personas):
    with time_machine.travel(START, tick=False):
        resource = make_population(personas.provider_org)
        load(personas.provider_admin, resource, population_csv(ROWS))
        assert QualityScore.objects.get(resource=resource).consistency is None  # no cross rule yet
        # The catalog binds 出生日期 and 性别 to the standard data elements: the rules they imply judge the stored rows.
        bind_standard_elements(resource, {"出生日期": ("DE0004", "D", "D8"), "性别": ("DE0003", "C", "C1")})
        score = services.recompute_score(personas.provider_cdo, resource)
    assert score.consistency == 60.0 and score.validity == 100.0
    assert score.details["problems"] == {"id_sex": 2, "id_birthdate": 1}
    assert score.details["inconsistent_rows"] == 2
    assert score.overall == round((95 + 100 + 80 + 60 + 100) / 5, 1)


def test_the_score_after_a_batch_is_computed_once_for_batches_in_a_row(personas):
    """The task queued after each batch skips when a score newer than the batch exists already."""
    from tongshu.quality.tasks import compute_resource_score

    with time_machine.travel(START, tick=False):
        resource = make_population(personas.provider_org)
        first = load(personas.provider_admin, resource, population_csv(ROWS[:2]))
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        second = load(personas.provider_admin, resource, population_csv(ROWS[2:3]))
    scores = QualityScore.objects.filter(resource=resource)
    assert scores.count() == 2  # the immediate task backend scored after each batch
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        latest = compute_score(resource)  # e.g. the first of the queued tasks, run after both batches
    with time_machine.travel(START + timedelta(minutes=3), tick=False):
        assert compute_resource_score.call(resource.pk, first.pk) == latest.overall  # nothing to do
        assert compute_resource_score.call(resource.pk, second.pk) == latest.overall
        assert scores.count() == 3
        compute_resource_score.call(resource.pk)  # no batch named: always computed
        assert scores.count() == 4


def test_score_of_an_empty_resource_is_timeliness_only(personas):
    with time_machine.travel(START, tick=False):
        resource = make_population(personas.provider_org, update_cycle="04")
    with time_machine.travel(START + timedelta(days=62), tick=False):
        score = compute_score(resource)
    # Never loaded: not current at all, whatever the cycle.
    assert score.row_count == 0 and score.completeness is None and score.validity is None
    assert score.timeliness == 0.0 and score.overall == 0.0


def _loaded_at(resource, when):
    ResourceData.objects.update_or_create(resource=resource, defaults={"last_loaded_at": when})


@pytest.mark.parametrize(
    ("cycle", "days", "expected"),
    [
        ("02", 1, 100.0),
        ("02", 2, 50.0),
        ("03", 7, 100.0),
        ("03", 14, 50.0),
        ("05", 92, 100.0),
        ("99", 400, None),
    ],
)
def test_timeliness_follows_the_update_cycle(personas, cycle, days, expected):
    with time_machine.travel(START, tick=False):
        resource = make_population(personas.provider_org, update_cycle=cycle)
        load(personas.provider_admin, resource, population_csv(ROWS[:1]))
    with time_machine.travel(START + timedelta(days=days), tick=False):
        assert compute_score(resource).timeliness == expected
        assert overdue.timeliness(resource).is_overdue(START + timedelta(days=days)) == (expected == 50.0)


def test_overdue_todos_are_posted_once_and_closed_by_a_batch(personas):
    with time_machine.travel(START, tick=False):
        late = make_population(personas.provider_org, update_cycle="03")
        load(personas.provider_admin, late, population_csv(ROWS[:2]))
        irregular = make_resource(personas.consumer_org, update_cycle="99")  # loaded: never overdue
        fresh = make_resource(personas.outsider_org, update_cycle="07")
        _loaded_at(irregular, START)
        _loaded_at(fresh, START)
    with time_machine.travel(START + timedelta(days=8), tick=False):
        opened = overdue.check_overdue()
        assert [alert.resource for alert in opened] == [late]
        assert overdue.check_overdue() == []  # not posted twice
    todos = Message.objects.filter(topic=f"quality.overdue:{late.pk}", kind=MessageKind.TODO)
    assert sorted(todos.values_list("recipient__username", flat=True)) == ["provider_admin", "provider_cdo"]
    notices = Message.objects.filter(recipient=personas.operator, topic="quality.overdue")
    assert notices.count() == 1 and "户籍人口基本信息" in notices.get().body
    assert not Message.objects.filter(topic=f"quality.overdue:{fresh.pk}").exists()
    with time_machine.travel(START + timedelta(days=9), tick=False):
        load(personas.provider_admin, late, population_csv(ROWS[2:3]))
    assert todos.filter(done_at__isnull=True).count() == 0
    assert OverdueAlert.objects.get(resource=late).closed_at is not None
    with time_machine.travel(START + timedelta(days=10), tick=False):
        assert overdue.check_overdue() == []


def test_a_never_loaded_resource_is_overdue_from_its_publication(personas):
    with time_machine.travel(START, tick=False):
        empty = make_resource(personas.provider_org, update_cycle="99")  # even an irregular one
    timely = overdue.timeliness(empty)
    assert timely.never_loaded and timely.last_update is None
    assert timely.due_at == empty.published_version.published_at
    with time_machine.travel(START + timedelta(days=3), tick=False):
        assert (
            timely.is_overdue(START + timedelta(days=3))
            and timely.days_overdue(START + timedelta(days=3)) == 3
        )
        opened = overdue.check_overdue()
    assert [alert.resource for alert in opened] == [empty]
    todo = Message.objects.get(topic=f"quality.overdue:{empty.pk}", recipient=personas.provider_admin)
    assert "至今未加载任何数据" in todo.body
