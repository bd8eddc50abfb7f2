"""The resource category tree (信息资源分类) and the city master catalog framework (总目录, 第八条).

The platform ships the guide's 基础 and 主题 branches; the 部门 branch (类 3) gets one 项 per organization, numbered
by `Organization.sequence`. When the city's 总目录 is imported (XLSX columns 分类代码 / 分类名称 / 上级分类代码, or
JSON ``[{code, name, parent}]``) it extends the tree or, in "replace" mode, also retires every category it does not
list; imported categories carry ``source="city"``. Categories are never deleted: resources keep theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tongshu.accounts.models import Organization, OrganizationKind
from tongshu.core.errors import ValidationFailed
from tongshu.security.audit import record

from ..categories import code_problem, department_class_code, department_code, level_choice, parent_code_of
from ..models import CategoryLevel, ResourceCategory
from ..tabular import cell, column_index, read_table, write_xlsx
from .codesets import require_manager

SOURCE_PLATFORM = "platform"
SOURCE_CITY = "city"
IMPORT_MODES = ("extend", "replace")
EXPORT_HEADER = ["分类代码", "分类名称", "上级分类代码"]
EXPORT_SHEET = "信息资源分类"
NAME_MAX = ResourceCategory._meta.get_field("name").max_length or 100
BRANCH_KINDS = (OrganizationKind.DEPARTMENT, OrganizationKind.TOWNSHIP, OrganizationKind.PUBLIC_SERVICE)


@dataclass
class CategoryRow:
    row: int
    code: str
    name: str
    parent: str


def _error(row: int, column: str, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


def _rows_from_json(content: bytes) -> list[CategoryRow]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("JSON 文件格式无效", code="bad_file") from exc
    if isinstance(data, dict):
        data = data.get("categories")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValidationFailed('JSON 文件应为分类对象的列表：[{"code", "name", "parent"}]', code="bad_file")

    def text(item: dict[str, Any], key: str) -> str:
        value = item.get(key)
        return "" if value is None else str(value).strip()

    return [
        CategoryRow(number, text(item, "code"), text(item, "name"), text(item, "parent"))
        for number, item in enumerate(data, start=1)
    ]


def _rows_from_table(content: bytes, filename: str) -> list[CategoryRow]:
    table = read_table(content, filename)
    code_at = column_index(table.header, ("分类代码", "code"))
    name_at = column_index(table.header, ("分类名称", "name"))
    parent_at = column_index(table.header, ("上级分类代码", "parent"))
    if code_at is None or name_at is None:
        raise ValidationFailed(
            "第 1 行应为表头：分类代码、分类名称、上级分类代码",
            code="bad_header",
            details=[_error(1, "表头", "缺少“分类代码”或“分类名称”列")],
        )
    return [
        CategoryRow(number, cell(row, code_at), cell(row, name_at), cell(row, parent_at))
        for number, row in table.rows
    ]


def parse_categories(content: bytes, filename: str, *, mode: str = "extend") -> list[CategoryRow]:
    """Every row checked against the configured code widths; raises `ValidationFailed` listing every error."""
    is_json = filename.lower().endswith(".json") or content.lstrip()[:1] in (b"[", b"{")
    rows = _rows_from_json(content) if is_json else _rows_from_table(content, filename)
    errors: list[dict[str, Any]] = []
    first_row: dict[str, int] = {}
    for row in rows:
        problem = code_problem(row.code)
        if problem:
            errors.append(_error(row.row, "分类代码", problem))
        elif row.code in first_row:
            errors.append(
                _error(row.row, "分类代码", f"分类代码“{row.code}”与第 {first_row[row.code]} 行重复")
            )
        else:
            first_row[row.code] = row.row
        if not row.name:
            errors.append(_error(row.row, "分类名称", "分类名称为空"))
        elif len(row.name) > NAME_MAX:
            errors.append(_error(row.row, "分类名称", f"分类名称超过 {NAME_MAX} 个字符"))
    if not rows:
        errors.append(_error(2, "分类代码", "文件中没有分类"))
    known = set(first_row)
    if mode != "replace":
        known |= set(ResourceCategory.objects.filter(is_active=True).values_list("code", flat=True))
    for row in rows:
        if row.code not in first_row or first_row[row.code] != row.row:
            continue
        expected = parent_code_of(row.code)
        if row.parent and row.parent != expected:
            reason = f"上级分类代码应为“{expected}”" if expected else "类一级的分类不能有上级分类"
            errors.append(_error(row.row, "上级分类代码", reason))
        elif expected and expected not in known:
            errors.append(_error(row.row, "上级分类代码", f"上级分类“{expected}”不存在"))
    if errors:
        errors.sort(key=lambda error: error["row"])
        raise ValidationFailed(
            f"文件有 {len(errors)} 处错误，未导入任何分类", code="invalid_file", details=errors
        )
    return rows


def import_categories(
    actor: Any, *, content: bytes, filename: str, mode: str = "extend", request: Any = None
) -> dict[str, int]:
    """Import the city master catalog framework (第八条): all or nothing."""
    require_manager(actor)
    if mode not in IMPORT_MODES:
        raise ValidationFailed("导入方式只能是 extend（补充）或 replace（替换）", field="mode")
    rows = sorted(parse_categories(content, filename, mode=mode), key=lambda r: (len(r.code), r.code))
    counts = {"created": 0, "updated": 0, "deactivated": 0}
    with transaction.atomic():
        existing = {category.code: category for category in ResourceCategory.objects.all()}
        for order, row in enumerate(sorted(rows, key=lambda r: r.row)):
            existing.setdefault(row.code, ResourceCategory(code=row.code)).sort = order
        for row in rows:
            category = existing[row.code]
            parent_code = parent_code_of(row.code)
            fields = {
                "name": row.name,
                "parent": existing[parent_code] if parent_code else None,
                "level": level_choice(row.code),
                "source": SOURCE_CITY,
                "is_active": True,
            }
            changed = category.pk is None or any(
                getattr(category, name) != value for name, value in fields.items()
            )
            for name, value in fields.items():
                setattr(category, name, value)
            if category.pk is None:
                category.save()
                counts["created"] += 1
            elif changed:
                category.save()
                counts["updated"] += 1
            else:
                category.save(update_fields=["sort"])
        if mode == "replace":
            counts["deactivated"] = (
                ResourceCategory.objects.filter(is_active=True)
                .exclude(code__in=[row.code for row in rows])
                .update(is_active=False)
            )
        record(
            "category.imported",
            actor=actor,
            request=request,
            details={**counts, "mode": mode, "rows": len(rows), "file": filename[:100]},
        )
    return counts


def export_categories(fmt: str) -> tuple[bytes, str, str]:
    """The active tree as (content, content type, file name), in the layout `import_categories` reads."""
    categories = ResourceCategory.objects.filter(is_active=True).select_related("parent").order_by("code")
    rows = [(c.code, c.name, c.parent.code if c.parent else "") for c in categories]
    if fmt == "json":
        body = [{"code": code, "name": name, "parent": parent} for code, name, parent in rows]
        content = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
        return content, "application/json; charset=utf-8", "resource-categories.json"
    if fmt == "xlsx":
        content = write_xlsx(EXPORT_SHEET, EXPORT_HEADER, rows)
        return (
            content,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "resource-categories.xlsx",
        )
    raise ValidationFailed("导出格式只能是 xlsx 或 json", field="format")


@dataclass
class BranchResult:
    created: int = 0
    linked: int = 0
    skipped: list[str] = field(default_factory=list)


def sync_department_branch(actor: Any = None, *, request: Any = None) -> BranchResult:
    """One 项 under 类 3 (部门信息资源) per department, township and public-service enterprise with a number
    (第八条). `actor` None is the platform itself (`load_standards`)."""
    if actor is not None:
        require_manager(actor)
    result = BranchResult()
    with transaction.atomic():
        root_code = department_class_code()
        root, _ = ResourceCategory.objects.get_or_create(
            code=root_code, defaults={"name": "部门信息资源", "level": CategoryLevel.CLASS, "sort": 30}
        )
        by_code = {c.code: c for c in ResourceCategory.objects.filter(code__startswith=root_code)}
        linked_orgs = set(
            ResourceCategory.objects.filter(organization__isnull=False).values_list(
                "organization_id", flat=True
            )
        )
        organizations = Organization.objects.filter(
            is_active=True, kind__in=BRANCH_KINDS, sequence__isnull=False
        ).order_by("sequence")
        for org in organizations:
            if org.pk in linked_orgs:
                continue
            code = department_code(org.sequence)
            if code is None:
                result.skipped.append(f"{org.name}：编号 {org.sequence} 超出“项”的代码位数")
                continue
            category = by_code.get(code)
            if category is None:
                ResourceCategory.objects.create(
                    code=code,
                    name=org.name,
                    parent=root,
                    level=CategoryLevel.ITEM,
                    organization=org,
                    sort=org.sequence or 0,
                )
                result.created += 1
            elif category.organization_id is None:
                category.organization = org
                category.save(update_fields=["organization"])
                result.linked += 1
            else:
                result.skipped.append(f"{org.name}：分类代码 {code} 已属于其他机构")
        if actor is not None or result.created or result.linked:
            record(
                "category.department_branch_synced",
                actor=actor,
                actor_name="" if actor is not None else "system",
                request=request,
                details={"created": result.created, "linked": result.linked, "skipped": len(result.skipped)},
            )
    return result


def category_tree(*, include_inactive: bool = False) -> list[dict[str, Any]]:
    """The tree as nested ``{"category": …, "children": […]}`` nodes, in code order (one query)."""
    categories = ResourceCategory.objects.select_related("organization").order_by("code")
    if not include_inactive:
        categories = categories.filter(is_active=True)
    nodes = {c.pk: {"category": c, "children": []} for c in categories}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent_id = node["category"].parent_id
        (nodes[parent_id]["children"] if parent_id in nodes else roots).append(node)
    return roots
