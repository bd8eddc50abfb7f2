from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .menus import menu_for


def platform(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"DEMO_MODE": settings.DEMO_MODE}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from .services import unread_count

        context["menu"] = menu_for(user, request.path)
        context["unread_messages"] = unread_count(user)
    return context
