"""Importing a department catalog spreadsheet (第八条): all rows or nothing.

The file is checked (xlsx_read), every row is read into a record (parse), each record goes through the catalog's own
validation (`tongshu.catalog.validation.validate_version`, the same rules as the editing pages and the API), and
only when no row has any problem are the drafts saved, all in one transaction, through the workflow's services
(`create_draft`, and `start_revision` + `update_draft` for published resources). Every problem comes back with its
sheet, spreadsheet row, column and a Chinese reason.

What a row with a 信息资源代码 means (documented in docs/api.md):
- empty: a new resource, saved as a draft;
- the code of a live resource of the importing department: a change. Identical to the current version → left
  alone and reported as unchanged; different → a new draft version of that resource, to be submitted and reviewed
  like any change of a published resource (a draft already open is updated instead); a version under review →
  refused for that row;
- the code of another department's resource, or of a retired one → an error;
- a code this platform never assigned (a catalog moved from another platform) → imported as a new resource, with a
  warning that the platform assigns its own code at publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tongshu.catalog.choices import EDITABLE_STATES, VersionState
from tongshu.catalog.models import Resource, ResourceVersion
from tongshu.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import permissions, workflow
from .columns import ITEM_COLUMN_BY_KEY, ITEM_SHEET, RESOURCE_COLUMN_BY_KEY, RESOURCE_SHEET
from .export import _versions
from .parse import ParsedResource, RowError, parse_catalog
from .records import same_record, version_record
from .vocab import Vocabularies
from .xlsx_read import check_xlsx, read_sheets

MAX_REPORTED_ERRORS = 2000


class ImportRejected(ValidationFailed):
    """The file was read but some rows are wrong; `details` lists every problem. Nothing was saved."""

    code = "catalog_import_invalid"

    def __init__(self, errors: list[RowError]) -> None:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f"（仅列出前 {MAX_REPORTED_ERRORS} 个）" if len(errors) > len(shown) else ""
        super().__init__(
            f"导入失败：发现 {len(errors)} 个错误{more}，未保存任何内容。请修改后重新导入。",
            details=[error.as_dict() for error in shown],
        )
        self.errors = shown
        self.total = len(errors)


@dataclass
class Plan:
    """What the import will do with one resource row."""

    parsed: ParsedResource
    action: str  # "create" | "revise" | "update" | "unchanged"
    resource: Resource | None = None
    version: ResourceVersion | None = None  # the version a revision starts from, or the open draft to update


@dataclass
class ImportOutcome:
    created: list[ResourceVersion] = field(default_factory=list)
    revised: list[ResourceVersion] = field(default_factory=list)
    unchanged: list[Resource] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def describe(version: ResourceVersion) -> dict[str, Any]:
            return {
                "resource_id": version.resource_id,
                "version_id": version.pk,
                "version": version.number,
                "code": version.resource.code,
                "name": version.name,
                "state": version.state,
            }

        return {
            "created": [describe(v) for v in self.created],
            "revised": [describe(v) for v in self.revised],
            "unchanged": [{"resource_id": r.pk, "code": r.code} for r in self.unchanged],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def import_department_catalog(actor: Any, organization: Any, data: bytes, *, filename: str = "") -> ImportOutcome:
    """Import a §7 spreadsheet into `organization`'s catalog as drafts, or save nothing and raise ImportRejected."""
    if not permissions.can_import_catalog(actor, organization):
        raise PermissionDenied("只有本单位的数据管理员或首席数据官可以导入本单位目录", code="catalog_import_forbidden")
    check_xlsx(data)
    sheets = read_sheets(data, [RESOURCE_SHEET, ITEM_SHEET])
    vocabularies = Vocabularies()
    parsed, errors = parse_catalog(sheets, provider=organization, vocabularies=vocabularies)
    outcome = ImportOutcome()
    plans = _plan(parsed, organization, errors, outcome.warnings)
    for plan in plans:
        if plan.action != "unchanged":
            errors.extend(_validate(plan, organization))
    if not errors:
        try:
            with transaction.atomic():
                _save(actor, organization, plans, outcome)
        except DomainError as exc:
            if exc.status >= 500 or isinstance(exc, PermissionDenied):
                raise
            errors.extend(getattr(exc, "row_errors", None) or [RowError(RESOURCE_SHEET, None, "", exc.message)])
    if errors:
        errors.sort(key=lambda e: (e.sheet != RESOURCE_SHEET, e.row or 0))
        record(
            "catalog.import_rejected",
            actor=actor,
            target=organization,
            details={"filename": filename[:200], "errors": len(errors), "first": errors[0].as_dict()},
        )
        raise ImportRejected(errors)
    record(
        "catalog.imported",
        actor=actor,
        target=organization,
        details={
            "filename": filename[:200],
            "created": len(outcome.created),
            "revised": len(outcome.revised),
            "unchanged": len(outcome.unchanged),
        },
    )
    return outcome


