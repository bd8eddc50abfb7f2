"""What the standards pages share: the read and manage checks, turning service errors into form errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from tongshu.core.errors import DomainError, PermissionDenied, TooLarge
from tongshu.core.views import error_page

from ..permissions import can_manage_standards, can_read_standards
from ..tabular import MAX_UPLOAD_BYTES

View = Callable[..., HttpResponse]


def reader(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_read_standards(request.user):
            return error_page(request, PermissionDenied("无权查看标准规范"))
        return view(request, *args, **kwargs)

    return wrapped


def manager(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_standards(request.user):
            return error_page(request, PermissionDenied("只有系统管理员可以维护标准规范"))
        return view(request, *args, **kwargs)

    return wrapped


# Columns of a code-set file as people know them (category files already name theirs in Chinese).
COLUMN_LABELS = {
    "code": "代码（code）",
    "name": "名称（name）",
    "parent": "上级代码（parent）",
    "header": "表头",
}


def apply_error(form: forms.Form, exc: DomainError) -> list[dict[str, Any]]:
    """Put a service error beside its field(s); a rejected file's row errors are returned for the error table
    instead (the page shows them with the count, so the form itself is left without a duplicate message)."""
    details = exc.details
    if isinstance(details, list) and details:
        return [{**error, "column": COLUMN_LABELS.get(error["column"], error["column"])} for error in details]
    if isinstance(details, dict):
        for field, message in details.items():
            form.add_error(field if field in form.fields else None, message)
        return []
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return []


def upload(form: forms.Form) -> tuple[bytes, str]:
    file = form.cleaned_data["file"]
    if file.size and file.size > MAX_UPLOAD_BYTES:
        raise TooLarge(f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB", field="file")
    return file.read(), file.name or ""
