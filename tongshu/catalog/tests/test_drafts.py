"""Draft services: create, update, revise, withdraw, and the (fields, items) round trip the exchange reuses."""

from __future__ import annotations

import pytest

from tongshu.catalog.models import InfoItem, Resource, ResourceVersion
from tongshu.catalog.services import create_draft, start_revision, update_draft, version_as_dict, withdraw
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import items_for, make_elements, plain_items, valid_fields
from tongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_data_admin_creates_a_draft_with_ten_bound_items(personas):
    elements = make_elements()
    version = create_draft(
        personas.provider_admin,
        provider=personas.provider_org,
        fields=valid_fields(),
        items=items_for(elements),
    )
    assert version.state == "draft" and version.number == 1
    assert version.resource.provider == personas.provider_org and version.resource.code is None
    items = list(version.items.all())
    assert [item.data_element_id for item in items] == [element.pk for element in elements]
    assert items[2].code_set == elements[2].code_set
    assert AuditEntry.objects.filter(action="catalog.draft_created", object_id=str(version.pk)).exists()


@pytest.mark.parametrize(
    "who", ["outsider", "consumer_cdo", "consumer_user", "authority", "operator", "citizen"]
)
def test_only_the_providers_managers_create_drafts(personas, who):
    with pytest.raises(PermissionDenied):
        create_draft(
            getattr(personas, who), provider=personas.provider_org, fields=valid_fields(), items=plain_items()
        )
    assert not Resource.objects.exists()


def test_invalid_draft_reports_every_error_and_stores_nothing(personas):
    with pytest.raises(ValidationFailed) as caught:
        create_draft(
            personas.provider_cdo,
            provider=personas.provider_org,
            fields=valid_fields(name="", share_conditions=""),
            items=[{"name": "", "data_type": "C", "length": "C..10"}],
        )
    details = caught.value.details
    fields = {detail["field"] for detail in details}
    assert {"name", "share_conditions", "items[0].name", "items"} <= fields
    assert all({"field", "item_index", "code", "message"} <= set(detail) for detail in details)
    assert not Resource.objects.exists() and not InfoItem.objects.exists()


def test_update_draft_merges_fields_and_replaces_items(personas):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items(3)
    )
    uids = list(version.items.values_list("uid", flat=True))
    update_draft(personas.provider_admin, version, fields={"summary": "新的摘要说明"})
    version.refresh_from_db()
    assert version.summary == "新的摘要说明" and version.name == "户籍人口基本信息"
    _fields, items = version_as_dict(version)
    items.reverse()
    items.append({"name": "新字段", "data_type": "N", "length": "N8,2"})
    update_draft(personas.provider_admin, version, fields={}, items=items)
    stored = list(version.items.order_by("position"))
    assert [item.uid for item in stored[:3]] == list(reversed(uids))
    assert stored[3].field_name == "item_4" and stored[3].length == "N8,2"


def test_update_draft_refuses_invalid_input_and_keeps_the_draft(personas):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    with pytest.raises(ValidationFailed):
        update_draft(personas.provider_admin, version, fields={"update_cycle": "bad"}, items=[])
    version.refresh_from_db()
    assert version.update_cycle == "02" and version.items.count() == 2


def test_other_department_cannot_update_a_draft(personas):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    for who in (personas.outsider, personas.consumer_cdo, personas.authority):
        with pytest.raises(PermissionDenied):
            update_draft(who, version, fields={"summary": "改"})
    version.refresh_from_db()
    assert version.summary != "改"


def test_round_trip_through_version_as_dict(personas):
    elements = make_elements()
    version = create_draft(
        personas.provider_admin,
        provider=personas.provider_org,
        fields=valid_fields(),
        items=items_for(elements),
    )
    fields, items = version_as_dict(version)
    assert fields["category"] == version.resource.category.code
    assert items[0]["data_element"] == elements[0].pk and items[0]["uid"]
    fields["name"] = "户籍人口基本信息副本"
    copy = create_draft(personas.provider_admin, provider=personas.provider_org, fields=fields, items=items)
    assert copy.items.count() == 10


def test_start_revision_copies_the_published_version(personas):
    resource = make_resource(personas.provider_org)
    published = resource.published_version
    revision = start_revision(personas.provider_cdo, resource, reason="增加信息项")
    assert revision.number == 2 and revision.state == "draft" and revision.change_reason == "增加信息项"
    assert list(revision.items.values_list("uid", "field_name")) == list(
        published.items.values_list("uid", "field_name")
    )
    with pytest.raises(Conflict) as caught:
        start_revision(personas.provider_cdo, resource, reason="再来一次")
    assert caught.value.code == "revision_in_progress"
    with pytest.raises(ValidationFailed):
        start_revision(personas.provider_cdo, make_resource(personas.provider_org), reason=" ")
    with pytest.raises(PermissionDenied):
        start_revision(personas.outsider, resource, reason="越权")


def test_withdraw_a_draft(personas):
    version = create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )
    with pytest.raises(PermissionDenied):
        withdraw(personas.outsider, version)
    withdraw(personas.provider_admin, version, reason="重复编目")
    version.refresh_from_db()
    assert version.state == "withdrawn"
    assert version.transitions.get().to_state == "withdrawn"
    # Its name is free again.
    create_draft(
        personas.provider_admin, provider=personas.provider_org, fields=valid_fields(), items=plain_items()
    )


def test_published_versions_are_immutable_at_model_level(personas):
    resource = make_resource(personas.provider_org)
    version = ResourceVersion.objects.get(pk=resource.published_version_id)
    version.summary = "偷偷修改"
    with pytest.raises(Conflict):
        version.save()
    item = InfoItem.objects.filter(version=version).first()
    item.name = "改名"
    with pytest.raises(Conflict):
        item.save()
    with pytest.raises(Conflict):
        version.delete()
    version = ResourceVersion.objects.get(pk=resource.published_version_id)
    version.state = "superseded"
    version.save(update_fields=["state"])  # the one change the publishing service makes
    assert ResourceVersion.objects.get(pk=version.pk).state == "superseded"