def _plan(
    parsed: list[ParsedResource], organization: Any, errors: list[RowError], warnings: list[RowError]
) -> list[Plan]:
    codes = [p.code for p in parsed if p.code]
    known = {r.code: r for r in Resource.objects.filter(code__in=codes).select_related("provider")}
    open_versions = {
        v.resource_id: v
        for v in _versions()
        .filter(resource__code__in=codes, state__in=[*EDITABLE_STATES, VersionState.SUBMITTED])
        .order_by("-number")
    }
    published = {v.pk: v for v in _versions().filter(pk__in=[r.published_version_id for r in known.values()])}
    plans: list[Plan] = []
    for row in parsed:
        if not row.code:
            plans.append(Plan(row, "create"))
            continue
        resource = known.get(row.code)
        column = "信息资源代码"
        if resource is None:
            warnings.append(
                RowError(RESOURCE_SHEET, row.row, column, f"本平台没有代码为“{row.code}”的资源，将作为新资源导入，发布时由平台重新赋码")
            )
            plans.append(Plan(row, "create"))
        elif resource.provider_id != organization.pk:
            errors.append(RowError(RESOURCE_SHEET, row.row, column, "该代码属于其他单位的信息资源，不能导入修改"))
        elif resource.is_retired:
            errors.append(RowError(RESOURCE_SHEET, row.row, column, "该资源已注销，不能再修改"))
        elif (draft := open_versions.get(resource.pk)) is not None and draft.state == VersionState.SUBMITTED:
            errors.append(RowError(RESOURCE_SHEET, row.row, column, "该资源有正在审核的版本，审核完成前不能导入修改"))
        elif draft is not None:
            action = "unchanged" if same_record(_record(row), version_record(draft)) else "update"
            plans.append(Plan(row, action, resource, draft))
        else:
            current = published.get(resource.published_version_id or 0)
            if current is None:
                errors.append(RowError(RESOURCE_SHEET, row.row, column, "该资源没有已发布的版本"))
                continue
            action = "unchanged" if same_record(_record(row), version_record(current)) else "revise"
            plans.append(Plan(row, action, resource, current))
    return plans


def _record(row: ParsedResource) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return row.fields, [item.values for item in row.items]


def _validate(plan: Plan, organization: Any) -> list[RowError]:
    fields, items = workflow.service_payload(plan.parsed, organization, base=plan.version)
    problems = workflow.validate(fields, items, provider=organization, resource=plan.resource)
    return [locate(plan.parsed, problem) for problem in problems]


def locate(parsed: ParsedResource, problem: Any) -> RowError:
    """Place one validation error of the catalog (field, item_index, message) on its sheet, row and column."""
    field_name = getattr(problem, "field", "") or ""
    message = getattr(problem, "message", "") or str(problem)
    item_index = getattr(problem, "item_index", None)
    if item_index is not None and 0 <= item_index < len(parsed.items):
        column = ITEM_COLUMN_BY_KEY.get(workflow.ITEM_FIELD_KEYS.get(field_name, field_name))
        return RowError(ITEM_SHEET, parsed.items[item_index].row, column.header if column else "信息项名称", message)
    column = RESOURCE_COLUMN_BY_KEY.get(workflow.RESOURCE_FIELD_KEYS.get(field_name, field_name))
    return RowError(RESOURCE_SHEET, parsed.row, column.header if column else "序号", message)


def _save(actor: Any, organization: Any, plans: list[Plan], outcome: ImportOutcome) -> None:
    for plan in plans:
        if plan.action == "unchanged":
            assert plan.resource is not None
            outcome.unchanged.append(plan.resource)
            continue
        try:
            version = workflow.save(actor, organization, plan)
        except ValidationFailed as exc:
            exc.row_errors = [locate(plan.parsed, problem) for problem in workflow.problems_of(exc)]  # type: ignore[attr-defined]
            raise
        (outcome.created if plan.action == "create" else outcome.revised).append(version)
