"""Home-page panels of data quality: a department's own overdue count and average score; the operator's platform
average and the departments with overdue resources (第二十二条)."""

from __future__ import annotations

from typing import Any

from tongshu.accounts.roles import Role
from tongshu.core.dashboards import register

from . import permissions, summaries


@register("quality.department", {Role.CDO, Role.DATA_ADMIN}, "quality/panels/department.html", order=30)
def department_panel(user: Any) -> dict[str, Any]:
    if user.organization_id is None:
        return {"average": None, "overdue": 0}
    rows = summaries.resource_rows(
        permissions.resources_visible_to(user).filter(provider_id=user.organization_id)
    )
    figures = summaries.summary(rows)
    return {"average": figures["average"], "overdue": figures["overdue"]}


@register("quality.platform", {Role.OPERATOR_ADMIN}, "quality/panels/platform.html", order=30)
def platform_panel(user: Any) -> dict[str, Any]:
    rows = summaries.resource_rows(permissions.resources_visible_to(user))
    figures = summaries.summary(rows)
    departments = [entry for entry in summaries.by_department(rows) if entry["overdue"]]
    return {"average": figures["average"], "overdue": figures["overdue"], "departments": departments}
