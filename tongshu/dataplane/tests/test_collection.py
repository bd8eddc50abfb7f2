"""Public collection tasks (第十二条): the personal-information notice must be accepted, submissions are validated,
rate-limited and held for review, the task closes at its deadline; only the provider's managers review."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tongshu.accounts.tests.loginkit import solved_captcha
from tongshu.core.errors import PermissionDenied, RateLimited, ValidationFailed
from tongshu.dataplane import collection
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.models_sources import CollectionStatus, CollectionSubmission, SubmissionStatus

from .sources_kit import live_rows, small_resource

pytestmark = pytest.mark.django_db
GOOD = {"f001": "S001", "f002": "东山镇志愿服务点", "f003": "2024-06-01", "f004": "8"}


@pytest.fixture
def resource(personas):
    return small_resource(personas.provider_org)


@pytest.fixture
def task(personas, resource):
    return collection.create_task(
        personas.provider_admin,
        resource,
        {
            "title": "志愿服务点信息征集",
            "purpose": "建立全县志愿服务点名录，便于群众就近参与志愿服务。",
            "fields": ["f001", "f002", "f003", "f004"],
            "deadline": timezone.now() + timedelta(days=7),
            "collector": "华容县公安局",
            "retention": "自提交之日起保存三年",
            "contact": "0730-4221234",
        },
    )


def public_post(client, task, values, *, accept=True, ip="203.0.113.5"):
    page = client.get(f"/collect/{task.token}/", REMOTE_ADDR=ip)
    data = {**values, **solved_captcha(page)}
    if accept:
        data["accept_notice"] = "on"
    return client.post(f"/collect/{task.token}/", data, REMOTE_ADDR=ip)


def test_public_form_shows_the_notice_and_needs_no_login(anonymous, task):
    page = anonymous.get(f"/collect/{task.token}/")
    text = page.content.decode()
    assert page.status_code == 200
    for needle in (
        "华容县公安局",
        "建立全县志愿服务点名录",
        "自提交之日起保存三年",
        "0730-4221234",
        "登记日期",
    ):
        assert needle in text
    assert 'name="captcha_1"' in text and "accept_notice" in text
    assert anonymous.get("/collect/no-such-token/").status_code == 404


def test_submission_needs_the_notice_accepted(anonymous, task):
    response = public_post(anonymous, task, GOOD, accept=False)
    assert response.status_code == 400 and "请先阅读并同意个人信息处理告知" in response.content.decode()
    assert not CollectionSubmission.objects.exists()
    with pytest.raises(ValidationFailed):
        collection.submit(task.token, GOOD, client_address="203.0.113.5", accepted_notice=False)


def test_wrong_captcha_is_refused(anonymous, task):
    anonymous.get(f"/collect/{task.token}/")
    response = anonymous.post(
        f"/collect/{task.token}/", {**GOOD, "accept_notice": "on", "captcha_0": "x", "captcha_1": "nope"}
    )
    assert response.status_code == 400 and not CollectionSubmission.objects.exists()


def test_submission_is_validated_and_held_for_review(personas, anonymous, task, resource):
    response = public_post(anonymous, task, {**GOOD, "f003": "2024-02-30", "f004": "八"})
    text = response.content.decode()
    assert response.status_code == 400 and "不是有效日期" in text and "不是整数" in text
    assert not CollectionSubmission.objects.exists()
    response = public_post(anonymous, task, GOOD)
    assert response.status_code == 200 and "已提交" in response.content.decode()
    submission = CollectionSubmission.objects.get()
    assert submission.status == SubmissionStatus.PENDING and submission.values["f002"] == "东山镇志愿服务点"
    assert "203.0.113.5" not in submission.client_hash and "华容县公安局" in submission.notice_text
    assert live_rows(resource) == []  # nothing is loaded before review
    assert personas.provider_admin.messages.filter(title__contains="待审核").exists()


def test_rate_limit_per_address_and_per_task(anonymous, task):
    for n in range(10):
        collection.submit(
            task.token, {**GOOD, "f001": f"S{n:03d}"}, client_address="198.51.100.7", accepted_notice=True
        )
    response = public_post(anonymous, task, {**GOOD, "f001": "S999"}, ip="198.51.100.7")
    assert response.status_code == 429 and "每小时最多提交 10 次" in response.content.decode()
    collection.submit(
        task.token, GOOD, client_address="198.51.100.8", accepted_notice=True
    )  # another address
    task.hourly_limit = 11
    task.save()
    with pytest.raises(RateLimited):
        collection.submit(task.token, GOOD, client_address="198.51.100.9", accepted_notice=True)
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        collection.submit(task.token, GOOD, client_address="198.51.100.7", accepted_notice=True)


def test_task_closes_at_its_deadline(anonymous, task):
    with time_machine.travel(task.deadline + timedelta(minutes=1)):
        response = anonymous.get(f"/collect/{task.token}/")
        assert response.status_code == 410 and "已于截止时间结束" in response.content.decode()
        task.refresh_from_db()
        assert task.status == CollectionStatus.CLOSED
    with pytest.raises(collection.TaskClosed):
        collection.submit(task.token, GOOD, client_address="1.2.3.4", accepted_notice=True)


def test_periodic_job_closes_expired_tasks(task):
    assert collection.close_expired() == 0
    with time_machine.travel(task.deadline + timedelta(seconds=1)):
        assert collection.close_expired() == 1
    task.refresh_from_db()
    assert task.status == CollectionStatus.CLOSED and task.closed_at is not None


def test_approve_loads_a_batch_and_reject_needs_a_reason(personas, task, resource):
    first = collection.submit(task.token, GOOD, client_address="1.1.1.1", accepted_notice=True)
    second = collection.submit(
        task.token, {**GOOD, "f001": "S002"}, client_address="1.1.1.1", accepted_notice=True
    )
    approved = collection.approve(personas.provider_cdo, first)
    assert approved.status == SubmissionStatus.APPROVED and approved.batch.source == "collection"
    assert approved.batch.status == BatchStatus.APPLIED and live_rows(resource) == [
        ("S001", "东山镇志愿服务点")
    ]
    with pytest.raises(ValidationFailed):
        collection.approve(personas.provider_cdo, first)  # already reviewed
    with pytest.raises(ValidationFailed):
        collection.reject(personas.provider_admin, second, "  ")
    rejected = collection.reject(personas.provider_admin, second, "信息不实")
    assert rejected.status == SubmissionStatus.REJECTED and rejected.reason == "信息不实"
    assert live_rows(resource) == [("S001", "东山镇志愿服务点")]
    # A submission for an existing key is flagged for the reviewer.
    third = collection.submit(
        task.token, {**GOOD, "f002": "新名称"}, client_address="1.1.1.2", accepted_notice=True
    )
    assert collection.existing_record(task, third)


def test_task_configuration_is_validated(personas, resource):
    base = {
        "title": "t",
        "purpose": "p",
        "fields": ["f002"],
        "deadline": timezone.now() + timedelta(days=1),
        "collector": "c",
        "retention": "r",
        "contact": "x",
    }
    with pytest.raises(ValidationFailed) as caught:
        collection.create_task(personas.provider_admin, resource, base)
    assert caught.value.field == "fields" and "编号" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        collection.create_task(
            personas.provider_admin, resource, {**base, "fields": ["f001"], "deadline": timezone.now()}
        )
    assert caught.value.field == "deadline"
    for name in ("purpose", "retention", "contact", "collector"):
        with pytest.raises(ValidationFailed) as caught:
            collection.create_task(personas.provider_admin, resource, {**base, "fields": ["f001"], name: " "})
        assert caught.value.field == name


def test_permissions(personas, task, client_for, anonymous):
    submission = collection.submit(task.token, GOOD, client_address="1.1.1.1", accepted_notice=True)
    for persona in (personas.outsider, personas.consumer_user, personas.consumer_cdo, personas.operator):
        with pytest.raises(PermissionDenied):
            collection.approve(persona, submission)
        with pytest.raises(PermissionDenied):
            collection.create_task(persona, task.resource, {})
        client = client_for(persona)
        assert client.get(f"/data/ways/collection/{task.pk}/").status_code in (403, 404)
        assert client.post(f"/data/ways/collection/submissions/{submission.pk}/approve/").status_code == 404
    assert anonymous.get(f"/data/ways/collection/{task.pk}/").status_code == 302
    assert anonymous.post(f"/data/ways/collection/submissions/{submission.pk}/approve/").status_code == 302
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING and not Batch.objects.exists()


def test_pages(personas, client_for, resource):
    client = client_for(personas.provider_admin)
    assert client.get("/data/ways/collection/").status_code == 200
    assert client.get(f"/data/ways/collection/new/?resource={resource.pk}").status_code == 200
    response = client.post(
        f"/data/ways/collection/new/?resource={resource.pk}",
        {
            "title": "征集",
            "purpose": "目的",
            "collected_items": ["f002"],
            "deadline": "2099-01-01T10:00",
            "collector": "公安局",
            "retention": "三年",
            "contact": "电话",
            "per_address_hourly_limit": 10,
            "hourly_limit": 100,
        },
    )
    assert response.status_code == 400 and "主键和必填信息项必须采集" in response.content.decode()
    response = client.post(
        f"/data/ways/collection/new/?resource={resource.pk}",
        {
            "title": "征集",
            "purpose": "目的",
            "collected_items": ["f001", "f002"],
            "deadline": "2099-01-01T10:00",
            "collector": "公安局",
            "retention": "三年",
            "contact": "电话",
            "per_address_hourly_limit": 10,
            "hourly_limit": 100,
        },
    )
    assert response.status_code == 302
    task = collection.tasks_visible_to(personas.provider_admin).get()
    submission = collection.submit(
        task.token, {"f001": "Z1", "f002": "名"}, client_address="1.1.1.1", accepted_notice=True
    )
    detail = client.get(f"/data/ways/collection/{task.pk}/").content.decode()
    assert f"/collect/{task.token}/" in detail and "Z1" in detail
    assert client.post(f"/data/ways/collection/submissions/{submission.pk}/approve/").status_code == 302
    assert live_rows(resource) == [("Z1", "名")]
    assert client.post(f"/data/ways/collection/{task.pk}/close/").status_code == 302
    task.refresh_from_db()
    assert task.status == CollectionStatus.CLOSED


def test_cross_item_rules_refuse_a_contradictory_submission_at_once(personas, anonymous):
    """The resource's cross-item rules run at submission: those its data elements imply (ID ↔ birth date) and the
    department's (ID ↔ sex), so the submitter is told at once, not the reviewer at approval."""
    from tongshu.quality import services as quality
    from tongshu.quality.tests.factories import IDS, bind_standard_elements, make_population

    resource = make_population(personas.provider_org, name="志愿者登记信息")
    bind_standard_elements(resource, {"出生日期": ("DE0004", "D", "D8")})
    quality.create_rule(
        personas.provider_admin,
        resource,
        kind="id_sex",
        items=["f001", "f003"],
        reason="性别与身份证号码不符",
    )
    task = collection.create_task(
        personas.provider_admin,
        resource,
        {
            "title": "志愿者招募登记",
            "purpose": "招募全县志愿者。",
            "fields": ["f001", "f002", "f003", "f004"],
            "deadline": timezone.now() + timedelta(days=7),
            "collector": "华容县公安局",
            "retention": "三年",
            "contact": "0730-4221234",
        },
    )
    person = {"f001": IDS[1], "f002": "李四", "f003": "1", "f004": "1990-01-01"}  # a man born 1990-01-01
    response = public_post(anonymous, task, {**person, "f004": "1991-01-01", "f003": "2"})
    text = response.content.decode()
    assert response.status_code == 400
    assert "出生日期与身份证号码不一致" in text and "性别与身份证号码不符" in text
    with pytest.raises(ValidationFailed) as caught:
        collection.submit(
            task.token, {**person, "f004": "1991-01-01"}, client_address="1.1.1.1", accepted_notice=True
        )
    assert caught.value.code == "invalid_record"
    assert caught.value.details == {"f004": ["出生日期与身份证号码不一致"]}
    assert not CollectionSubmission.objects.exists()
    submission = collection.submit(task.token, person, client_address="1.1.1.1", accepted_notice=True)
    assert collection.approve(personas.provider_admin, submission).batch.status == BatchStatus.APPLIED
