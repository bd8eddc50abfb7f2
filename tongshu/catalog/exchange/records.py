"""A catalog entry as the exchange formats see it: a *record* of natural keys, independent of database ids.

`version_record(version)` reads a resource version into `(fields, items)`: model field names as keys, foreign keys
as their natural keys (category code, business-system name, data-element identifier, code-set identifier), method
lists as sorted codes. The spreadsheet parser produces exactly this shape, so "unchanged" and the round trip are a
plain comparison; `workflow.payload` turns a record into what the catalog's draft services take.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tongshu.catalog.models import InfoItem, Resource, ResourceVersion
from tongshu.catalog.validation import VERSION_FIELDS

from .vocab import Vocabularies

# The catalog elements a spreadsheet row carries: every version field but the reason for a change, which a
# person types on the catalog page (第三十五条), plus the category.
RESOURCE_KEYS = ("category", *(name for name in VERSION_FIELDS if name != "change_reason"))
ITEM_KEYS = (
    "position",
    "name",
    "data_type",
    "length",
    "data_element",
    "code_set",
    "is_key",
    "is_queryable",
    "is_sensitive",
    "security_level",
    "description",
)
CODE_LISTS = ("provision_methods", "usage_methods", "open_methods")


def code_list(values: Iterable[Any]) -> list[str]:
    return sorted({str(value) for value in values if str(value)})


def unique_in_order(values: Iterable[Any]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if str(value) and str(value) not in seen:
            seen.append(str(value))
    return seen


def item_record(item: InfoItem) -> dict[str, Any]:
    return {
        "position": item.position,
        "name": item.name,
        "data_type": item.data_type,
        "length": item.length,
        "data_element": item.data_element.identifier if item.data_element else "",
        "code_set": item.code_set.identifier if item.code_set else "",
        "is_key": item.is_key,
        "is_queryable": item.is_queryable,
        "is_sensitive": item.is_sensitive,
        "security_level": item.security_level,
        "description": item.description,
    }


def version_record(version: ResourceVersion) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The record of one version. Expects `resource__category`, `business_system` and the items prefetched."""
    fields: dict[str, Any] = {
        "category": version.resource.category.code,
        "business_system": version.business_system.name if version.business_system else "",
        "related_codes": unique_in_order(version.related_codes or []),
    }
    for key in RESOURCE_KEYS:
        if key in fields:
            continue
        value = getattr(version, key)
        fields[key] = code_list(value or []) if key in CODE_LISTS else (value or "")
    items = [item_record(item) for item in sorted(version.items.all(), key=lambda item: item.position)]
    return fields, items


def provider_code(organization: Any) -> str:
    """信息资源提供方代码: the unified social credit code where the organization has one, else its platform code."""
    return organization.credit_code or organization.code


def resource_cells(
    serial: int, resource: Resource, fields: dict[str, Any], vocabularies: Vocabularies
) -> dict[str, Any]:
    """One row of the 信息资源 sheet, keyed by column key: coded values as Chinese names (categories as codes)."""
    join = "; ".join
    return {
        "serial": serial,
        "category": fields["category"],
        "name": fields["name"],
        "code": resource.code or "",
        "provider_name": resource.provider.name,
        "provider_code": provider_code(resource.provider),
        "summary": fields["summary"],
        "format_class": vocabularies.name_of("format_class", fields["format_class"]),
        "format_type": fields["format_type"],
        "share_type": vocabularies.name_of("share_type", fields["share_type"]),
        "share_conditions": fields["share_conditions"],
        "share_basis": fields["share_basis"],
        "share_method": vocabularies.name_of("share_method", fields["share_method"]),
        "provision_methods": join(
            vocabularies.name_of("provision_method", v) for v in fields["provision_methods"]
        ),
        "usage_methods": join(vocabularies.name_of("usage_method", v) for v in fields["usage_methods"]),
        "open_type": vocabularies.name_of("open_type", fields["open_type"]),
        "open_conditions": fields["open_conditions"],
        "open_methods": join(vocabularies.name_of("open_method", v) for v in fields["open_methods"]),
        "update_cycle": vocabularies.name_of("update_cycle", fields["update_cycle"]),
        "business_system": fields["business_system"],
        "security_level": vocabularies.name_of("security_level", fields["security_level"]),
        "keywords": fields["keywords"],
        "usage_requirements": fields["usage_requirements"],
        "business_interpretation": fields["business_interpretation"],
        "related_codes": join(fields["related_codes"]),
        "contact_name": fields["contact_name"],
        "contact_phone": fields["contact_phone"],
    }


def item_cells(serial: int, item: dict[str, Any], vocabularies: Vocabularies) -> dict[str, Any]:
    yes_no = {True: "是", False: "否"}
    return {
        "resource_serial": serial,
        "position": item["position"],
        "name": item["name"],
        "data_type": vocabularies.name_of("data_type", item["data_type"]),
        "length": item["length"],
        "data_element": item["data_element"],
        "code_set": item["code_set"],
        "is_key": yes_no[bool(item["is_key"])],
        "is_queryable": yes_no[bool(item["is_queryable"])],
        "is_sensitive": yes_no[bool(item["is_sensitive"])],
        "security_level": vocabularies.name_of("security_level", item["security_level"]),
        "description": item["description"],
    }
