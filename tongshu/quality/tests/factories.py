"""A population base library and a dependent resource, loaded through the real data-plane services."""

from __future__ import annotations

import io
from typing import Any

from tongshu.catalog.models import InfoItem
from tongshu.catalog.tests.factories import make_resource
from tongshu.dataplane import services as dataplane
from tongshu.standards.models import DataElement
from tongshu.standards.tests.factories import make_data_element

POPULATION_ITEMS = [
    # (name, data type, length, key, queryable, sensitive)
    ("公民身份号码", "C", "C18", True, True, True),
    ("姓名", "C", "C..50", False, True, True),
    ("性别", "C", "C1", False, False, False),
    ("出生日期", "D", "D8", False, False, False),
]
# Valid GB 11643 numbers (checksums computed).
IDS = [
    "11010519491231002X",
    "430623199001011237",
    "430623198507150010",
    "430623200012120020",
    "430623197001010016",
]


def bind_resident_id(resource: Any, item_name: str = "公民身份号码") -> None:
    element = make_data_element(f"居民身份证号码{resource.pk}", length="C18", check_rule="resident_id")
    # Published items are immutable through the ORM; bind the element as the catalog would have.
    InfoItem.objects.filter(version=resource.published_version, name=item_name).update(data_element=element)


def bind_standard_elements(resource: Any, items: dict[str, tuple[str, str, str]]) -> None:
    """Bind items to data elements with the shipped standard identifiers ({item name: (identifier, type, length)})."""
    for item_name, (identifier, data_type, length) in items.items():
        element = DataElement.objects.filter(identifier=identifier).first() or make_data_element(
            item_name, data_type=data_type, length=length, identifier=identifier
        )
        InfoItem.objects.filter(version=resource.published_version, name=item_name).update(
            data_element=element
        )


def make_population(provider: Any, *, name: str = "户籍人口基本信息", **fields: Any) -> Any:
    resource = make_resource(provider, name=name, items=POPULATION_ITEMS, **fields)
    bind_resident_id(resource)
    return resource


def load(actor: Any, resource: Any, text: str, *, name: str = "data.csv", mode: str = "upsert") -> Any:
    batch = dataplane.submit_file(actor, resource, io.BytesIO(text.encode()), file_name=name, mode=mode)
    return dataplane.apply_batch(batch.pk)


def population_csv(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["公民身份号码,姓名,性别,出生日期"] + [",".join(row) for row in rows]
    return "\n".join(lines) + "\n"
