"""Data elements (数据元, 第九条): creating and changing them with their length notation checked, binding them to
a code set, and retiring them. An element that info items conform to is never deleted, only deactivated, so that the
catalog keeps its meaning.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet

from tongshu.core.errors import Conflict, NotFound, ValidationFailed
from tongshu.security.audit import record

from ..formats import LengthNotationError, parse_for_type
from ..models import CheckRule, CodeSet, DataElement, DataType
from .codesets import require_manager

IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,29}$")
TEXT_FIELDS = (
    "identifier",
    "name",
    "english_name",
    "definition",
    "data_type",
    "length",
    "value_domain",
    "pattern",
    "check_rule",
    "source_standard",
    "version",
)
EDITABLE_FIELDS = (*TEXT_FIELDS, "code_set", "is_active")


def get_data_element(identifier: str) -> DataElement:
    element = DataElement.objects.select_related("code_set").filter(identifier=identifier).first()
    if element is None:
        raise NotFound(f"数据元“{identifier}”不存在")
    return element


def search_data_elements(
    query: str = "", *, data_type: str = "", active: bool | None = None
) -> QuerySet[DataElement]:
    elements = DataElement.objects.select_related("code_set")
    query = query.strip()
    if query:
        elements = elements.filter(
            Q(identifier__icontains=query)
            | Q(name__icontains=query)
            | Q(english_name__icontains=query)
            | Q(definition__icontains=query)
        )
    if data_type:
        elements = elements.filter(data_type=data_type)
    if active is not None:
        elements = elements.filter(is_active=active)
    return elements


def next_identifier() -> str:
    """The next free ``DE####`` identifier."""
    numbers = [
        int(identifier[2:])
        for identifier in DataElement.objects.filter(identifier__regex=r"^DE[0-9]+$").values_list(
            "identifier", flat=True
        )
    ]
    return f"DE{(max(numbers) + 1) if numbers else 1:04d}"


def _code_set(value: Any) -> CodeSet | None:
    if value in (None, ""):
        return None
    if isinstance(value, CodeSet):
        return value
    found = CodeSet.objects.filter(identifier=str(value)).first()
    if found is None:
        raise ValidationFailed(f"代码集“{value}”不存在", field="code_set", code="unknown_code_set")
    return found


def _limits(field: str) -> int:
    return DataElement._meta.get_field(field).max_length or 0


def validate_element(fields: dict[str, Any], instance: DataElement | None = None) -> dict[str, str]:
    """Field → Chinese reason for every problem of the element described by `fields` (already merged)."""
    errors: dict[str, str] = {}
    identifier = fields.get("identifier", "")
    if not IDENTIFIER_PATTERN.match(identifier) or identifier.lower() == "new":
        errors["identifier"] = "标识符以字母开头，由字母、数字、下划线、点或连字符组成，最多 30 个字符"
    elif DataElement.objects.filter(identifier=identifier).exclude(pk=getattr(instance, "pk", None)).exists():
        errors["identifier"] = f"标识符“{identifier}”已被使用"
    if not fields.get("name"):
        errors["name"] = "请填写中文名称"
    if not fields.get("definition"):
        errors["definition"] = "请填写定义"
    for name in TEXT_FIELDS:
        limit = _limits(name)
        if limit and len(fields.get(name) or "") > limit and name not in errors:
            errors[name] = f"不能超过 {limit} 个字符"
    if fields.get("data_type") not in DataType.values:
        errors["data_type"] = "请选择指南规定的数据类型"
    else:
        try:
            parse_for_type(fields["data_type"], fields.get("length", ""))
        except LengthNotationError as exc:
            errors["length"] = str(exc)
    if fields.get("check_rule", "") not in CheckRule.values:
        errors["check_rule"] = "未知的校验规则"
    if fields.get("pattern"):
        try:
            re.compile(fields["pattern"])
        except re.error:
            errors["pattern"] = "正则表达式无效"
    return errors


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"不能修改字段：{'、'.join(sorted(unknown))}", code="unknown_field")
    cleaned = {key: (value.strip() if isinstance(value, str) else value) for key, value in fields.items()}
    if "length" in cleaned and cleaned["length"]:
        cleaned["length"] = cleaned["length"].replace(" ", "").replace("，", ",")
    if "data_type" in cleaned and cleaned["data_type"]:
        cleaned["data_type"] = cleaned["data_type"].upper()
    if "code_set" in cleaned:
        cleaned["code_set"] = _code_set(cleaned["code_set"])
    return cleaned


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        field = next(iter(errors))
        raise ValidationFailed(errors[field], field=field, code="invalid_data_element", details=errors)


def create_data_element(actor: Any, *, request: Any = None, **fields: Any) -> DataElement:
    """Define a data element (第九条); the identifier defaults to the next ``DE####``."""
    require_manager(actor)
    cleaned = _clean(fields)
    cleaned.setdefault("identifier", "")
    if not cleaned["identifier"]:
        cleaned["identifier"] = next_identifier()
    merged = {name: cleaned.get(name, "") for name in TEXT_FIELDS}
    merged["version"] = merged["version"] or "1.0"
    _raise_if(validate_element(merged))
    with transaction.atomic():
        element = DataElement.objects.create(
            **merged, code_set=cleaned.get("code_set"), is_active=cleaned.get("is_active", True)
        )
        record("data_element.created", actor=actor, request=request, target=element)
    return element


def update_data_element(
    actor: Any, element: DataElement, *, request: Any = None, **fields: Any
) -> DataElement:
    require_manager(actor)
    cleaned = _clean(fields)
    if (
        "identifier" in cleaned
        and cleaned["identifier"] != element.identifier
        and element.info_items.exists()
    ):
        raise Conflict("数据元已被信息项引用，不能修改标识符", field="identifier", code="element_in_use")
    merged = {name: cleaned.get(name, getattr(element, name)) for name in TEXT_FIELDS}
    merged["version"] = merged["version"] or element.version
    _raise_if(validate_element(merged, element))
    changes: dict[str, Any] = {}
    for name, value in {
        **merged,
        **{k: cleaned[k] for k in ("code_set", "is_active") if k in cleaned},
    }.items():
        if getattr(element, name) != value:
            old = getattr(element, name)
            changes[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(element, name, value)
    if not changes:
        return element
    with transaction.atomic():
        element.save()
        record(
            "data_element.updated", actor=actor, request=request, target=element, details={"changes": changes}
        )
    return element


def set_data_element_active(
    actor: Any, element: DataElement, active: bool, *, request: Any = None
) -> DataElement:
    """Deactivate (or reactivate) an element: existing info items keep it, new ones cannot choose it."""
    require_manager(actor)
    if element.is_active == active:
        return element
    with transaction.atomic():
        element.is_active = active
        element.save(update_fields=["is_active"])
        record(
            "data_element.activated" if active else "data_element.deactivated",
            actor=actor,
            request=request,
            target=element,
        )
    return element


def delete_data_element(actor: Any, element: DataElement, *, request: Any = None) -> None:
    """Delete an element no info item uses; one in use can only be deactivated."""
    require_manager(actor)
    in_use = element.info_items.count()
    if in_use:
        raise Conflict(f"数据元已被 {in_use} 个信息项使用，不能删除，只能停用", code="element_in_use")
    try:
        with transaction.atomic():
            record(
                "data_element.deleted",
                actor=actor,
                request=request,
                target=element,
                details={"identifier": element.identifier, "name": element.name},
            )
            element.delete()
    except ProtectedError as exc:  # an info item bound it meanwhile
        raise Conflict("数据元已被信息项使用，不能删除，只能停用", code="element_in_use") from exc
