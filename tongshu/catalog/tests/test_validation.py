"""Every validation rule, one error each, reported all at once (validation.validate_version)."""

from __future__ import annotations

import pytest

from tongshu.catalog.models import BusinessSystem, CatalogSettings
from tongshu.catalog.tests.factories import make_resource
from tongshu.catalog.tests.helpers import items_for, make_elements, plain_items, valid_fields
from tongshu.catalog.validation import clean_version, validate_version
from tongshu.standards.tests.factories import make_category, make_data_element

pytestmark = pytest.mark.django_db


def codes(errors):
    return {(error.field, error.code) for error in errors}


def check(personas, fields, items=None, resource=None):
    return validate_version(
        fields,
        items if items is not None else plain_items(),
        provider=personas.provider_org,
        resource=resource,
    )


def test_a_complete_resource_with_ten_bound_items_is_valid(personas):
    elements = make_elements()
    cleaned = clean_version(valid_fields(), items_for(elements), provider=personas.provider_org)
    assert cleaned.errors == []
    assert len(cleaned.items) == 10
    sex = cleaned.items[2]
    assert sex["data_type"] == "C" and sex["length"] == "C1"  # taken from the data element
    assert sex["code_set"] == elements[2].code_set
    assert [item["field_name"] for item in cleaned.items][:3] == ["citizen_id_number", "name", "sex"]
    assert len({item["uid"] for item in cleaned.items}) == 10


def test_every_error_is_reported_at_once_with_chinese_messages(personas):
    errors = check(personas, {"share_type": "none", "open_type": "conditional"}, items=[])
    found = codes(errors)
    for expected in [
        ("category", "required"),
        ("name", "required"),
        ("summary", "required"),
        ("format_class", "required"),
        ("update_cycle", "required"),
        ("share_basis", "basis_required"),
        ("open_conditions", "conditions_required"),
        ("open_methods", "required"),
        ("open_type", "share_open_inconsistent"),
        ("items", "items_required"),
    ]:
        assert expected in found
    assert all(error.message and not error.message.isascii() for error in errors)


def test_share_and_open_rules(personas):
    assert ("share_conditions", "conditions_required") in codes(
        check(personas, valid_fields(share_conditions=""))
    )
    assert ("open_type", "share_open_inconsistent") in codes(
        check(personas, valid_fields(open_type="unconditional", open_methods=["1"]))
    )
    assert ("open_methods", "not_applicable") in codes(check(personas, valid_fields(open_methods=["1"])))
    assert ("usage_methods", "required") in codes(check(personas, valid_fields(usage_methods=[])))
    assert ("share_method", "required") in codes(check(personas, valid_fields(share_method="")))
    assert not check(
        personas,
        valid_fields(
            share_type="none", share_basis="《居民身份证法》第十九条", share_method="", usage_methods=[]
        ),
    )


def test_value_lists_and_format_coherence(personas):
    errors = codes(
        check(
            personas,
            valid_fields(
                update_cycle="42", provision_methods=["7"], usage_methods=["1", "x"], security_level="top"
            ),
        )
    )
    assert {("update_cycle", "invalid_choice"), ("provision_methods", "invalid_choice")} <= errors
    assert {("usage_methods", "invalid_choice"), ("security_level", "invalid_choice")} <= errors
    assert ("format_type", "format_mismatch") in codes(check(personas, valid_fields(format_type="PDF")))
    assert ("share_method", "share_method_mismatch") in codes(
        check(personas, valid_fields(share_method="13"))
    )
    file_fields = valid_fields(format_class="1", format_type="PDF", share_method="11")
    assert ("share_method", "share_method_mismatch") in codes(check(personas, file_fields))
    assert not check(
        personas, valid_fields(format_class="1", format_type="PDF", share_method="13", usage_methods=[])
    )


def test_name_unique_within_provider_and_not_a_bare_system_name(personas):
    make_resource(personas.provider_org, name="户籍人口基本信息")
    assert ("name", "duplicate_name") in codes(check(personas, valid_fields()))
    other = validate_version(valid_fields(), plain_items(), provider=personas.outsider_org)
    assert ("name", "duplicate_name") not in codes(other)
    BusinessSystem.objects.create(organization=personas.provider_org, name="人口管理系统")
    assert ("name", "bare_system_name") in codes(check(personas, valid_fields(name="人口管理系统")))


def test_withdrawn_and_own_resource_names_do_not_clash(personas):
    mine = make_resource(personas.provider_org, name="户籍人口基本信息")
    assert ("name", "duplicate_name") not in codes(check(personas, valid_fields(), resource=mine))
    make_resource(personas.provider_org, name="已撤销资源", state="withdrawn")
    assert ("name", "duplicate_name") not in codes(check(personas, valid_fields(name="已撤销资源")))


def test_category_rules(personas):
    assert ("category", "unknown_category") in codes(check(personas, valid_fields(category="999999")))
    branch = make_category("301001", "公安局")
    branch.organization = personas.outsider_org
    branch.save()
    assert ("category", "category_of_other_department") in codes(
        check(personas, valid_fields(category="301001"))
    )
    by_id = valid_fields()
    by_id["category"] = make_category().pk
    assert not check(personas, by_id)


