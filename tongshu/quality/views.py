"""Data-quality pages: the department's data dashboard, the operator's platform-wide quality page, a resource's
quality page with its rules (第十三条, 第十五条, 第二十二条). Thin: scope with permissions, call services, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongshu.accounts.models import Organization
from tongshu.catalog.models import Resource
from tongshu.core.errors import DomainError, NotFound, PermissionDenied
from tongshu.core.http import AuthenticatedHttpRequest
from tongshu.core.views import error_page
from tongshu.dataplane.models import BadRowPolicy, Batch, ResourceData
from tongshu.dataplane.schema import schema_for_version

from . import permissions, services, summaries
from .forms import RuleForm, kinds_using
from .models import QualityRule, QualityScore, RuleKind
from .overdue import timeliness

DIMENSION_LABELS = {
    "completeness": "完整性",
    "validity": "规范性",
    "uniqueness": "唯一性",
    "consistency": "一致性",
    "timeliness": "时效性",
    "overall": "综合评分",
}


P = ParamSpec("P")
PageView = Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponseBase]


def _page(view: PageView[P]) -> PageView[P]:
    """Log in required; a domain error raised by the view is answered with the error page."""

    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return error_page(request, exc)

    return login_required(wrapper)


@_page
def department(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The department's data dashboard: its resources, last update, overdue, quality and trend."""
    user = request.user
    departments = None
    organization = user.organization
    if permissions.can_view_platform(user):
        departments = Organization.objects.filter(resources__published_version__isnull=False).distinct()
        chosen = request.GET.get("department")
        if chosen and chosen.isdigit():
            organization = departments.filter(pk=int(chosen)).first()
        elif organization is None or not departments.filter(pk=organization.pk).exists():
            organization = departments.first()
    if organization is None or not permissions.can_view_department(user, organization):
        if organization is None and departments is not None:
            return render(request, "quality/department.html", {"departments": departments, "rows": []})
        raise PermissionDenied("无权查看该部门的数据看板", code="forbidden")
    resources = permissions.resources_visible_to(user).filter(provider=organization)
    rows = summaries.resource_rows(resources)
    return render(
        request,
        "quality/department.html",
        {
            "organization": organization,
            "departments": departments,
            "rows": rows,
            "summary": summaries.summary(rows),
            "chart": {"trend": summaries.trend(resources), "dimensions": _dimensions(resources)},
        },
    )


def _dimensions(resources: Any) -> list[dict[str, Any]]:
    averages = summaries.dimension_averages(resources)
    return [{"name": DIMENSION_LABELS[key], "value": value} for key, value in averages.items()]


