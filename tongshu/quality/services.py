"""Use cases of data quality: department rules (第十五条), scores (第十三条), overdue resources (第二十二条).

Rules are added, changed and removed by the provider's data administrators and CDO; each change is validated
against the resource's published version and audited. Scores are computed after each applied batch and nightly
(tasks.py); a manager may also ask for one now.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from tongshu.catalog.models import Resource
from tongshu.core.errors import NotFound, PermissionDenied
from tongshu.security.audit import record

from . import permissions
from .models import QualityRule, QualityScore
from .rules import check_definition
from .scoring import compute_score

RULE_FIELDS = ("kind", "items", "parameters", "severity", "reason", "is_active")


def _check_manager(actor: Any, resource: Resource) -> None:
    if not permissions.can_manage_rules(actor, resource):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以维护质量规则", code="forbidden")


def _snapshot(rule: QualityRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def create_rule(
    actor: Any,
    resource: Resource,
    *,
    kind: str,
    items: list[str],
    parameters: dict[str, Any] | None = None,
    severity: str = "error",
    reason: str = "",
    is_active: bool = True,
) -> QualityRule:
    """第十五条: a department adds a rule to its resource (cross-item, range, pattern, reference)."""
    _check_manager(actor, resource)
    normalized = check_definition(resource, kind, items, parameters or {}, severity)
    with transaction.atomic():
        rule = QualityRule.objects.create(
            resource=resource,
            kind=kind,
            items=list(items),
            parameters=normalized,
            severity=severity,
            reason=(reason or "").strip()[:200],
            is_active=is_active,
            created_by=actor,
        )
        record(
            "quality.rule_created",
            actor=actor,
            organization=resource.provider,
            target=rule,
            details=_snapshot(rule),
        )
    return rule


def update_rule(actor: Any, rule: QualityRule, **changes: Any) -> QualityRule:
    _check_manager(actor, rule.resource)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(unknown)
    before = _snapshot(rule)
    merged = {**before, **{key: value for key, value in changes.items() if value is not None}}
    merged["parameters"] = check_definition(
        rule.resource, merged["kind"], merged["items"], merged["parameters"] or {}, merged["severity"]
    )
    merged["reason"] = (merged["reason"] or "").strip()[:200]
    with transaction.atomic():
        for name, value in merged.items():
            setattr(rule, name, value)
        rule.updated_at = timezone.now()
        rule.save()
        record(
            "quality.rule_changed",
            actor=actor,
            organization=rule.resource.provider,
            target=rule,
            details={"before": before, "after": _snapshot(rule)},
        )
    return rule


def delete_rule(actor: Any, rule: QualityRule) -> None:
    _check_manager(actor, rule.resource)
    with transaction.atomic():
        record(
            "quality.rule_deleted",
            actor=actor,
            organization=rule.resource.provider,
            target=rule,
            details=_snapshot(rule),
        )
        rule.delete()


def recompute_score(actor: Any, resource: Resource) -> QualityScore:
    """Score a resource now (its managers, or the operator)."""
    if not (permissions.can_manage_rules(actor, resource) or permissions.can_view_platform(actor)):
        raise PermissionDenied("无权重新计算该资源的质量评分", code="forbidden")
    score = compute_score(resource)
    record(
        "quality.score_computed",
        actor=actor,
        organization=resource.provider,
        target=resource,
        details={"overall": score.overall},
    )
    return score


# -- reading ---------------------------------------------------------------------------------------------------------
def visible_resource(actor: Any, resource_id: int) -> Resource:
    resource = Resource.objects.select_related("provider", "published_version").filter(pk=resource_id).first()
    if (
        resource is None
        or resource.published_version_id is None
        or not permissions.can_view_quality(actor, resource)
    ):
        raise NotFound("信息资源不存在或无权查看其数据质量", code="resource_not_found")
    return resource


def visible_rule(actor: Any, rule_id: int) -> QualityRule:
    rule = QualityRule.objects.select_related("resource", "resource__provider").filter(pk=rule_id).first()
    if rule is None or not permissions.can_view_quality(actor, rule.resource):
        raise NotFound("质量规则不存在或无权查看", code="rule_not_found")
    return rule


def latest_score(resource: Resource) -> QualityScore | None:
    return QualityScore.objects.filter(resource=resource).order_by("-computed_at", "-pk").first()


def with_latest_scores(resources: QuerySet[Resource]) -> QuerySet[Resource]:
    """Annotate each resource with its latest overall score and the one before (for the trend), in one query."""
    scores = QualityScore.objects.filter(resource=OuterRef("pk")).order_by("-computed_at", "-pk")
    return resources.annotate(
        latest_overall=Subquery(scores.values("overall")[:1]),
        latest_computed_at=Subquery(scores.values("computed_at")[:1]),
        previous_overall=Subquery(scores.values("overall")[1:2]),
    )
