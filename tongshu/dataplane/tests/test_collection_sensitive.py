"""Sensitive items in the review of public collection submissions (第三十三条): reviewers see them masked as the data
page masks them, on the pages and in the API; their original values only for those who may reveal the resource's
data, with a reason, written to the audit log like the data page's reveal; approving still loads the real values."""

from __future__ import annotations

import json

import pytest

from tongshu.accounts.roles import Role
from tongshu.accounts.tests.factories import make_user
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.dataplane import collection, permissions, store
from tongshu.dataplane.models_sources import SubmissionStatus
from tongshu.dataplane.schema import schema_for_version
from tongshu.security.models import AuditEntry

from .helpers import make_people, make_task, person_id

pytestmark = pytest.mark.django_db
ID = person_id("19800110", 7)
MASKED_ID = ID[:6] + "********" + ID[-4:]
PERSON = {"f001": ID, "f002": "欧阳修", "f003": "13812345678", "f004": "章华镇", "f005": "1980-01-10"}
REVEALED = "dataplane.data_revealed"
API = "/api/v1/data/ways"
DENIED = ("outsider", "consumer_cdo", "consumer_user", "operator")


@pytest.fixture
def people(personas):
    return make_people(personas.provider_org)


@pytest.fixture
def submission(personas, people):
    task = make_task(personas.provider_admin, people, title="志愿者登记", days=7)
    return collection.submit(task.token, PERSON, client_address="203.0.113.5", accepted_notice=True)


@pytest.fixture
def provider_user(personas):
    """Staff of the provider without a manager's role: may browse its data, may neither review nor reveal."""
    return make_user("provider_user", Role.DEPT_USER, organization=personas.provider_org)


def reveal_post(client, submission, reason="核对志愿者身份"):
    return client.post(
        f"{API}/submissions/{submission.pk}/reveal",
        json.dumps({"reason": reason}),
        content_type="application/json",
    )


def assert_no_original(text):
    for value in (ID, "欧阳修", "13812345678"):
        assert value not in text


