"""Helpers for data-plane tests: load CSV text through the real services, publish a next catalog version."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone

from tongshu.catalog.choices import VersionState
from tongshu.catalog.models import InfoItem, ResourceVersion
from tongshu.dataplane import services
from tongshu.dataplane.models import Batch
from tongshu.dataplane.schema import ResourceSchema, schema_for_version


def load_csv(actor: Any, resource: Any, text: str, *, mode: str = "upsert") -> Batch:
    batch = services.submit_file(actor, resource, io.BytesIO(text.encode()), file_name="data.csv", mode=mode)
    return services.apply_batch(batch.pk)


def current_schema(resource: Any) -> ResourceSchema:
    resource.refresh_from_db()
    return schema_for_version(resource.published_version)


def items_of(version: ResourceVersion) -> list[dict[str, Any]]:
    return [
        {
            "uid": item.uid,
            "field_name": item.field_name,
            "name": item.name,
            "data_type": item.data_type,
            "length": item.length,
            "is_key": item.is_key,
            "is_queryable": item.is_queryable,
            "is_sensitive": item.is_sensitive,
            "data_element_id": item.data_element_id,
        }
        for item in version.items.order_by("position")
    ]


def publish_next(resource: Any, items: list[dict[str, Any]]) -> ResourceVersion:
    """Publish the next version with these items, as the catalog would (the old one superseded); no signal."""
    resource.refresh_from_db()
    old = resource.published_version
    version = ResourceVersion.objects.create(
        resource=resource,
        number=old.number + 1,
        state=VersionState.PUBLISHED,
        name=old.name,
        summary=old.summary,
        format_class=old.format_class,
        format_type=old.format_type,
        share_type=old.share_type,
        share_method=old.share_method,
        open_type=old.open_type,
        update_cycle=old.update_cycle,
        provision_methods=old.provision_methods,
        usage_methods=old.usage_methods,
        published_at=timezone.now(),
    )
    for position, item in enumerate(items, 1):
        InfoItem.objects.create(version=version, position=position, **item)
    ResourceVersion.objects.filter(pk=old.pk).update(state=VersionState.SUPERSEDED)
    resource.published_version = version
    resource.save(update_fields=["published_version"])
    return version
