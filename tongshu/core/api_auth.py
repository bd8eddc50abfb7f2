"""Who is calling the API: a signed-in person or an application key."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .errors import PermissionDenied


def calling_user(request: HttpRequest) -> Any:
    """The person behind a session; application keys are refused for person-only operations."""
    auth = getattr(request, "auth", None)
    if getattr(auth, "is_authenticated", False):
        return auth
    raise PermissionDenied("此操作只能由登录用户执行，应用密钥无权调用", code="user_required")


def calling_key(request: HttpRequest) -> Any:
    return getattr(request, "api_key", None)
