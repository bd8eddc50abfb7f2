"""Loading the shipped standards (`manage.py load_standards`): code sets, the category tree with its department
branch, and the starter data elements. Idempotent: what exists is left alone (an operator's edits and newer versions
survive), what is missing is created with bulk inserts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from tongshu.security.audit import record

from . import lookups, shipped
from .categories import code_problem, level_choice, parent_code_of
from .formats import LengthNotationError, parse_for_type
from .models import CodeSet, CodeSetVersion, CodeValue, DataElement, ResourceCategory
from .services.categories import SOURCE_PLATFORM, sync_department_branch

Row = tuple[str, str, str]  # code, name, parent code


@dataclass
class LoadReport:
    code_sets: int = 0
    versions: int = 0
    values: int = 0
    categories: int = 0
    department_categories: int = 0
    data_elements: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.versions or self.categories or self.department_categories or self.data_elements)


def _csv(path: Path) -> Iterator[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def _flat_rows(path: Path) -> list[Row]:
    return [(row["code"].strip(), row["name"].strip(), "") for row in _csv(path)]


def division_rows() -> list[Row]:
    """Provinces, cities and counties as six-digit GB/T 2260 codes under their parents, in code order."""
    folder = shipped.DIVISIONS_DIR
    rows = [(r["code"] + "0000", r["name"], "") for r in _csv(folder / "provinces.csv")]
    rows += [(r["code"] + "00", r["name"], r["provinceCode"] + "0000") for r in _csv(folder / "cities.csv")]
    cities = {code for code, _name, _parent in rows}
    # Cities without counties (东莞, 中山, 儋州) are listed again as their own county: keep one row.
    rows += [
        (r["code"], r["name"], r["cityCode"] + "00")
        for r in _csv(folder / "areas.csv")
        if r["code"] not in cities
    ]
    return sorted(rows)


def township_rows() -> list[Row]:
    return sorted((r["code"], r["name"], r["areaCode"]) for r in _csv(shipped.DIVISIONS_DIR / "streets.csv"))


def shipped_rows(definition: shipped.ShippedSet) -> list[Row]:
    if definition.identifier == shipped.DIVISION:
        return division_rows()
    if definition.identifier == shipped.TOWNSHIP:
        return township_rows()
    return _flat_rows(shipped.CODESETS_DIR / definition.file)


def load_code_set(definition: shipped.ShippedSet, report: LoadReport) -> None:
    code_set, created = CodeSet.objects.get_or_create(
        identifier=definition.identifier,
        defaults={
            "name": definition.name,
            "standard": definition.standard,
            "description": definition.description,
            "is_hierarchical": definition.is_hierarchical,
            "is_system": True,
        },
    )
    report.code_sets += created
    if not code_set.is_system:
        report.notes.append(f"代码集 {definition.identifier} 已由管理员创建，未载入平台自带版本")
        return
    if code_set.versions.filter(version=definition.version).exists():
        return
    current = code_set.versions.filter(is_current=True).first()
    # A newer shipped snapshot replaces an older shipped one as current, never a version an operator imported.
    make_current = current is None or current.created_by_id is None
    if make_current and current is not None:
        code_set.versions.filter(pk=current.pk).update(is_current=False)
    version = CodeSetVersion.objects.create(
        code_set=code_set,
        version=definition.version,
        is_current=make_current,
        note=f"平台自带（{definition.standard}）"[:200],
    )
    rows = shipped_rows(definition)
    CodeValue.objects.bulk_create(
        (
            CodeValue(version=version, code=code, name=name, parent_code=parent, sort=i)
            for i, (code, name, parent) in enumerate(rows)
        ),
        batch_size=5000,
    )
    report.versions += 1
    report.values += len(rows)


def load_category_tree(report: LoadReport) -> None:
    """The guide's 基础 and 主题 branches and the 部门 class from `resource-category.csv`; existing codes untouched."""
    existing = {c.code: c for c in ResourceCategory.objects.all()}
    for order, row in enumerate(_csv(shipped.CATEGORY_FILE)):
        code, name = row["code"].strip(), row["name"].strip()
        if code in existing:
            continue
        problem = code_problem(code)
        parent = existing.get(parent_code_of(code)) if not problem else None
        if problem or (parent_code_of(code) and parent is None):
            report.notes.append(f"分类 {code} {name} 不符合当前分类代码位数设置，未载入")
            continue
        existing[code] = ResourceCategory.objects.create(
            code=code,
            name=name,
            parent=parent,
            level=level_choice(code),
            source=SOURCE_PLATFORM,
            sort=order * 10,
        )
        report.categories += 1


def load_data_elements(report: LoadReport) -> None:
    existing = set(DataElement.objects.values_list("identifier", flat=True))
    code_sets = {c.identifier: c for c in CodeSet.objects.all()}
    new = []
    for row in _csv(shipped.DATA_ELEMENTS_FILE):
        if row["identifier"] in existing:
            continue
        try:
            parse_for_type(row["data_type"], row["length"])
        except LengthNotationError as exc:  # a shipped-data defect: say so instead of loading it
            report.notes.append(f"数据元 {row['identifier']}：{exc}")
            continue
        new.append(
            DataElement(
                identifier=row["identifier"],
                name=row["name"],
                english_name=row["english_name"],
                definition=row["definition"],
                data_type=row["data_type"],
                length=row["length"],
                code_set=code_sets.get(row["code_set"]) if row["code_set"] else None,
                check_rule=row["check_rule"],
                value_domain=row["value_domain"],
                source_standard=row["source_standard"],
            )
        )
    DataElement.objects.bulk_create(new)
    report.data_elements += len(new)


def load_standards() -> LoadReport:
    report = LoadReport()
    with transaction.atomic():
        for definition in shipped.SHIPPED_SETS:
            load_code_set(definition, report)
        load_category_tree(report)
        branch = sync_department_branch()
        report.department_categories = branch.created + branch.linked
        report.notes.extend(branch.skipped)
        load_data_elements(report)
        if report.changed:
            record(
                "standards.loaded",
                actor_name="system",
                details={
                    "versions": report.versions,
                    "values": report.values,
                    "categories": report.categories,
                    "department_categories": report.department_categories,
                    "data_elements": report.data_elements,
                },
            )
    lookups.invalidate()
    return report
