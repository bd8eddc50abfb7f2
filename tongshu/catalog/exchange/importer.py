"""Importing a department catalog spreadsheet (第八条): all rows or nothing.

The file is checked (xlsx_read), every row is read into a record (parse), each record goes through the catalog's own
validation (`tongshu.catalog.validation.validate_version`, the same rules as the editing pages and the API), and
only when no row has any problem are the drafts saved, all in one transaction, through the workflow's services
(`create_draft`, and `start_revision` + `update_draft` for published resources). Every problem comes back with its
sheet, spreadsheet row, column and a Chinese reason.

What a row with a 信息资源代码 means (documented in docs/api.md):
- empty: a new resource, saved as a draft;
- the code of a live resource of the importing department: a change. Identical to the current version (after the
  catalog's normalization) → left alone and reported as unchanged, so re-importing an export is harmless;
  different → a new draft version of that resource (`start_revision` + `update_draft`), to be submitted and
  reviewed like any change of a published resource; an open draft or returned version is updated instead; a
  version under review → an error for that row. A change of share or open type needs a reason typed by a person
  (第三十五条(一)) and the sheet has no column for it, so such a row is an error pointing to the catalog page;
- the code of another department's resource, or of a retired one → an error;
- a code this platform never assigned (a catalog moved from another platform) → imported as a new resource, with a
  warning that the platform assigns its own code at publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tongshu.catalog.choices import VersionState
from tongshu.catalog.models import Resource, ResourceVersion
from tongshu.catalog.permissions import OPEN_STATES
from tongshu.core.errors import PermissionDenied, ValidationFailed
from tongshu.security.audit import record

from . import permissions, workflow
from .columns import ITEM_COLUMN_BY_KEY, ITEM_SHEET, RESOURCE_COLUMN_BY_KEY, RESOURCE_SHEET
from .export import _versions
from .parse import ParsedResource, RowError, parse_catalog
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
    action: str  # "create" | "change" (a new version, or the open draft updated) | "unchanged"
    resource: Resource | None = None
    base: ResourceVersion | None = None  # the published version a revision starts from, or the open draft
    fields: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)


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
                "state": str(version.state),
            }

        return {
            "created": [describe(v) for v in self.created],
            "revised": [describe(v) for v in self.revised],
            "unchanged": [{"resource_id": r.pk, "code": r.code} for r in self.unchanged],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def import_department_catalog(
    actor: Any, organization: Any, data: bytes, *, filename: str = ""
) -> ImportOutcome:
    """Import a §7 spreadsheet into `organization`'s catalog as drafts, or save nothing and raise ImportRejected."""
    if not permissions.can_import_catalog(actor, organization):
        raise PermissionDenied(
            "只有本单位的数据管理员或首席数据官可以导入本单位目录", code="catalog_import_forbidden"
        )
    check_xlsx(data)
    sheets = read_sheets(data, [RESOURCE_SHEET, ITEM_SHEET])
    parsed, errors = parse_catalog(sheets, provider=organization, vocabularies=Vocabularies())
    outcome = ImportOutcome()
    plans = _plan(parsed, organization, errors, outcome.warnings)
    lookups = workflow.Lookups(organization)
    for plan in plans:
        _check(plan, organization, lookups, errors)
    if not errors:
        reason = f"通过目录导入修订（{filename[:100] or '目录文件'}）"
        try:
            with transaction.atomic():
                _save(actor, organization, plans, outcome, reason)
        except ValidationFailed as exc:
            # Only a race (another change between the check and the save) gets here; nothing was saved.
            errors.extend(
                getattr(exc, "row_errors", None) or [RowError(RESOURCE_SHEET, None, "", exc.message)]
            )
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
            "created": [v.pk for v in outcome.created],
            "revised": [v.pk for v in outcome.revised],
            "unchanged": len(outcome.unchanged),
        },
    )
    return outcome


