"""Input builders for catalog tests: a valid version's fields and items, bound to data elements."""

from __future__ import annotations

from typing import Any

from tongshu.standards.tests.factories import make_category, make_code_set, make_data_element

ELEMENTS = [
    # (Chinese name, English name, type, length, key, queryable, sensitive, level)
    ("公民身份号码", "citizen id number", "C", "C18", True, True, True, "general-3"),
    ("姓名", "name", "C", "C..50", False, True, True, "general-3"),
    ("性别", "sex", "C", "C1", False, False, False, "general-1"),
    ("出生日期", "date of birth", "D", "D8", False, False, False, "general-2"),
    ("民族", "ethnic group", "C", "C2", False, False, False, "general-1"),
    ("婚姻状况", "marital status", "C", "C2", False, False, False, "general-2"),
    ("户籍地址", "household address", "C", "C..200", False, False, True, "general-3"),
    ("联系电话", "phone number", "C", "C..20", False, True, True, "general-3"),
    ("登记日期", "registration date", "D", "D8", False, True, False, "general-1"),
    ("户主标识", "is head of household", "L", "", False, False, False, "general-1"),
]


def make_elements() -> list[Any]:
    sex = make_code_set("gb-t-2261.1-sex-test", {"1": "男性", "2": "女性", "0": "未知", "9": "未说明"})
    elements = []
    for name, english, data_type, length, *_rest in ELEMENTS:
        extra = {"code_set": sex} if name == "性别" else {}
        elements.append(make_data_element(name, data_type, length, english_name=english, **extra))
    return elements


def valid_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "category": overrides.pop("category", None) or make_category().code,
        "name": "户籍人口基本信息",
        "summary": "记录本县户籍人口的身份、出生、婚姻和户籍地址等基本信息，用于各部门核验身份。",
        "format_class": "3",
        "format_type": "PostgreSQL",
        "share_type": "conditional",
        "share_conditions": "用于依法履职的身份核验",
        "share_method": "12",
        "provision_methods": ["1"],
        "usage_methods": ["1", "2"],
        "open_type": "none",
        "update_cycle": "02",
        "security_level": "general-3",
        "keywords": "户籍;人口",
        "contact_name": "张三",
        "contact_phone": "0730-4221234",
    }
    fields.update(overrides)
    return fields


def items_for(elements: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for element, spec in zip(elements, ELEMENTS, strict=False):
        name, _english, _type, _length, key, queryable, sensitive, level = spec
        rows.append(
            {
                "name": name,
                "data_element": element.pk,
                "is_key": key,
                "is_queryable": queryable,
                "is_sensitive": sensitive,
                "is_required": key,
                "security_level": level,
            }
        )
    return rows


def plain_items(count: int = 2) -> list[dict[str, Any]]:
    rows = [
        {
            "name": "统一编号",
            "data_type": "C",
            "length": "C..32",
            "is_key": True,
            "security_level": "general-1",
        }
    ]
    rows += [
        {"name": f"字段{n}", "data_type": "C", "length": "C..50", "security_level": "general-1"}
        for n in range(1, count)
    ]
    return rows
