"""The one place the exchange meets the catalog workflow: rows in, drafts out, through the workflow's own validation
(`validation.clean_version`) and draft services (`services.drafts`), never a copy of their rules.

A spreadsheet row knows an info item only by its name, so an imported change keeps each item's identity (`uid`,
`field_name`, and the attributes the sheet has no column for: required flag and open-data masking) from the version
it changes: by name first, then — for a renamed item — by position among the items left unmatched.
"""

from __future__ import annotations

from typing import Any

from tongshu.catalog.item_validation import ITEM_FIELDS
from tongshu.catalog.models import BusinessSystem, ResourceVersion
from tongshu.catalog.services.drafts import create_draft, start_revision, update_draft, version_as_dict
from tongshu.catalog.validation import VERSION_FIELDS, CleanedVersion, clean_version
from tongshu.standards.models import CodeSet, DataElement

from .parse import ParsedResource

CARRIED_ITEM_FIELDS = ("uid", "field_name", "is_required", "open_masking")
ORDERED_LISTS = ("related_codes",)
SET_LISTS = ("provision_methods", "usage_methods", "open_methods")


class Lookups:
    """Natural keys → primary keys, read once per import."""

    def __init__(self, organization: Any) -> None:
        self.systems = dict(
            BusinessSystem.objects.filter(organization=organization).values_list("name", "pk")
        )
        self.elements = dict(DataElement.objects.values_list("identifier", "pk"))
        self.code_sets = dict(CodeSet.objects.values_list("identifier", "pk"))


def payload(
    parsed: ParsedResource, lookups: Lookups, base: ResourceVersion | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `(fields, items)` that `create_draft` / `update_draft` take, for one spreadsheet row."""
    record = parsed.fields
    fields: dict[str, Any] = {name: record.get(name, "") for name in VERSION_FIELDS}
    fields["category"] = record["category"]
    fields["business_system"] = (
        lookups.systems.get(record["business_system"]) if record["business_system"] else None
    )
    # A change of a published resource needs a reason typed by a person (第三十五条(一)): the sheet has no column for
    # it, so an import keeps the reason of the draft it updates and gives none to a new revision.
    fields["change_reason"] = base.change_reason if base is not None and base.is_editable else ""
    base_items = list(base.items.all()) if base is not None else []
    matched = _match_items([item.values["name"] for item in parsed.items], [item.name for item in base_items])
    items = []
    for index, parsed_item in enumerate(parsed.items):
        values = parsed_item.values
        item: dict[str, Any] = {name: values.get(name) for name in ITEM_FIELDS if name in values}
        item["data_element"] = (
            lookups.elements.get(values["data_element"]) if values["data_element"] else None
        )
        item["code_set"] = lookups.code_sets.get(values["code_set"]) if values["code_set"] else None
        if (source := matched.get(index)) is not None:
            for name in CARRIED_ITEM_FIELDS:
                item[name] = getattr(base_items[source], name)
        items.append(item)
    return fields, items


def _match_items(new_names: list[str], old_names: list[str]) -> dict[int, int]:
    """new index → old index: same name, else the same position among the still unmatched (a rename)."""
    matched: dict[int, int] = {}
    by_name = {name: index for index, name in enumerate(old_names)}
    for index, name in enumerate(new_names):
        if name in by_name:
            matched[index] = by_name.pop(name)
    free = sorted(by_name.values())
    for index in range(len(new_names)):
        if index not in matched and index in free:
            matched[index] = index
            free.remove(index)
    return matched


def clean(
    fields: dict[str, Any], items: list[dict[str, Any]], *, provider: Any, resource: Any = None
) -> CleanedVersion:
    return clean_version(fields, items, provider=provider, resource=resource)


def comparable(
    fields: dict[str, Any], items: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fields and items reduced to what a catalog entry says, so a cleaned row compares with `version_as_dict`."""

    def key(value: Any) -> Any:
        return getattr(value, "pk", value)

    out: dict[str, Any] = {}
    for name in VERSION_FIELDS:
        if name == "change_reason":
            continue
        value = fields.get(name)
        if name in SET_LISTS:
            value = sorted(str(v) for v in value or [])
        elif name in ORDERED_LISTS:
            value = [str(v) for v in value or []]
        elif name == "business_system":
            value = key(value)
        else:
            value = "" if value is None else str(value)
        out[name] = value
    category = fields.get("category")
    out["category"] = getattr(category, "code", category)
    out_items = [{name: key(item.get(name)) for name in ITEM_FIELDS} for item in items]
    return out, out_items


def unchanged(cleaned: CleanedVersion, base: ResourceVersion) -> bool:
    return comparable(cleaned.fields, cleaned.items) == comparable(*version_as_dict(base))


def save_new(
    actor: Any, organization: Any, fields: dict[str, Any], items: list[dict[str, Any]]
) -> ResourceVersion:
    return create_draft(actor, provider=organization, fields=fields, items=items)


def save_change(
    actor: Any, base: ResourceVersion, fields: dict[str, Any], items: list[dict[str, Any]], *, reason: str
) -> ResourceVersion:
    """Update the open draft `base`, or start a revision of the published `base` and fill it in."""
    if base.is_editable:
        return update_draft(actor, base, fields=fields, items=items)
    revision = start_revision(actor, base.resource, reason=reason)
    return update_draft(actor, revision, fields={**fields, "change_reason": reason}, items=items)
