"""Factories for standards objects (plain functions)."""

from __future__ import annotations

import itertools
from typing import Any

from tongshu.standards.models import (
    CategoryLevel,
    CodeSet,
    CodeSetVersion,
    CodeValue,
    DataElement,
    ResourceCategory,
)

_counter = itertools.count(1)


def make_code_set(
    identifier: str | None = None, values: dict[str, str] | None = None, **fields: Any
) -> CodeSet:
    n = next(_counter)
    code_set = CodeSet.objects.create(
        identifier=identifier or f"test-set-{n}", name=fields.pop("name", f"测试代码集{n}"), **fields
    )
    version = CodeSetVersion.objects.create(code_set=code_set, version="1", is_current=True)
    CodeValue.objects.bulk_create(
        CodeValue(version=version, code=code, name=name, sort=i)
        for i, (code, name) in enumerate((values or {"1": "是", "0": "否"}).items())
    )
    return code_set


def make_data_element(
    name: str | None = None, data_type: str = "C", length: str = "C..50", **fields: Any
) -> DataElement:
    n = next(_counter)
    return DataElement.objects.create(
        identifier=fields.pop("identifier", f"DE9{n:04d}"),
        name=name or f"测试数据元{n}",
        definition=fields.pop("definition", "测试用数据元"),
        data_type=data_type,
        length=length,
        **fields,
    )


def make_category(
    code: str = "101", name: str = "人口", parent: ResourceCategory | None = None
) -> ResourceCategory:
    existing = ResourceCategory.objects.filter(code=code).first()
    if existing:
        return existing
    if parent is None and len(code) > 1:
        parent = make_category(
            code[0], {"1": "基础信息资源", "2": "主题信息资源", "3": "部门信息资源"}.get(code[0], "分类")
        )
    level = {1: CategoryLevel.CLASS, 3: CategoryLevel.ITEM, 6: CategoryLevel.SECTION}.get(
        len(code), CategoryLevel.SUBSECTION
    )
    return ResourceCategory.objects.create(code=code, name=name, parent=parent, level=level)