@_page
def platform(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The operator's platform-wide quality page (大数据中心): averages, departments, overdue resources, charts."""
    if not permissions.can_view_platform(request.user):
        raise PermissionDenied("只有系统管理员和主管部门可以查看全平台数据质量", code="forbidden")
    resources = permissions.resources_visible_to(request.user)
    rows = summaries.resource_rows(resources)
    departments = summaries.by_department(rows)
    overdue = [row for row in rows if row.is_overdue]
    overdue.sort(key=lambda row: -row.days_overdue)
    chart = {
        "trend": summaries.trend(resources),
        "dimensions": _dimensions(resources),
        "departments": [
            {
                "name": entry["organization"].short_name or entry["organization"].name,
                "value": entry["average"],
            }
            for entry in departments
            if entry["average"] is not None
        ],
    }
    return render(
        request,
        "quality/platform.html",
        {
            "summary": summaries.summary(rows),
            "departments": departments,
            "overdue_departments": sum(1 for entry in departments if entry["overdue"]),
            "overdue": overdue,
            "chart": chart,
        },
    )


@_page
def resource(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    """A resource's quality: latest score and history, rules, the last batch's problems."""
    item = services.visible_resource(request.user, resource_id)
    history = list(QualityScore.objects.filter(resource=item).order_by("-computed_at", "-pk")[:60])
    schema = schema_for_version(item.published_version)
    labels = {column.field_name: column.label for column in schema.columns}
    rules = [
        {
            "rule": rule,
            "labels": [labels.get(name, name) for name in rule.items],
            "parameters": describe(rule),
        }
        for rule in item.quality_rules.order_by("pk")
    ]
    timely = timeliness(item)
    last_batch = Batch.objects.filter(resource=item).order_by("-created_at", "-pk").first()
    chart = {
        "history": [
            {
                "at": f"{timezone.localtime(score.computed_at):%Y-%m-%d %H:%M}",
                **{key: getattr(score, key) for key in DIMENSION_LABELS},
            }
            for score in reversed(history)
        ],
        "labels": DIMENSION_LABELS,
    }
    return render(
        request,
        "quality/resource.html",
        {
            "resource": item,
            "version": item.published_version,
            "latest": history[0] if history else None,
            "history": history[:20],
            "rules": rules,
            "can_manage": permissions.can_manage_rules(request.user, item),
            "can_rescore": permissions.can_manage_rules(request.user, item)
            or permissions.can_view_platform(request.user),
            "timeliness": timely,
            "overdue": timely.is_overdue(timezone.now()),
            "last_batch": last_batch,
            "problems": (last_batch.error_sample or [])[:50] if last_batch else [],
            "chart": chart,
            "tab": "quality",
        },
    )


def describe(rule: QualityRule) -> str:
    """The rule's parameters in words, for the rule list."""
    parameters = rule.parameters or {}
    if rule.kind == RuleKind.RANGE:
        low, high = parameters.get("min"), parameters.get("max")
        return "、".join(
            part for part in (f"最小 {low}" if low else "", f"最大 {high}" if high else "") if part
        )
    if rule.kind == RuleKind.PATTERN:
        return f"正则 {parameters.get('pattern', '')}"
    if rule.kind == RuleKind.REFERENCE:
        target_id = parameters.get("resource")
        target = (
            Resource.objects.select_related("published_version").filter(pk=target_id).first()
            if target_id is not None
            else None
        )
        name = target.published_version.name if target and target.published_version else "（已不存在）"
        return f"须存在于“{name}”的 {parameters.get('field', '')}"
    return ""


def _columns(resource: Any) -> list[tuple[str, str]]:
    schema = schema_for_version(resource.published_version)
    return [(column.field_name, column.label) for column in schema.columns]


@_page
def rule_form(
    request: AuthenticatedHttpRequest, resource_id: int, rule_id: int | None = None
) -> HttpResponse:
    """Add a rule to a resource, or change one (the provider's data administrators and CDO)."""
    item = services.visible_resource(request.user, resource_id)
    rule = services.visible_rule(request.user, rule_id) if rule_id else None
    if rule is not None and rule.resource_id != item.pk:
        raise NotFound("质量规则不存在", code="rule_not_found")
    if not permissions.can_manage_rules(request.user, item):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以维护质量规则", code="forbidden")
    initial = RuleForm.initial_for(rule) if rule else {"is_active": True, "severity": "error"}
    form = RuleForm(
        request.POST or None,
        initial=initial,
        columns=_columns(item),
        policy=_policy(item),
        target_url=reverse("quality:rule_target_items", args=[item.pk]),
    )
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                services.create_rule(request.user, item, **form.definition())
                messages.success(request, _("The rule was added."))
            else:
                services.update_rule(request.user, rule, **form.definition())
                messages.success(request, _("The rule was saved."))
            return redirect("quality:resource", item.pk)
        except DomainError as exc:
            if exc.status != 400:
                raise
            form.add_service_error(exc.field, exc.message)
    return render(
        request,
        "quality/rule_form.html",
        {"resource": item, "rule": rule, "form": form, "kinds_using": _kinds_using(form)},
    )


def _policy(resource: Any) -> str:
    data = ResourceData.objects.filter(resource=resource).only("bad_row_policy").first()
    return data.bad_row_policy if data is not None else BadRowPolicy.REJECT


def _kinds_using(form: RuleForm) -> dict[str, str]:
    return {name: kinds_using(name) for name in form.fields}


@_page
def rule_target_items(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    """htmx: the referenced-field select for the resource chosen as a reference rule's target."""
    item = services.visible_resource(request.user, resource_id)
    if not permissions.can_manage_rules(request.user, item):
        raise PermissionDenied("只有资源提供部门的数据管理员或首席数据官可以维护质量规则", code="forbidden")
    form = RuleForm(initial={"target": request.GET.get("target")}, columns=_columns(item))
    return render(
        request,
        "quality/rule_form.html#target-field",
        {"resource": item, "form": form, "kinds_using": _kinds_using(form)},
    )


@require_POST
@_page
def rule_delete(request: AuthenticatedHttpRequest, rule_id: int) -> HttpResponse:
    rule = services.visible_rule(request.user, rule_id)
    resource_id = rule.resource_id
    services.delete_rule(request.user, rule)
    messages.success(request, _("The rule was deleted."))
    return redirect("quality:resource", resource_id)


@require_POST
@_page
def rescore(request: AuthenticatedHttpRequest, resource_id: int) -> HttpResponse:
    item = services.visible_resource(request.user, resource_id)
    services.recompute_score(request.user, item)
    messages.success(request, _("The quality score was recomputed."))
    return redirect("quality:resource", item.pk)


@_page
def overdue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Overdue resources (第二十二条): a department sees its own, the operator and the authority every department's."""
    if not permissions.can_view_overdue(request.user):
        raise PermissionDenied("无权查看逾期资源", code="forbidden")
    rows = summaries.resource_rows(permissions.resources_visible_to(request.user))
    entries = sorted((row for row in rows if row.is_overdue), key=lambda row: -row.days_overdue)
    return render(
        request,
        "quality/overdue.html",
        {"entries": entries, "platform": permissions.can_view_platform(request.user)},
    )
