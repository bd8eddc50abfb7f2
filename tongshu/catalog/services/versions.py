"""Reading versions: the previous published version, differences between two versions, and completeness.

`diff_versions(old, new)` compares what a department described (the fields of `validation.VERSION_FIELDS`) and the
info items matched by their stable `uid`: added, removed, renamed and changed attributes. It is what the authority
reviews and what the detail page and the API show.
"""

from __future__ import annotations

from typing import Any

from tongshu.standards.levels import SecurityLevel

from ..choices import (
    FormatClass,
    OpenMethod,
    OpenType,
    ProvisionMethod,
    ShareMethod,
    ShareType,
    UpdateCycle,
    UsageMethod,
    VersionState,
)
from ..item_validation import ITEM_FIELDS, ITEM_LABELS
from ..models import InfoItem, MaskingMethod, ResourceVersion
from ..validation import LABELS, VERSION_FIELDS

CHOICES: dict[str, Any] = {
    "format_class": FormatClass,
    "share_type": ShareType,
    "share_method": ShareMethod,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
    "security_level": SecurityLevel,
    "provision_methods": ProvisionMethod,
    "usage_methods": UsageMethod,
    "open_methods": OpenMethod,
    "open_masking": MaskingMethod,
}
ITEM_DIFF_LABELS = {
    **ITEM_LABELS,
    "is_key": "主键",
    "is_queryable": "可查询",
    "is_sensitive": "敏感",
    "is_required": "必填",
}


def previous_published(version: ResourceVersion) -> ResourceVersion | None:
    """The version this one would replace: the latest published or superseded version before it."""
    return (
        ResourceVersion.objects.filter(
            resource_id=version.resource_id,
            number__lt=version.number,
            state__in=[VersionState.PUBLISHED, VersionState.SUPERSEDED],
        )
        .order_by("-number")
        .first()
    )


def display(name: str, value: Any) -> str:
    """A value as people read it: labels for codes, names for related objects."""
    if value in (None, "", []):
        return ""
    choices = CHOICES.get(name)
    if isinstance(value, list):
        if choices is not None:
            return "、".join(str(dict(choices.choices).get(code, code)) for code in value)
        return "、".join(str(part) for part in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if choices is not None:
        return str(dict(choices.choices).get(value, value))
    return str(value)


def _field_value(version: ResourceVersion, name: str) -> Any:
    if name == "business_system":
        return version.business_system
    return getattr(version, name)


def _raw(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def diff_versions(old: ResourceVersion | None, new: ResourceVersion) -> dict[str, Any]:
    """Changes from `old` (None: nothing before) to `new`: fields with label/old/new, and item changes."""
    fields = []
    for name in VERSION_FIELDS:
        if name == "change_reason":
            continue
        before = _field_value(old, name) if old is not None else None
        after = _field_value(new, name)
        if _raw(before) in (None, "", []) and _raw(after) in (None, "", []):
            continue
        if _raw(before) != _raw(after):
            fields.append(
                {
                    "field": name,
                    "label": LABELS[name],
                    "old": display(name, before),
                    "new": display(name, after),
                    "old_value": _raw(before),
                    "new_value": _raw(after),
                }
            )
    old_items = {item.uid: item for item in _items(old)} if old is not None else {}
    new_items = {item.uid: item for item in _items(new)}
    added = [{"uid": uid, "name": item.name} for uid, item in new_items.items() if uid not in old_items]
    removed = [{"uid": uid, "name": item.name} for uid, item in old_items.items() if uid not in new_items]
    renamed, changed = [], []
    for uid, item in new_items.items():
        before_item = old_items.get(uid)
        if before_item is None:
            continue
        if before_item.name != item.name:
            renamed.append({"uid": uid, "old": before_item.name, "new": item.name})
        changes = []
        for name in ITEM_FIELDS:
            if name == "name":
                continue
            before, after = getattr(before_item, name), getattr(item, name)
            if _raw(before) != _raw(after):
                changes.append(
                    {
                        "field": name,
                        "label": ITEM_DIFF_LABELS.get(name, name),
                        "old": display(name, before),
                        "new": display(name, after),
                    }
                )
        if changes:
            changed.append({"uid": uid, "name": item.name, "changes": changes})
    items = {"added": added, "removed": removed, "renamed": renamed, "changed": changed}
    return {
        "old_number": old.number if old is not None else None,
        "new_number": new.number,
        "fields": fields,
        "items": items,
        "type_changed": any(change["field"] in ("share_type", "open_type") for change in fields),
        "has_changes": bool(fields or any(items.values())),
    }


def _items(version: ResourceVersion) -> list[InfoItem]:
    cache = getattr(version, "_prefetched_objects_cache", {})
    if "items" in cache:
        return list(cache["items"])
    return list(version.items.select_related("data_element", "code_set"))


def completeness(version: ResourceVersion, items: list[InfoItem] | None = None) -> int:
    """Share (%) of the catalog elements that apply to this version and are filled (《编制指南》 core and extended
    metadata); items count as one element, their binding to data elements as another."""
    items = _items(version) if items is None else items
    checks: list[bool] = [
        bool(version.name),
        bool(version.summary),
        bool(version.format_class),
        bool(version.format_type),
        bool(version.share_type),
        bool(version.open_type),
        bool(version.update_cycle),
        bool(version.security_level),
        bool(version.provision_methods),
        bool(version.business_system_id),
        bool(version.keywords),
        bool(version.usage_requirements),
        bool(version.business_interpretation),
        bool(version.related_codes),
        bool(version.contact_name),
        bool(version.contact_phone),
        bool(items),
        bool(items) and all(item.data_element_id for item in items),
    ]
    if version.share_type != ShareType.NONE:
        checks += [bool(version.share_method), bool(version.usage_methods)]
    if version.share_type == ShareType.CONDITIONAL:
        checks.append(bool(version.share_conditions))
    if version.share_type == ShareType.NONE:
        checks.append(bool(version.share_basis))
    if version.open_type != OpenType.NONE:
        checks.append(bool(version.open_methods))
    if version.open_type == OpenType.CONDITIONAL:
        checks.append(bool(version.open_conditions))
    return round(100 * sum(checks) / len(checks))
