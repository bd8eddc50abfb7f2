"""Code sets (代码集, 第九条): importing a set or a new version of one from CSV/XLSX, choosing the current version,
comparing two versions.

An import is checked whole before anything is written: every bad row comes back with its spreadsheet row number
(header = 1) and the reason, and a file with any error saves nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from tongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from .. import lookups
from ..models import CodeSet, CodeSetVersion, CodeValue
from ..permissions import can_manage_standards
from ..tabular import cell, column_index, read_table

CODE_MAX = CodeValue._meta.get_field("code").max_length or 40
NAME_MAX = CodeValue._meta.get_field("name").max_length or 200
VERSION_MAX = CodeSetVersion._meta.get_field("version").max_length or 30
IDENTIFIER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
RESERVED_IDENTIFIERS = frozenset({"import", "new"})  # path segments of the pages and the API
VERSION_PATTERN = re.compile(r"^[^\s/?#%\\]+$")
CODE_COLUMNS = ("code", "代码", "编码", "代码值")
NAME_COLUMNS = ("name", "名称", "代码名称", "含义", "说明")
PARENT_COLUMNS = ("parent", "parent_code", "上级代码", "父代码", "上级")


def require_manager(actor: Any) -> None:
    if not can_manage_standards(actor):
        raise PermissionDenied("只有系统管理员可以维护标准规范")


def get_code_set(identifier: str) -> CodeSet:
    code_set = CodeSet.objects.filter(identifier=identifier).first()
    if code_set is None:
        raise NotFound(f"代码集“{identifier}”不存在")
    return code_set


def get_version(code_set: CodeSet, version: str) -> CodeSetVersion:
    found = code_set.versions.filter(version=version).first()
    if found is None:
        raise NotFound(f"代码集“{code_set.name}”没有版本“{version}”")
    return found


@dataclass
class ParsedValue:
    row: int
    code: str
    name: str
    parent: str


def _error(row: int, column: str, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


def parse_values(content: bytes, filename: str) -> list[ParsedValue]:
    """Rows `code,name[,parent]` of a CSV or XLSX file, all checked; raises `ValidationFailed` listing every error."""
    table = read_table(content, filename)
    code_at = column_index(table.header, CODE_COLUMNS)
    name_at = column_index(table.header, NAME_COLUMNS)
    parent_at = column_index(table.header, PARENT_COLUMNS)
    if code_at is None or name_at is None:
        raise ValidationFailed(
            "第 1 行应为表头，至少包含 code（代码）和 name（名称）两列，可选 parent（上级代码）",
            code="bad_header",
            details=[_error(1, "header", "缺少 code（代码）或 name（名称）列")],
        )
    errors: list[dict[str, Any]] = []
    values: list[ParsedValue] = []
    first_row: dict[str, int] = {}
    for number, row in table.rows:
        value = ParsedValue(number, cell(row, code_at), cell(row, name_at), cell(row, parent_at))
        if not value.code:
            errors.append(_error(number, "code", "代码为空"))
        elif len(value.code) > CODE_MAX:
            errors.append(_error(number, "code", f"代码超过 {CODE_MAX} 个字符"))
        elif value.code in first_row:
            errors.append(_error(number, "code", f"代码“{value.code}”与第 {first_row[value.code]} 行重复"))
        else:
            first_row[value.code] = number
        if not value.name:
            errors.append(_error(number, "name", "名称为空"))
        elif len(value.name) > NAME_MAX:
            errors.append(_error(number, "name", f"名称超过 {NAME_MAX} 个字符"))
        if len(value.parent) > CODE_MAX:
            errors.append(_error(number, "parent", f"上级代码超过 {CODE_MAX} 个字符"))
        values.append(value)
    if not values:
        errors.append(_error(2, "code", "文件中没有代码"))
    errors.extend(_parent_errors(values, first_row))
    if errors:
        errors.sort(key=lambda error: error["row"])
        raise ValidationFailed(
            f"文件有 {len(errors)} 处错误，未导入任何数据", code="invalid_file", details=errors
        )
    return values


def _parent_errors(values: list[ParsedValue], first_row: dict[str, int]) -> list[dict[str, Any]]:
    parents = {
        value.code: value.parent for value in values if value.code and first_row.get(value.code) == value.row
    }
    errors = []
    for value in values:
        if not value.parent:
            continue
        if value.parent == value.code:
            errors.append(_error(value.row, "parent", "上级代码不能是自身"))
        elif value.parent not in parents:
            errors.append(_error(value.row, "parent", f"上级代码“{value.parent}”不在文件中"))
        elif _in_cycle(value.code, parents):
            errors.append(_error(value.row, "parent", "上级代码形成循环"))
    return errors


def _in_cycle(code: str, parents: dict[str, str]) -> bool:
    seen = {code}
    current = parents.get(code, "")
    while current:
        if current in seen:
            return True
        seen.add(current)
        current = parents.get(current, "")
    return False


def version_name(code_set: CodeSet | None, requested: str = "") -> str:
    """The requested name, checked; otherwise today's date (a suffix -2, -3 … when a version of that name exists)."""
    taken = set(code_set.versions.values_list("version", flat=True)) if code_set and code_set.pk else set()
    requested = requested.strip()
    if requested:
        if len(requested) > VERSION_MAX:
            raise ValidationFailed(f"版本号超过 {VERSION_MAX} 个字符", field="version")
        if not VERSION_PATTERN.match(requested):
            raise ValidationFailed(
                "版本号不能包含空格、斜杠、问号或井号", field="version", code="bad_version"
            )
        if requested in taken:
            raise ValidationFailed(
                f"版本“{requested}”已存在，请换一个版本号", field="version", code="duplicate"
            )
        return requested
    base = timezone.localdate().isoformat()
    name, suffix = base, 1
    while name in taken:
        suffix += 1
        name = f"{base}-{suffix}"
    return name


