"""Helpers for data-plane tests: load files through the real services, publish a next catalog version, read a
page's data tab bar."""

from __future__ import annotations

import io
import re
from typing import Any

from django.utils import timezone

from tongshu.catalog.choices import VersionState
from tongshu.catalog.models import InfoItem, ResourceVersion
from tongshu.dataplane import services
from tongshu.dataplane.models import Batch
from tongshu.dataplane.schema import ResourceSchema, schema_for_version


def load_file(actor: Any, resource: Any, data: bytes, file_name: str, **options: Any) -> Batch:
    batch = services.submit_file(actor, resource, io.BytesIO(data), file_name=file_name, **options)
    return services.apply_batch(batch.pk)


def load_csv(actor: Any, resource: Any, text: str, *, mode: str = "upsert") -> Batch:
    return load_file(actor, resource, text.encode(), "data.csv", mode=mode)


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


PEOPLE_ITEMS = [
    # (name, data type, length, key, queryable, sensitive)
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("联系电话", "C", "C..20", False, False, False),
    ("所属乡镇", "C", "C..20", False, True, False),
    ("出生日期", "D", "D8", False, True, False),
]


def person_id(birth: str, sequence: int) -> str:
    from tongshu.core.checksums import resident_id_check_char

    first17 = f"430623{birth}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def make_people(provider: Any, *, name: str = "户籍人口基本信息") -> Any:
    """A published population resource whose ID and phone items carry the data elements' check rules."""
    from tongshu.catalog.tests.factories import make_resource
    from tongshu.dataplane import evolution
    from tongshu.standards.tests.factories import make_data_element

    resource = make_resource(provider, name=name, items=PEOPLE_ITEMS)
    id_element = make_data_element("居民身份证号码", length="C18", check_rule="resident_id")
    phone_element = make_data_element("联系电话", length="C..20", check_rule="phone")
    version = resource.published_version
    InfoItem.objects.filter(version=version, field_name="f001").update(data_element=id_element)
    InfoItem.objects.filter(version=version, field_name="f003").update(data_element=phone_element)
    evolution.evolve(resource, None, version)
    return resource


def people_csv(count: int, *, start: int = 0, township: str = "章华镇") -> str:
    lines = ["公民身份号码,姓名,联系电话,所属乡镇,出生日期"]
    for n in range(start, start + count):
        birth = f"19{80 + n % 20:02d}0{1 + n % 9}1{n % 10}"
        lines.append(
            f"{person_id(birth, n % 1000)},张{'三四五六七'[n % 5]}{n},1380000{n:04d},{township},{birth}"
        )
    return "\n".join(lines) + "\n"


TAB_LINK = re.compile(
    r'<a href="[^"]*" data-tab="(\w+)" data-testid="\w+-tab"( class="active" aria-current="page")?>'
)


def tab_bar(response: Any) -> tuple[list[str], str]:
    """The keys of the data tabs a page shows, in order, and the active one ("" when none is)."""
    found = TAB_LINK.findall(response.content.decode())
    return [key for key, _ in found], next((key for key, active in found if active), "")


def make_task(
    actor: Any,
    resource: Any,
    *,
    title: str = "志愿者招募登记",
    fields: tuple[str, ...] = ("f001", "f002", "f003", "f004", "f005"),
    days: int = 14,
) -> Any:
    """A published public collection task on `resource` with its personal-information notice filled in."""
    from datetime import timedelta

    from tongshu.dataplane import collection

    return collection.create_task(
        actor,
        resource,
        {
            "title": title,
            "purpose": "建立全县志愿者名录。",
            "fields": list(fields),
            "deadline": timezone.now() + timedelta(days=days),
            "collector": "华容县公安局",
            "retention": "三年",
            "contact": "0730-4221234",
        },
    )


def geometry_resource(
    provider: Any, *, name: str = "地块", key: str = "地块编号", shape: str = "几何"
) -> Any:
    """A published resource of a key item and a geometry item bound to the data element 几何 (check rule geojson),
    its table evolved to the binding."""
    from tongshu.catalog.models import InfoItem
    from tongshu.catalog.tests.factories import make_resource
    from tongshu.dataplane import evolution
    from tongshu.standards.tests.factories import make_data_element

    resource = make_resource(
        provider,
        name=name,
        items=[(key, "C", "C..20", True, True, False), (shape, "M", "", False, False, False)],
    )
    element = make_data_element("几何", data_type="M", length="", check_rule="geojson")
    InfoItem.objects.filter(version=resource.published_version, field_name="f002").update(
        data_element=element
    )
    evolution.evolve(resource, None, resource.published_version)
    return resource
