"""Helpers of the catalog search tests: published resources that are also indexed, the way the workflow does it."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tongshu.catalog.models import Resource, ResourceVersion
from tongshu.catalog.signals import resource_published, resource_retired
from tongshu.catalog.tests.factories import make_resource


def publish(provider: Any, name: str, *, items: list[str] | None = None, **fields: Any) -> Resource:
    """A published resource, announced with `resource_published` as the workflow does after its commit."""
    item_rows = [(item, "C", "C..50", False, False, False) for item in items] if items else None
    resource = make_resource(provider, name=name, items=item_rows, **fields)
    resource_published.send(
        sender=Resource, resource=resource, version=resource.published_version, actor=None
    )
    return resource


def republish(resource: Resource, **changes: Any) -> ResourceVersion:
    """A new reviewed version replacing the published one (the workflow's result, built directly)."""
    old = resource.published_version
    items = list(old.items.all())
    old.state = "superseded"
    old.save(update_fields=["state"])
    old.pk = None
    old.number += 1
    old.state = "published"
    old.published_at = timezone.now()
    for field, value in changes.items():
        setattr(old, field, value)
    old.save()
    for item in items:
        item.pk = None
        item.version = old
        item.save()
    resource.published_version = old
    resource.save(update_fields=["published_version"])
    resource_published.send(sender=Resource, resource=resource, version=old, actor=None)
    return old


def retire(resource: Resource) -> None:
    resource.is_retired = True
    resource.retired_at = timezone.now()
    resource.save(update_fields=["is_retired", "retired_at"])
    resource_retired.send(sender=Resource, resource=resource, actor=None)
