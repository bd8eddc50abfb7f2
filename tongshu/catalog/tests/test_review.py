"""The review workflow: submit (CDO), return with a reason / publish (authority), codes, notifications, violations."""

from __future__ import annotations

import pytest

from tongshu.assessment.models import Violation
from tongshu.catalog.models import CatalogSettings, CodeSequence, Resource, ResourceVersion
from tongshu.catalog.services import (
    assign_code,
    create_draft,
    diff_versions,
    publish,
    retire,
    return_version,
    start_revision,
    submit,
    update_draft,
    version_as_dict,
    withdraw,
)
from tongshu.catalog.signals import resource_published
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import items_for, make_elements, plain_items, valid_fields
from tongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongshu.core.models import Message
from tongshu.security.models import AuditEntry
from tongshu.standards.tests.factories import make_category

pytestmark = pytest.mark.django_db


def draft(personas, **overrides):
    return create_draft(
        personas.provider_admin,
        provider=personas.provider_org,
        fields=valid_fields(**overrides),
        items=plain_items(),
    )


def test_full_review_journey(personas, django_capture_on_commit_callbacks):
    elements = make_elements()
    version = create_draft(
        personas.provider_admin,
        provider=personas.provider_org,
        fields=valid_fields(),
        items=items_for(elements),
    )
    with pytest.raises(PermissionDenied):
        submit(personas.provider_admin, version)  # only the CDO submits
    submit(personas.provider_cdo, version)
    todo = Message.objects.get(recipient=personas.authority, kind="todo")
    assert todo.done_at is None and "户籍人口基本信息" in todo.title

    with pytest.raises(ValidationFailed):
        return_version(personas.authority, version, reason="  ")
    return_version(personas.authority, version, reason="摘要未说明数据来源")
    todo.refresh_from_db()
    assert todo.done_at is not None
    returned = Message.objects.filter(kind="todo", topic=f"catalog.returned.{version.pk}")
    assert {m.recipient for m in returned} == {personas.provider_admin, personas.provider_cdo}
    assert "摘要未说明数据来源" in returned.first().body

    update_draft(
        personas.provider_admin, version, fields={"summary": "数据来源：户籍登记业务系统。" + version.summary}
    )
    submit(personas.provider_cdo, version)
    assert not returned.filter(done_at__isnull=True).exists()

    received = []
    resource_published.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="test-journey")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            publish(personas.authority, version, comment="同意发布")
    finally:
        resource_published.disconnect(dispatch_uid="test-journey")
    resource = Resource.objects.get(pk=version.resource_id)
    assert resource.code == "101/000001" and resource.published_version_id == version.pk
    version.refresh_from_db()
    assert version.state == "published" and version.published_at is not None
    assert received and received[0]["version"].pk == version.pk and received[0]["actor"] == personas.authority
    states = list(version.transitions.values_list("from_state", "to_state", "reason"))
    assert states == [
        ("draft", "submitted", ""),
        ("submitted", "returned", "摘要未说明数据来源"),
        ("returned", "submitted", ""),
        ("submitted", "published", "同意发布"),
    ]
    assert Message.objects.filter(recipient=personas.provider_cdo, title__contains="已发布").exists()
    assert not Message.objects.filter(kind="todo", done_at__isnull=True).exists()
    actions = set(AuditEntry.objects.filter(object_id=str(version.pk)).values_list("action", flat=True))
    assert {"catalog.version_submitted", "catalog.version_returned", "catalog.version_published"} <= actions


@pytest.mark.parametrize("who", ["authority", "outsider", "consumer_cdo", "operator"])
def test_only_the_providers_cdo_submits(personas, who):
    version = draft(personas)
    with pytest.raises(PermissionDenied):
        submit(getattr(personas, who), version)
    version.refresh_from_db()
    assert version.state == "draft"


@pytest.mark.parametrize("who", ["provider_cdo", "provider_admin", "outsider", "operator"])
def test_only_the_authority_reviews(personas, who):
    version = draft(personas)
    submit(personas.provider_cdo, version)
    with pytest.raises(PermissionDenied):
        publish(getattr(personas, who), version)
    with pytest.raises(PermissionDenied):
        return_version(getattr(personas, who), version, reason="不行")
    version.refresh_from_db()
    assert version.state == "submitted" and not Resource.objects.filter(code__isnull=False).exists()


def test_wrong_state_transitions_are_conflicts(personas):
    version = draft(personas)
    with pytest.raises(Conflict):
        publish(personas.authority, version)
    submit(personas.provider_cdo, version)
    with pytest.raises(Conflict):
        submit(personas.provider_cdo, version)
    with pytest.raises(Conflict):
        update_draft(personas.provider_admin, version, fields={"summary": "审核中修改"})
    with pytest.raises(Conflict):
        withdraw(personas.provider_admin, version)


