"""The one place the exchange meets the catalog workflow: records in, drafts out, through the workflow's own
services and validation (never a copy of their rules)."""

from __future__ import annotations

from typing import Any

from tongshu.catalog.models import BusinessSystem
from tongshu.standards.models import CodeSet, DataElement, ResourceCategory

from .parse import ParsedResource

# Field names the catalog's validation may report that are not column keys, mapped to the column key.
RESOURCE_FIELD_KEYS: dict[str, str] = {"category_id": "category", "business_system_id": "business_system"}
ITEM_FIELD_KEYS: dict[str, str] = {"data_element_id": "data_element", "code_set_id": "code_set"}


def service_payload(
    parsed: ParsedResource, organization: Any, base: Any = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The record of one row as the draft services take it: natural keys resolved to objects."""
    fields = dict(parsed.fields)
    fields["category"] = ResourceCategory.objects.filter(code=fields["category"]).first()
    fields["business_system"] = (
        BusinessSystem.objects.filter(organization=organization, name=fields["business_system"]).first()
        if fields["business_system"]
        else None
    )
    items = []
    for item in parsed.items:
        values = dict(item.values)
        values["data_element"] = DataElement.objects.filter(identifier=values["data_element"]).first() if values["data_element"] else None
        values["code_set"] = CodeSet.objects.filter(identifier=values["code_set"]).first() if values["code_set"] else None
        items.append(values)
    return fields, items


def validate(fields: dict[str, Any], items: list[dict[str, Any]], *, provider: Any, resource: Any) -> list[Any]:
    from tongshu.catalog.validation import validate_version

    return validate_version(fields, items, provider=provider, resource=resource)


def save(actor: Any, organization: Any, plan: Any) -> Any:
    from tongshu.catalog.services.drafts import create_draft, start_revision, update_draft

    fields, items = service_payload(plan.parsed, organization, base=plan.version)
    if plan.action == "create":
        return create_draft(actor, provider=organization, fields=fields, items=items)
    draft = plan.version if plan.action == "update" else start_revision(actor, plan.resource)
    return update_draft(actor, draft, fields=fields, items=items)


def problems_of(exc: Any) -> list[Any]:
    return list(getattr(exc, "details", None) or [])
