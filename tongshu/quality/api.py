"""`/api/v1/quality`: quality scores and their history, overdue resources, department rules (第十三条, 第十五条,
第二十二条). The same services and permissions as the pages; errors are `{"code", "message"}` in Chinese."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from tongshu.core.api_auth import calling_user
from tongshu.core.errors import PermissionDenied

from . import permissions, services, summaries
from .models import QualityRule, QualityScore

router = Router(tags=["quality"])


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class ScoreOut(Schema):
    resource_id: int
    computed_at: datetime
    overall: float | None
    completeness: float | None
    validity: float | None
    uniqueness: float | None
    consistency: float | None
    timeliness: float | None
    row_count: int
    details: dict[str, Any]


class ResourceQualityOut(Schema):
    resource_id: int
    code: str | None
    name: str
    provider_id: int
    provider_name: str
    update_cycle: str
    last_update: datetime | None
    due_at: datetime | None
    is_overdue: bool
    days_overdue: int
    overall: float | None
    previous_overall: float | None
    computed_at: datetime | None


class RuleIn(Schema):
    kind: str
    items: list[str]
    parameters: dict[str, Any] = {}
    severity: str = "error"
    reason: str = ""
    is_active: bool = True


class RulePatch(Schema):
    kind: str | None = None
    items: list[str] | None = None
    parameters: dict[str, Any] | None = None
    severity: str | None = None
    reason: str | None = None
    is_active: bool | None = None


class RuleOut(Schema):
    id: int
    resource_id: int
    kind: str
    items: list[str]
    parameters: dict[str, Any]
    severity: str
    reason: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _ok(schema: Any, status: int = 200) -> dict[int, Any]:
    return {status: schema, **ERRORS}


def _row(row: summaries.ResourceRow) -> dict[str, Any]:
    resource = row.resource
    return {
        "resource_id": resource.pk,
        "code": resource.code,
        "name": row.name,
        "provider_id": resource.provider_id,
        "provider_name": resource.provider.name,
        "update_cycle": row.cycle,
        "last_update": row.last_update,
        "due_at": row.due_at,
        "is_overdue": row.is_overdue,
        "days_overdue": row.days_overdue,
        "overall": row.overall,
        "previous_overall": row.previous,
        "computed_at": row.computed_at,
    }


@router.get("/resources", response=_ok(list[ResourceQualityOut]), summary="各资源最新质量评分与更新情况")
@paginate(LimitOffsetPagination)
def list_resources(request: HttpRequest, provider_id: int | None = None) -> list[dict[str, Any]]:
    actor = calling_user(request)
    resources = permissions.resources_visible_to(actor)
    if provider_id:
        resources = resources.filter(provider_id=provider_id)
    return [_row(row) for row in summaries.resource_rows(resources)]


@router.get("/overdue", response=_ok(list[ResourceQualityOut]), summary="更新逾期的信息资源（第二十二条）")
def overdue(request: HttpRequest) -> list[dict[str, Any]]:
    actor = calling_user(request)
    if not permissions.can_view_overdue(actor):
        raise PermissionDenied("无权查看逾期资源", code="forbidden")
    rows = summaries.resource_rows(permissions.resources_visible_to(actor))
    return [_row(row) for row in sorted(rows, key=lambda row: -row.days_overdue) if row.is_overdue]


@router.get("/resources/{resource_id}/score", response=_ok(ScoreOut), summary="资源最新质量评分")
def latest_score(request: HttpRequest, resource_id: int) -> Any:
    resource = services.visible_resource(calling_user(request), resource_id)
    score = services.latest_score(resource)
    if score is None:
        return Status(404, {"code": "not_scored", "message": "该资源尚未评分"})
    return score


@router.post("/resources/{resource_id}/score", response=_ok(ScoreOut, 201), summary="立即重新计算质量评分")
def rescore(request: HttpRequest, resource_id: int) -> Status:
    actor = calling_user(request)
    resource = services.visible_resource(actor, resource_id)
    return Status(201, services.recompute_score(actor, resource))


@router.get(
    "/resources/{resource_id}/scores", response=_ok(list[ScoreOut]), summary="质量评分历史（新的在前）"
)
@paginate(LimitOffsetPagination)
def score_history(request: HttpRequest, resource_id: int) -> Any:
    resource = services.visible_resource(calling_user(request), resource_id)
    return QualityScore.objects.filter(resource=resource).order_by("-computed_at", "-pk")


@router.get("/resources/{resource_id}/rules", response=_ok(list[RuleOut]), summary="部门设定的质量规则")
def list_rules(request: HttpRequest, resource_id: int) -> Any:
    resource = services.visible_resource(calling_user(request), resource_id)
    return list(QualityRule.objects.filter(resource=resource).order_by("pk"))


@router.post("/resources/{resource_id}/rules", response=_ok(RuleOut, 201), summary="新增质量规则（第十五条）")
def create_rule(request: HttpRequest, resource_id: int, payload: RuleIn) -> Status:
    actor = calling_user(request)
    resource = services.visible_resource(actor, resource_id)
    return Status(201, services.create_rule(actor, resource, **payload.dict()))


@router.get("/rules/{rule_id}", response=_ok(RuleOut), summary="质量规则详情")
def get_rule(request: HttpRequest, rule_id: int) -> Any:
    return services.visible_rule(calling_user(request), rule_id)


@router.patch("/rules/{rule_id}", response=_ok(RuleOut), summary="修改质量规则")
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> Any:
    actor = calling_user(request)
    rule = services.visible_rule(actor, rule_id)
    return services.update_rule(actor, rule, **payload.dict(exclude_unset=True))


@router.delete("/rules/{rule_id}", response={204: None, **ERRORS}, summary="删除质量规则")
def delete_rule(request: HttpRequest, rule_id: int) -> Status:
    actor = calling_user(request)
    services.delete_rule(actor, services.visible_rule(actor, rule_id))
    return Status(204, None)
