"""Factories for catalog objects, built directly on the models (tests of the workflow use the services)."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from tongshu.catalog.choices import FormatClass, OpenType, ShareType, UpdateCycle, VersionState
from tongshu.catalog.models import CodeSequence, InfoItem, Resource, ResourceVersion
from tongshu.standards.tests.factories import make_category

_counter = itertools.count(1)

DEFAULT_ITEMS = [
    # (name, data type, length, key, queryable, sensitive)
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("性别", "C", "C1", False, False, False),
    ("出生日期", "D", "D8", False, False, False),
]


def make_resource(
    provider: Any,
    *,
    name: str | None = None,
    state: str = VersionState.PUBLISHED,
    items: list[tuple] | None = None,
    category: Any = None,
    **fields: Any,
) -> Resource:
    """A resource with one version in `state` (published by default, with a code)."""
    n = next(_counter)
    category = category or make_category()
    resource = Resource.objects.create(provider=provider, category=category)
    defaults: dict[str, Any] = {
        "name": name or f"测试信息资源{n}",
        "summary": "测试用信息资源摘要",
        "format_class": FormatClass.DATABASE,
        "format_type": "PostgreSQL",
        "share_type": ShareType.UNCONDITIONAL,
        "share_method": "12",
        "open_type": OpenType.NONE,
        "update_cycle": UpdateCycle.DAILY,
        "provision_methods": ["1"],
        "usage_methods": ["1", "2"],
    }
    defaults.update(fields)
    version = ResourceVersion.objects.create(resource=resource, number=1, state=state, **defaults)
    for position, (item_name, data_type, length, is_key, queryable, sensitive) in enumerate(
        items or DEFAULT_ITEMS, 1
    ):
        InfoItem.objects.create(
            version=version,
            position=position,
            uid=f"i{position:03d}",
            field_name=f"f{position:03d}",
            name=item_name,
            data_type=data_type,
            length=length,
            is_key=is_key,
            is_queryable=queryable,
            is_sensitive=sensitive,
        )
    if state == VersionState.PUBLISHED:
        sequence, _ = CodeSequence.objects.get_or_create(prefix=category.code)
        sequence.last_value += 1
        sequence.save()
        resource.code_prefix = category.code
        resource.code_sequence = sequence.last_value
        resource.code = f"{category.code}/{sequence.last_value:06d}"
        resource.published_version = version
        resource.save()
        version.published_at = timezone.now()
        version.save(update_fields=["published_at"])
    return resource