def test_review_pages_and_api_mask_sensitive_items_by_default(personas, client_for, submission):
    client = client_for(personas.provider_admin)
    listing = client.get(f"/data/ways/collection/{submission.task_id}/")
    text = listing.content.decode()
    assert listing.status_code == 200
    assert MASKED_ID in text and "欧**" in text and "138****5678" in text and "章华镇" in text
    assert_no_original(text)
    assert f"/data/ways/collection/submissions/{submission.pk}/" in text  # the reveal and the detail page
    detail = client.get(f"/data/ways/collection/submissions/{submission.pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200 and MASKED_ID in text and 'name="reason"' in text
    assert_no_original(text)
    [answer] = client.get(f"{API}/tasks/{submission.task_id}/submissions").json()
    assert answer["masked"] == ["f001", "f002", "f003"]
    assert answer["values"] == {**PERSON, "f001": MASKED_ID, "f002": "欧**", "f003": "138****5678"}
    assert not AuditEntry.objects.filter(action=REVEALED).exists()


def test_reveal_shows_the_original_values_to_a_manager_and_is_audited(personas, client_for, submission):
    client = client_for(personas.provider_cdo)
    empty = client.post(f"/data/ways/collection/submissions/{submission.pk}/", {"reason": " "})
    assert empty.status_code == 400 and "须填写事由" in empty.content.decode()
    assert_no_original(empty.content.decode())
    assert reveal_post(client, submission, reason="").json()["code"] == "reason_required"
    assert not AuditEntry.objects.filter(action=REVEALED).exists()

    page = client.post(f"/data/ways/collection/submissions/{submission.pk}/", {"reason": "核对志愿者身份"})
    text = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert ID in text and "欧阳修" in text and "13812345678" in text and "核对志愿者身份" in text
    entry = AuditEntry.objects.get(action=REVEALED)
    assert (
        entry.actor_id == personas.provider_cdo.pk and entry.organization_id_value == personas.provider_org.pk
    )
    assert entry.details["record_key"] == {"f001": ID} and entry.details["reason"] == "核对志愿者身份"
    assert entry.details["purpose"] == "collection_review" and entry.details["submission"] == submission.pk
    assert entry.details["task"] == submission.task_id and entry.details["fields"] == ["f001", "f002", "f003"]

    response = reveal_post(client_for(personas.provider_admin), submission)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json() == {"id": submission.pk, "values": PERSON}
    assert AuditEntry.objects.filter(action=REVEALED).count() == 2
    # Revealing is a view: the submission waits for review as before.
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING and submission.values == PERSON


def test_reveal_is_denied_to_other_departments_and_staff_without_the_right(
    personas, client_for, anonymous, submission, provider_user
):
    for persona in (*(getattr(personas, name) for name in DENIED), provider_user):
        client = client_for(persona)
        page = client.post(
            f"/data/ways/collection/submissions/{submission.pk}/", {"reason": "核对志愿者身份"}
        )
        assert page.status_code == 404, persona
        assert_no_original(page.content.decode())
        assert client.get(f"/data/ways/collection/submissions/{submission.pk}/").status_code == 404
        response = reveal_post(client, submission)
        assert response.status_code == 404 and response.json()["code"] == "submission_not_found"
        with pytest.raises(PermissionDenied):
            collection.reveal_submission(persona, submission, reason="核对志愿者身份")
    assert (
        anonymous.post(f"/data/ways/collection/submissions/{submission.pk}/", {"reason": "看看"}).status_code
        == 302
    )
    assert reveal_post(anonymous, submission).status_code == 401
    assert not AuditEntry.objects.filter(action=REVEALED).exists()


def test_a_reviewer_who_may_not_reveal_sees_masked_values_only(personas, client_for, submission, monkeypatch):
    """Should the right to review and the right to reveal ever part (a policy of the operator), review stays usable
    and the reveal answers 403 without an audit entry."""
    monkeypatch.setattr(permissions, "can_reveal_data", lambda user, resource: False)
    client = client_for(personas.provider_admin)
    detail = client.get(f"/data/ways/collection/submissions/{submission.pk}/").content.decode()
    assert MASKED_ID in detail and 'name="reveal"' not in detail and "reveal-reason" not in detail
    listing = client.get(f"/data/ways/collection/{submission.task_id}/").content.decode()
    assert MASKED_ID in listing and "reveal-form" not in listing
    page = client.post(f"/data/ways/collection/submissions/{submission.pk}/", {"reason": "核对志愿者身份"})
    assert page.status_code == 403
    assert_no_original(page.content.decode())
    response = reveal_post(client, submission)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    with pytest.raises(PermissionDenied):
        collection.reveal_submission(personas.provider_admin, submission, reason="核对志愿者身份")
    assert not AuditEntry.objects.filter(action=REVEALED).exists()


def test_approving_loads_the_real_values_not_the_masked_ones(personas, client_for, people, submission):
    client = client_for(personas.provider_admin)
    response = client.post(f"{API}/submissions/{submission.pk}/approve")
    assert response.status_code == 200 and response.json()["values"]["f001"] == MASKED_ID
    [row] = store.read_rows(schema_for_version(people.published_version))
    assert (row["f001"], row["f002"], row["f003"], row["f004"]) == (ID, "欧阳修", "13812345678", "章华镇")
    assert not AuditEntry.objects.filter(action=REVEALED).exists()


def test_approving_from_the_page_loads_the_real_values(personas, client_for, people, submission):
    with pytest.raises(ValidationFailed):
        collection.reveal_submission(personas.provider_admin, submission, reason="")
    client = client_for(personas.provider_admin)
    response = client.post(f"/data/ways/collection/submissions/{submission.pk}/approve/")
    assert response.status_code == 302
    [row] = store.read_rows(schema_for_version(people.published_version))
    assert (row["f001"], row["f002"], row["f003"]) == (ID, "欧阳修", "13812345678")
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.APPROVED