def test_codes_run_within_the_prefix_and_are_never_reused(personas):
    population = make_category("101", "人口")
    legal = make_category("102", "法人单位")
    first = draft(personas, name="资源一", category="101")
    second = draft(personas, name="资源二", category="101")
    third = draft(personas, name="资源三", category="102")
    for version in (first, second, third):
        submit(personas.provider_cdo, version)
        publish(personas.authority, version)
    codes = [Resource.objects.get(pk=v.resource_id).code for v in (first, second, third)]
    assert codes == ["101/000001", "101/000002", "102/000001"]
    assert population and legal
    retire(personas.authority, Resource.objects.get(pk=second.resource_id), reason="业务取消")
    fourth = draft(personas, name="资源四", category="101")
    submit(personas.provider_cdo, fourth)
    publish(personas.authority, fourth)
    assert Resource.objects.get(pk=fourth.resource_id).code == "101/000003"
    assert Resource.objects.get(pk=second.resource_id).code == "101/000002"  # the retired one keeps its code


def test_two_publications_in_one_prefix_get_distinct_codes(personas):
    """The sequence row is read under select_for_update and only grows: each assignment sees the last one."""
    category = make_category("201", "公共服务")
    a = Resource.objects.create(provider=personas.provider_org, category=category)
    b = Resource.objects.create(provider=personas.provider_org, category=category)
    CodeSequence.objects.create(prefix="201", last_value=41)
    assert assign_code(a) == "201/000042"
    assert assign_code(b) == "201/000043"
    settings_row = CatalogSettings.current()
    settings_row.code_sequence_width = 4
    settings_row.save()
    c = Resource.objects.create(provider=personas.provider_org, category=category)
    assert assign_code(c) == "201/0044"


def test_revision_supersedes_and_keeps_the_code(personas):
    resource = make_resource(personas.provider_org, name="户籍人口基本信息")
    first = resource.published_version
    revision = start_revision(personas.provider_admin, resource, reason="增加字段")
    fields, items = version_as_dict(revision)
    items.append({"name": "曾用名", "data_type": "C", "length": "C..50"})
    update_draft(personas.provider_admin, revision, fields={}, items=items)
    submit(personas.provider_cdo, revision)
    publish(personas.authority, revision)
    resource.refresh_from_db()
    first.refresh_from_db()
    assert resource.published_version_id == revision.pk and first.state == "superseded"
    assert resource.code == f"{resource.category.code}/{resource.code_sequence:06d}"
    diff = diff_versions(first, revision)
    assert [item["name"] for item in diff["items"]["added"]] == ["曾用名"]


def test_a_revision_without_changes_is_not_submitted(personas):
    resource = make_resource(personas.provider_org)
    revision = start_revision(personas.provider_admin, resource, reason="核对")
    with pytest.raises(Conflict) as caught:
        submit(personas.provider_cdo, revision)
    assert caught.value.code == "no_changes"


def test_share_type_change_through_a_revision_needs_a_reason_and_review(personas):
    resource = make_resource(personas.provider_org, share_type="unconditional", share_method="12")
    revision = start_revision(personas.provider_admin, resource, reason="依据新规定调整")
    with pytest.raises(ValidationFailed) as caught:
        update_draft(
            personas.provider_admin,
            revision,
            fields={"share_type": "conditional", "share_conditions": "仅限身份核验", "change_reason": ""},
        )
    assert any(d["code"] == "change_reason_required" for d in caught.value.details)
    update_draft(
        personas.provider_admin,
        revision,
        fields={"share_type": "conditional", "share_conditions": "仅限身份核验"},
    )
    submit(personas.provider_cdo, revision)
    publish(personas.authority, revision)
    resource.refresh_from_db()
    assert resource.published_version.share_type == "conditional"
    assert not Violation.objects.exists()


def test_direct_share_type_change_of_a_published_version_is_refused_and_recorded(personas):
    resource = make_resource(personas.provider_org, share_type="unconditional", share_method="12")
    version = ResourceVersion.objects.get(pk=resource.published_version_id)
    with pytest.raises(Conflict) as caught:
        update_draft(personas.provider_cdo, version, fields={"share_type": "none"})
    assert caught.value.code == "type_change_requires_review"
    violation = Violation.objects.get()
    assert violation.kind == "unauthorized_type_change" and violation.article == "第三十五条(一)"
    assert violation.organization == personas.provider_org and violation.actor == personas.provider_cdo
    assert AuditEntry.objects.filter(action="catalog.type_change_refused").exists()
    assert AuditEntry.objects.filter(action="violation.recorded").exists()
    version.refresh_from_db()
    assert version.share_type == "unconditional"
    # Another department's attempt is refused as forbidden, and recorded against that department.
    with pytest.raises(PermissionDenied):
        update_draft(personas.outsider, version, fields={"open_type": "unconditional"})
    assert Violation.objects.filter(organization=personas.outsider_org).count() == 1
    # Other direct edits are refused without a violation.
    with pytest.raises(Conflict) as caught:
        update_draft(personas.provider_cdo, version, fields={"summary": "改摘要"})
    assert caught.value.code == "published_immutable"
    assert Violation.objects.count() == 2


def test_retire_only_by_authority(personas):
    resource = make_resource(personas.provider_org)
    with pytest.raises(PermissionDenied):
        retire(personas.provider_cdo, resource, reason="停用")
    retire(personas.authority, resource, reason="业务撤销")
    resource.refresh_from_db()
    assert resource.is_retired and resource.code
    with pytest.raises(Conflict):
        start_revision(personas.provider_cdo, resource, reason="再改")
