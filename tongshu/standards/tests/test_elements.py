"""Data elements: validation of their fields and length notation, binding to code sets, deletion only when unused."""

from __future__ import annotations

import pytest

from tongshu.catalog.tests.factories import make_resource
from tongshu.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongshu.security.models import AuditEntry
from tongshu.standards.models import DataElement
from tongshu.standards.services import (
    create_data_element,
    delete_data_element,
    next_identifier,
    search_data_elements,
    set_data_element_active,
    update_data_element,
)

from .factories import make_code_set, make_data_element

pytestmark = pytest.mark.django_db


def _create(user, **fields):
    data = {"name": "道路等级", "definition": "道路的技术等级。", "data_type": "C", "length": "C1"}
    data.update(fields)
    return create_data_element(user, **data)


def test_operator_creates_an_element_bound_to_a_code_set(personas):
    make_data_element(identifier="DE0041")
    code_set = make_code_set("road-class", {"1": "高速公路"})
    element = _create(personas.operator, code_set="road-class", english_name="road_class")
    assert element.identifier == "DE0042"  # the next DE number
    assert element.code_set == code_set and element.version == "1.0" and element.is_active
    assert AuditEntry.objects.get(action="data_element.created").object_id == str(element.pk)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"length": "C..x"}, "length"),
        ({"length": "N8,2"}, "length"),  # letters disagree with the type C
        ({"data_type": "Z"}, "data_type"),
        ({"data_type": "D", "length": ""}, "length"),
        ({"name": ""}, "name"),
        ({"definition": ""}, "definition"),
        ({"identifier": "1-bad id"}, "identifier"),
        ({"pattern": "[unclosed"}, "pattern"),
        ({"check_rule": "magic"}, "check_rule"),
        ({"code_set": "no-such-set"}, "code_set"),
    ],
)
def test_invalid_elements_are_refused_and_nothing_is_saved(personas, fields, field):
    with pytest.raises(ValidationFailed) as caught:
        _create(personas.operator, **fields)
    assert caught.value.field == field
    assert not DataElement.objects.exists()


def test_duplicate_identifier_is_refused(personas):
    make_data_element(identifier="DE0001")
    with pytest.raises(ValidationFailed, match="已被使用"):
        _create(personas.operator, identifier="DE0001")


def test_update_checks_the_merged_element_and_audits_the_changes(personas):
    element = make_data_element(name="注册资本", data_type="Y", length="Y..18,2")
    update_data_element(personas.operator, element, length="Y..20,2", source_standard="GB/T 1")
    element.refresh_from_db()
    assert element.length == "Y..20,2"
    changes = AuditEntry.objects.get(action="data_element.updated").details["changes"]
    assert changes["length"] == ["Y..18,2", "Y..20,2"]
    with pytest.raises(ValidationFailed):
        update_data_element(personas.operator, element, data_type="D")  # Y..20,2 no longer fits
    element.refresh_from_db()
    assert element.data_type == "Y"


def test_an_element_in_use_cannot_be_deleted_only_deactivated(personas):
    element = make_data_element(name="公民身份号码", length="C18")
    item = make_resource(personas.provider_org, state="draft").versions.get().items.get(position=1)

    item.data_element = element
    item.save()
    with pytest.raises(Conflict) as caught:
        delete_data_element(personas.operator, element)
    assert caught.value.code == "element_in_use"
    assert DataElement.objects.filter(pk=element.pk).exists()
    set_data_element_active(personas.operator, element, False)
    element.refresh_from_db()
    assert not element.is_active
    item.refresh_from_db()
    assert item.data_element == element
    assert search_data_elements(active=True).filter(pk=element.pk).count() == 0


def test_an_unused_element_can_be_deleted(personas):
    element = make_data_element()
    delete_data_element(personas.operator, element)
    assert not DataElement.objects.filter(pk=element.pk).exists()
    assert AuditEntry.objects.filter(action="data_element.deleted").exists()


def test_only_the_operator_manages_data_elements(personas):
    element = make_data_element()
    for persona in ("provider_cdo", "consumer_user", "security_admin", "auditor", "citizen"):
        user = getattr(personas, persona)
        with pytest.raises(PermissionDenied):
            _create(user)
        with pytest.raises(PermissionDenied):
            update_data_element(user, element, name="改名")
        with pytest.raises(PermissionDenied):
            delete_data_element(user, element)
        with pytest.raises(PermissionDenied):
            set_data_element_active(user, element, False)
    element.refresh_from_db()
    assert element.is_active and element.name != "改名"


def test_search_finds_by_identifier_name_and_definition(db):
    make_data_element(identifier="DE0100", name="姓名", definition="个人的姓名。")
    make_data_element(
        identifier="DE0101", name="出生日期", data_type="D", length="D8", definition="出生的日期。"
    )
    assert [e.identifier for e in search_data_elements("姓名")] == ["DE0100"]
    assert [e.identifier for e in search_data_elements("de0101")] == ["DE0101"]
    assert [e.identifier for e in search_data_elements(data_type="D")] == ["DE0101"]
    assert next_identifier() == "DE0102"