def import_code_set(
    actor: Any,
    *,
    content: bytes,
    filename: str,
    identifier: str,
    name: str = "",
    standard: str = "",
    description: str = "",
    version: str = "",
    note: str = "",
    make_current: bool = True,
    expect_new: bool = False,
    request: Any = None,
) -> CodeSetVersion:
    """Import a new code set, or a new version of an existing one (第九条). Nothing is saved if any row is wrong.
    With `expect_new`, an existing identifier is an error instead of a new version."""
    require_manager(actor)
    identifier = identifier.strip().lower()
    code_set = CodeSet.objects.filter(identifier=identifier).first()
    if code_set is not None and expect_new:
        raise ValidationFailed(
            "该标识已被使用；要导入已有代码集的新版本，请在该代码集的页面上传",
            field="identifier",
            code="duplicate_identifier",
        )
    if code_set is None:
        if not IDENTIFIER_PATTERN.match(identifier) or identifier in RESERVED_IDENTIFIERS:
            raise ValidationFailed(
                "标识只能由小写字母、数字和连字符组成，2 到 60 个字符",
                field="identifier",
                code="bad_identifier",
            )
        if not name.strip():
            raise ValidationFailed("新建代码集时必须填写名称", field="name", code="name_required")
        if len(name.strip()) > 100 or len(standard.strip()) > 100:
            raise ValidationFailed("名称和来源标准不能超过 100 个字符", field="name")
    values = parse_values(content, filename)
    with transaction.atomic():
        created = code_set is None
        if code_set is None:
            code_set = CodeSet.objects.create(
                identifier=identifier,
                name=name.strip(),
                standard=standard.strip(),
                description=description.strip(),
                is_hierarchical=any(value.parent for value in values),
            )
        elif any(value.parent for value in values) and not code_set.is_hierarchical:
            code_set.is_hierarchical = True
            code_set.save(update_fields=["is_hierarchical"])
        label = version_name(code_set, version)
        make_current = make_current or not code_set.versions.filter(is_current=True).exists()
        if make_current:
            code_set.versions.filter(is_current=True).update(is_current=False)
        new_version = CodeSetVersion.objects.create(
            code_set=code_set,
            version=label,
            is_current=make_current,
            note=note.strip()[:200],
            created_by=actor,
        )
        CodeValue.objects.bulk_create(
            (
                CodeValue(version=new_version, code=v.code, name=v.name, parent_code=v.parent, sort=i)
                for i, v in enumerate(values)
            ),
            batch_size=2000,
        )
        record(
            "codeset.imported" if created else "codeset.version_imported",
            actor=actor,
            request=request,
            target=code_set,
            details={
                "version": label,
                "values": len(values),
                "current": make_current,
                "file": filename[:100],
            },
        )
        transaction.on_commit(lookups.invalidate)
    lookups.invalidate()
    return new_version