def _plan(
    parsed: list[ParsedResource], organization: Any, errors: list[RowError], warnings: list[RowError]
) -> list[Plan]:
    codes = [p.code for p in parsed if p.code]
    known = {r.code: r for r in Resource.objects.filter(code__in=codes)}
    open_versions: dict[int, ResourceVersion] = {}
    for version in _versions().filter(resource__code__in=codes, state__in=OPEN_STATES).order_by("-number"):
        open_versions.setdefault(version.resource_id, version)
    published = {v.pk: v for v in _versions().filter(pk__in=[r.published_version_id for r in known.values()])}
    plans: list[Plan] = []
    column = "信息资源代码"
    for row in parsed:
        resource = known.get(row.code) if row.code else None
        if not row.code:
            plans.append(Plan(row, "create"))
        elif resource is None:
            warnings.append(
                RowError(
                    RESOURCE_SHEET,
                    row.row,
                    column,
                    f"本平台没有代码为“{row.code}”的资源，已作为新资源导入，发布时由平台重新赋码",
                )
            )
            plans.append(Plan(row, "create"))
        elif resource.provider_id != organization.pk:
            errors.append(
                RowError(RESOURCE_SHEET, row.row, column, "该代码属于其他单位的信息资源，不能导入修改")
            )
        elif resource.is_retired:
            errors.append(RowError(RESOURCE_SHEET, row.row, column, "该资源已停用，不能再修改"))
        elif (draft := open_versions.get(resource.pk)) is not None:
            if draft.state == VersionState.SUBMITTED:
                errors.append(
                    RowError(
                        RESOURCE_SHEET, row.row, column, "该资源有正在审核的版本，审核完成前不能导入修改"
                    )
                )
            else:
                plans.append(Plan(row, "change", resource, draft))
        elif resource.published_version_id in published:
            plans.append(Plan(row, "change", resource, published[resource.published_version_id]))
        else:
            errors.append(RowError(RESOURCE_SHEET, row.row, column, "该资源没有可修改的版本"))
    return plans


def _check(plan: Plan, organization: Any, lookups: workflow.Lookups, errors: list[RowError]) -> None:
    """Run the catalog's validation on the row; an unchanged row is left alone, whatever today's rules say."""
    plan.fields, plan.items = workflow.payload(plan.parsed, lookups, plan.base)
    cleaned = workflow.clean(plan.fields, plan.items, provider=organization, resource=plan.resource)
    if plan.base is not None and workflow.unchanged(cleaned, plan.base):
        plan.action = "unchanged"
        return
    taken = {(e.sheet, e.row, e.column) for e in errors}
    for problem in cleaned.errors:
        error = locate(plan, problem)
        if (error.sheet, error.row, error.column) not in taken:
            errors.append(error)


def locate(plan: Plan, problem: Any) -> RowError:
    """Place one error of the catalog's validation (a FieldError or its dict) on its sheet, row and column."""
    get = problem.get if isinstance(problem, dict) else lambda name: getattr(problem, name, None)
    parsed = plan.parsed
    name = str(get("field") or "").split(".")[-1]
    message = str(get("message") or "")
    index = get("item_index")
    if index is not None and 0 <= index < len(parsed.items):
        column = ITEM_COLUMN_BY_KEY.get(ITEM_FIELD_COLUMNS.get(name, name))
        return RowError(
            ITEM_SHEET, parsed.items[index].row, column.header if column else "信息项名称", message
        )
    if name == "items" and get("code") == "key_required" and parsed.items:
        return RowError(ITEM_SHEET, parsed.items[0].row, "是否主键", message)
    if name == "change_reason":
        changed = plan.base is not None and plan.fields.get("share_type") != plan.base.share_type
        column_name = "共享类型" if changed else "是否向社会开放"
        return RowError(
            RESOURCE_SHEET, parsed.row, column_name, f"{message}（请在目录页面修订该资源并填写变更原因）"
        )
    column = RESOURCE_COLUMN_BY_KEY.get(name)
    return RowError(RESOURCE_SHEET, parsed.row, column.header if column else "序号", message)


# Item fields the sheet has no column for, placed on the column that causes them.
ITEM_FIELD_COLUMNS = {
    "field_name": "name",
    "uid": "name",
    "open_masking": "security_level",
    "is_required": "is_key",
}


def _save(actor: Any, organization: Any, plans: list[Plan], outcome: ImportOutcome, reason: str) -> None:
    for plan in plans:
        if plan.action == "unchanged":
            assert plan.resource is not None
            outcome.unchanged.append(plan.resource)
            continue
        try:
            if plan.action == "create":
                outcome.created.append(workflow.save_new(actor, organization, plan.fields, plan.items))
            else:
                assert plan.base is not None
                outcome.revised.append(
                    workflow.save_change(actor, plan.base, plan.fields, plan.items, reason=reason)
                )
        except ValidationFailed as exc:
            exc.row_errors = [locate(plan, problem) for problem in (exc.details or [])] or None  # type: ignore[attr-defined]
            raise
