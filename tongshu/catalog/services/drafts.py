"""Drafting resources (第八条: departments compile their catalog): create, edit, revise and withdraw drafts.

Contract (the exchange import reuses it): `create_draft(actor, provider=, fields=, items=)` and
`update_draft(actor, version, fields=, items=)` validate everything with `validation.clean_version` and raise
`ValidationFailed(details=[…every error…])`; `version_as_dict(version)` gives back the same `(fields, items)` shape.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from tongshu.core.errors import Conflict
from tongshu.security.audit import record

from .. import permissions
from ..choices import EDITABLE_STATES, VersionState
from ..item_validation import ITEM_FIELDS
from ..models import InfoItem, Resource, ResourceVersion
from ..permissions import OPEN_STATES
from ..validation import VERSION_FIELDS, CleanedVersion, clean_version
from .common import clean_reason, raise_validation, record_transition, require
from .guards import refuse_published_change

EDIT_DENIED = "只有本部门的数据管理员或首席数据官可以编制本部门目录"


def version_as_dict(version: ResourceVersion) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The version as the `(fields, items)` that `create_draft` / `update_draft` take (category as its code)."""
    fields: dict[str, Any] = {}
    for name in VERSION_FIELDS:
        if name == "business_system":
            fields[name] = version.business_system_id
        else:
            value = getattr(version, name)
            fields[name] = list(value) if isinstance(value, list) else value
    fields["category"] = version.resource.category.code
    items = []
    for item in version.items.all():
        row: dict[str, Any] = {"uid": item.uid, "field_name": item.field_name}
        for name in ITEM_FIELDS:
            row[name] = (
                getattr(item, f"{name}_id") if name in ("data_element", "code_set") else getattr(item, name)
            )
        items.append(row)
    return fields, items


def _store(version: ResourceVersion, cleaned: CleanedVersion) -> ResourceVersion:
    for name in VERSION_FIELDS:
        setattr(version, name, cleaned.fields[name])
    version.updated_at = timezone.now()
    version.save()
    version.items.all().delete()
    InfoItem.objects.bulk_create(
        InfoItem(version=version, **{key: value for key, value in item.items()}) for item in cleaned.items
    )
    return version


def create_draft(
    actor: Any, *, provider: Any, fields: dict[str, Any], items: list[dict[str, Any]], request: Any = None
) -> ResourceVersion:
    """A new resource with its first version as a draft (第八条). All errors are reported at once."""
    require(permissions.can_edit_catalog(actor, provider), EDIT_DENIED)
    cleaned = clean_version(fields, items, provider=provider)
    raise_validation(cleaned.errors)
    with transaction.atomic():
        resource = Resource.objects.create(
            provider=provider, category=cleaned.fields["category"], created_by=actor
        )
        version = ResourceVersion(resource=resource, number=1, state=VersionState.DRAFT, created_by=actor)
        _store(version, cleaned)
        record(
            "catalog.draft_created",
            actor=actor,
            organization=provider,
            target=version,
            request=request,
            details={"resource": resource.pk, "items": len(cleaned.items)},
        )
    return version


def update_draft(
    actor: Any,
    version: ResourceVersion,
    *,
    fields: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    request: Any = None,
) -> ResourceVersion:
    """Change a draft or returned version: `fields` overrides what it names; `items`, when given, replaces them all.

    A published version is never edited: the attempt is refused, and if it would change the share or open type it
    is recorded as a violation (第三十五条(一)); see `guards.refuse_published_change`.
    """
    resource = version.resource
    if version.state in (VersionState.PUBLISHED, VersionState.SUPERSEDED):
        refuse_published_change(actor, version, fields, request=request)
    require(permissions.can_edit_catalog(actor, resource.provider), EDIT_DENIED)
    if version.state not in EDITABLE_STATES:
        raise Conflict("只能修改草稿或被退回的版本", code="version_not_editable")
    current_fields, current_items = version_as_dict(version)
    merged = {**current_fields, **fields}
    cleaned = clean_version(
        merged, current_items if items is None else items, provider=resource.provider, resource=resource
    )
    raise_validation(cleaned.errors)
    changed = sorted(name for name in fields if name in merged and current_fields.get(name) != fields[name])
    with transaction.atomic():
        locked = ResourceVersion.objects.select_for_update().get(pk=version.pk)
        if locked.state not in EDITABLE_STATES:
            raise Conflict("只能修改草稿或被退回的版本", code="version_not_editable")
        category = cleaned.fields["category"]
        if category.pk != resource.category_id and not resource.code:
            resource.category = category
            resource.save(update_fields=["category"])
        _store(version, cleaned)
        record(
            "catalog.draft_updated",
            actor=actor,
            organization=resource.provider,
            target=version,
            request=request,
            details={"fields": changed, "items_replaced": items is not None},
        )
    return version


def start_revision(actor: Any, resource: Resource, *, reason: str, request: Any = None) -> ResourceVersion:
    """A new draft copied from the published version; items keep their uid and field name (第八条: every change to a
    published resource is a new version reviewed again)."""
    require(permissions.can_edit_catalog(actor, resource.provider), EDIT_DENIED)
    reason = clean_reason(reason, "请说明修订原因")
    with transaction.atomic():
        resource = Resource.objects.select_for_update().get(pk=resource.pk)
        published = resource.published_version
        if published is None:
            raise Conflict("该资源尚未发布，请直接修改其草稿", code="not_published")
        if resource.is_retired:
            raise Conflict("该资源已停用，不能再修订", code="resource_retired")
        if resource.versions.filter(state__in=OPEN_STATES).exists():
            raise Conflict("该资源已有未完成的修订版本", code="revision_in_progress")
        number = (resource.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        revision = ResourceVersion(
            resource=resource, number=number, state=VersionState.DRAFT, created_by=actor
        )
        for name in VERSION_FIELDS:
            value = getattr(published, name)
            setattr(revision, name, list(value) if isinstance(value, list) else value)
        revision.change_reason = reason
        revision.save()
        InfoItem.objects.bulk_create(
            InfoItem(
                version=revision,
                position=item.position,
                uid=item.uid,
                field_name=item.field_name,
                **{name: getattr(item, name) for name in ITEM_FIELDS},
            )
            for item in published.items.all()
        )
        record(
            "catalog.revision_started",
            actor=actor,
            organization=resource.provider,
            target=revision,
            request=request,
            details={"from_version": published.number, "reason": reason},
        )
    return revision


def withdraw(
    actor: Any, version: ResourceVersion, *, reason: str = "", request: Any = None
) -> ResourceVersion:
    """The department gives up a draft or a returned version (its resource keeps any code it already has)."""
    if version.state not in EDITABLE_STATES:
        raise Conflict("只能撤销草稿或被退回的版本", code="version_not_editable")
    require(
        permissions.can_withdraw(actor, version), "只有本部门的数据管理员或首席数据官可以撤销草稿或退回的版本"
    )
    with transaction.atomic():
        locked = ResourceVersion.objects.select_for_update().get(pk=version.pk)
        if locked.state not in EDITABLE_STATES:
            raise Conflict("只能撤销草稿或被退回的版本", code="version_not_editable")
        from_state = locked.state
        version.state = VersionState.WITHDRAWN
        version.updated_at = timezone.now()
        version.save(update_fields=["state", "updated_at"])
        record_transition(version, from_state, VersionState.WITHDRAWN, actor, reason)
        record(
            "catalog.version_withdrawn",
            actor=actor,
            organization=version.resource.provider,
            target=version,
            request=request,
            details={"reason": reason},
        )
    return version
