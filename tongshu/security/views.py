"""The auditor's pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tongshu.core.errors import PermissionDenied
from tongshu.core.views import error_page

from .models import AuditEntry
from .permissions import can_read_audit_log


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not can_read_audit_log(request.user):
        return error_page(request, PermissionDenied("只有审计管理员可以查看审计日志"))
    entries = AuditEntry.objects.all()
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "security/audit_log.html", {"page": page, "action": action})