def set_current_version(actor: Any, version: CodeSetVersion, *, request: Any = None) -> CodeSetVersion:
    """Make `version` the one validation uses from now on (第九条)."""
    require_manager(actor)
    if version.is_current:
        return version
    with transaction.atomic():
        code_set = version.code_set
        previous = code_set.versions.filter(is_current=True).first()
        code_set.versions.filter(is_current=True).update(is_current=False)
        version.is_current = True
        version.save(update_fields=["is_current"])
        record(
            "codeset.version_made_current",
            actor=actor,
            request=request,
            target=code_set,
            details={"version": version.version, "previous": previous.version if previous else None},
        )
        transaction.on_commit(lookups.invalidate)
    lookups.invalidate()
    return version


@dataclass
class VersionDiff:
    old: CodeSetVersion
    new: CodeSetVersion
    added: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    removed: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # (code, old name, new name)
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (code, old parent, new parent)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.renamed or self.moved)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from_version": self.old.version,
            "to_version": self.new.version,
            "added": [{"code": c, "name": n} for c, n in self.added],
            "removed": [{"code": c, "name": n} for c, n in self.removed],
            "renamed": [{"code": c, "old_name": o, "new_name": n} for c, o, n in self.renamed],
            "moved": [{"code": c, "old_parent": o, "new_parent": n} for c, o, n in self.moved],
        }


def diff_versions(old: CodeSetVersion, new: CodeSetVersion) -> VersionDiff:
    """What changed from `old` to `new`: codes added, removed, renamed and moved under another parent."""
    if old.code_set_id != new.code_set_id:
        raise ValidationFailed("只能比较同一代码集的两个版本", code="different_sets")

    def load(version: CodeSetVersion) -> dict[str, tuple[str, str]]:
        rows = version.values.values_list("code", "name", "parent_code")
        return {code: (name, parent) for code, name, parent in rows}

    before, after = load(old), load(new)
    diff = VersionDiff(old=old, new=new)
    for code in sorted(after.keys() - before.keys()):
        diff.added.append((code, after[code][0]))
    for code in sorted(before.keys() - after.keys()):
        diff.removed.append((code, before[code][0]))
    for code in sorted(before.keys() & after.keys()):
        (old_name, old_parent), (new_name, new_parent) = before[code], after[code]
        if old_name != new_name:
            diff.renamed.append((code, old_name, new_name))
        if old_parent != new_parent:
            diff.moved.append((code, old_parent, new_parent))
    return diff


def code_sets_overview(query: str = "") -> QuerySet[CodeSet]:
    """Code sets with their current version's name and value count (`current_label`, `value_count`), one query."""
    current = CodeSetVersion.objects.filter(code_set=OuterRef("pk"), is_current=True)
    counts = (
        CodeValue.objects.filter(version__code_set=OuterRef("pk"), version__is_current=True)
        .order_by()
        .values("version")
        .annotate(total=Count("pk"))
        .values("total")
    )
    code_sets = CodeSet.objects.annotate(
        current_label=Subquery(current.values("version")[:1]),
        value_count=Coalesce(Subquery(counts[:1]), 0),
    )
    query = query.strip()
    if query:
        code_sets = code_sets.filter(
            Q(identifier__icontains=query) | Q(name__icontains=query) | Q(standard__icontains=query)
        )
    return code_sets.order_by("-is_system", "identifier")


def versions_overview(code_set: CodeSet) -> QuerySet[CodeSetVersion]:
    return (
        code_set.versions.select_related("created_by")
        .annotate(value_count=Count("values"))
        .order_by("-is_current", "-created_at")
    )


def search_values(version: CodeSetVersion, query: str = "") -> QuerySet[CodeValue]:
    values = version.values.all()
    query = query.strip()
    if query:
        values = values.filter(Q(code__startswith=query) | Q(name__icontains=query) | Q(parent_code=query))
    return values.order_by("sort", "code")


def default_diff_pair(code_set: CodeSet) -> tuple[CodeSetVersion | None, CodeSetVersion | None]:
    """(previous, current): the current version and the newest version before it, for the diff page's defaults."""
    current = code_set.versions.filter(is_current=True).first()
    if current is None:
        return None, None
    previous = code_set.versions.exclude(pk=current.pk).order_by("-created_at").first()
    return previous, current