def test_item_rules(personas):
    items = [
        {"name": "编号", "data_type": "C", "length": "C..32", "is_key": True},
        {"name": "编号", "data_type": "C", "length": "C..32"},
        {"name": "", "data_type": "Q", "length": "x"},
        {"name": "金额", "data_type": "N", "length": "C10"},
        {"name": "备注", "data_type": "C", "length": ""},
    ]
    found = codes(check(personas, valid_fields(), items))
    assert ("items[1].name", "duplicate_item_name") in found
    assert ("items[2].name", "required") in found
    assert ("items[2].data_type", "invalid_choice") in found
    assert ("items[3].length", "invalid_length") in found
    assert ("items[4].length", "required") in found


def test_key_item_needed_for_database_resources(personas):
    items = [{"name": "字段", "data_type": "C", "length": "C..10"}]
    assert ("items", "key_required") in codes(check(personas, valid_fields(), items))
    file_fields = valid_fields(format_class="2", format_type="XLSX", share_method="13", usage_methods=[])
    assert ("items", "key_required") not in codes(check(personas, file_fields, items))


def test_binding_must_fit_the_data_element(personas):
    element = make_data_element("公民身份号码", "C", "C18", english_name="citizen id")
    items = [
        {"name": "身份号码", "data_element": element.pk, "data_type": "N", "is_key": True},
        {"name": "身份号码2", "data_element": element.pk, "length": "C..20"},
        {"name": "身份号码3", "data_element": 999999},
    ]
    found = codes(check(personas, valid_fields(), items))
    assert ("items[0].data_type", "element_type_mismatch") in found
    assert ("items[1].length", "element_length_mismatch") in found
    assert ("items[2].data_element", "unknown_element") in found
    wide = make_data_element("名称", "C", "C..100")
    ok = [{"name": "名称", "data_element": wide.pk, "length": "..50", "is_key": True}]
    cleaned = clean_version(valid_fields(), ok, provider=personas.provider_org)
    assert cleaned.errors == [] and cleaned.items[0]["length"] == "C..50"


def test_levels(personas):
    items = plain_items()
    items[0]["security_level"] = "important"
    assert ("security_level", "level_below_items") in codes(check(personas, valid_fields(), items))


def test_open_resource_items_above_open_level_must_be_masked(personas):
    fields = valid_fields(
        share_type="unconditional", open_type="conditional", open_conditions="实名申请", open_methods=["1"]
    )
    items = plain_items(3)
    items[1]["security_level"] = "general-3"
    items[2]["security_level"] = "core"
    items[2]["open_masking"] = "mask"
    fields["security_level"] = "core"
    found = codes(check(personas, fields, items))
    assert ("items[1].open_masking", "level_above_open") in found
    assert ("items[2].open_masking", "core_item_open") in found
    items[1]["open_masking"] = "mask"
    items[2]["open_masking"] = "drop"
    assert not check(personas, fields, items)
    # The operator may allow a higher level in open data.
    items[1]["open_masking"] = ""
    settings_row = CatalogSettings.current()
    settings_row.open_max_security_level = "general-3"
    settings_row.save()
    assert not check(personas, fields, items)


def test_related_codes_and_business_system(personas):
    other = make_resource(personas.outsider_org)
    assert not check(personas, valid_fields(related_codes=[other.code]))
    assert ("related_codes", "unknown_related") in codes(
        check(personas, valid_fields(related_codes=["1/000999"]))
    )
    foreign = BusinessSystem.objects.create(organization=personas.outsider_org, name="水利系统")
    assert ("business_system", "system_of_other_department") in codes(
        check(personas, valid_fields(business_system=foreign.pk))
    )


def test_change_of_type_needs_a_reason(personas):
    resource = make_resource(personas.provider_org, name="户籍人口基本信息")
    fields = valid_fields(share_type="conditional")
    assert ("change_reason", "change_reason_required") in codes(check(personas, fields, resource=resource))
    fields["change_reason"] = "依据新规定改为有条件共享"
    assert not check(personas, fields, resource=resource)


def test_field_names_stay_with_their_uid(personas):
    resource = make_resource(personas.provider_org, name="户籍人口基本信息", share_type="conditional")
    items = plain_items(2)
    items[0].update(uid="i001", field_name="changed")
    found = codes(check(personas, valid_fields(), items, resource=resource))
    assert ("items[0].field_name", "field_name_fixed") in found
    items[0]["field_name"] = ""
    items[1]["field_name"] = "f001"  # held by item i001 in an earlier version: never reused
    found = codes(check(personas, valid_fields(), items, resource=resource))
    assert ("items[1].field_name", "field_name_used") in found
    items[1]["field_name"] = "Bad Name"
    assert ("items[1].field_name", "invalid_field_name") in codes(
        check(personas, valid_fields(), items, resource=resource)
    )
    items[1]["field_name"] = ""
    cleaned = clean_version(valid_fields(), items, provider=personas.provider_org, resource=resource)
    assert cleaned.errors == [] and cleaned.items[0]["field_name"] == "f001"
    assert cleaned.items[1]["field_name"] == "item_2"
