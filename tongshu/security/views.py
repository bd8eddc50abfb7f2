"""The auditor's pages: the audit log browser with filters and the chain's status, an entry, and verification."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError
from tongshu.core.views import error_page

from . import services
from .forms import AuditFilterForm

PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    try:
        entries = services.audit_entries_for(request.user, form.filters())
        status = services.chain_status(request.user)
    except DomainError as exc:
        return error_page(request, exc)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    is_htmx = bool(getattr(request, "htmx", False))  # django-htmx's middleware sets it
    template = "security/audit_log.html#entries" if is_htmx else "security/audit_log.html"
    return render(request, template, {"form": form, "page": page, "status": status})


@login_required
def audit_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        entry = services.audit_entry_for(request.user, entry_id)
    except DomainError as exc:
        return error_page(request, exc)
    return render(request, "security/audit_entry.html", {"entry": entry})


@login_required
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    try:
        result, _ = services.verify_audit_log(request.user, request=request)
    except DomainError as exc:
        return error_page(request, exc)
    if result.is_intact:
        messages.success(request, f"审计日志{result.summary()}")
    else:
        messages.error(request, f"审计日志{result.summary()}")
    return redirect("security:audit_log")
