"""Session rules applied on every request of a signed-in person.

- idle timeout (TONGSHU_SESSION_IDLE_MINUTES, 30 by default) and absolute lifetime (TONGSHU_SESSION_ABSOLUTE_HOURS);
- a forced password change at first login of an admin-created account and when the password has expired;
- a TOTP second factor for the three administrator roles.
Demo accounts, in demo mode only, skip the last two so that a newcomer can look around.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from .roles import TOTP_REQUIRED_ROLES

SESSION_LAST_SEEN = "tongshu_last_seen"
SESSION_LOGIN_AT = "tongshu_login_at"
EXEMPT_URL_NAMES = (
    "accounts:login",
    "accounts:logout",
    "accounts:password_change",
    "accounts:totp_setup",
    "accounts:totp_verify",
    "accounts:totp_disable",
    "core:healthz",
)


def is_demo_exempt(user: Any) -> bool:
    return bool(settings.DEMO_MODE and getattr(user, "is_demo", False))


def pending_step(user: Any) -> str | None:
    """What the signed-in person must do before using the platform: a URL name, or None.

    A confirmed TOTP device is checked first: until the second factor is given, the password alone must not allow
    changing the password or enrolling another device.
    """
    from . import otp, services

    is_verified = getattr(user, "is_verified", None)  # set by django-otp's middleware on request.user
    if otp.has_confirmed_device(user) and not (is_verified is not None and is_verified()):
        return "accounts:totp_verify"
    if not is_demo_exempt(user):
        if user.must_change_password or services.is_password_expired(user):
            return "accounts:password_change"
        if user.has_role(*TOTP_REQUIRED_ROLES) and not otp.has_confirmed_device(user):
            return "accounts:totp_setup"
    return None


def is_htmx(request: HttpRequest) -> bool:
    # HtmxMiddleware runs after this one, so read the header directly.
    return request.headers.get("HX-Request") == "true"


class SessionSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._exempt_paths: tuple[str, ...] | None = None

    def exempt_paths(self) -> tuple[str, ...]:
        if self._exempt_paths is None:
            paths = []
            for name in EXEMPT_URL_NAMES:
                try:
                    paths.append(reverse(name))
                except NoReverseMatch:
                    continue
            self._exempt_paths = tuple(paths)
        return self._exempt_paths

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        if request.session.get(SESSION_LOGIN_AT) is None:
            # Sessions made outside the login view (tests' force_login) start their clock now.
            request.session[SESSION_LOGIN_AT] = time.time()
        now = time.time()
        last_seen = request.session.get(SESSION_LAST_SEEN, now)
        login_at = request.session.get(SESSION_LOGIN_AT, now)
        if now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
            return self._end_session(request, "idle", "会话因长时间未操作已超时，请重新登录")
        if now - login_at > settings.SESSION_COOKIE_AGE:
            return self._end_session(request, "lifetime", "会话已到最长有效期，请重新登录")
        if now - last_seen > 30 or SESSION_LAST_SEEN not in request.session:
            request.session[SESSION_LAST_SEEN] = now
        path = request.path
        if not path.startswith(settings.STATIC_URL) and not path.startswith(self.exempt_paths()):
            step = pending_step(user)
            if step is not None:
                if path.startswith("/api/"):
                    return JsonResponse(
                        {"code": "account_setup_required", "message": "请先在网页上完成密码修改或双因素认证"},
                        status=403,
                    )
                target = f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}"
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        return self.get_response(request)

    def _end_session(self, request: HttpRequest, reason: str, message: str) -> HttpResponse:
        request.logout_reason = reason  # type: ignore[attr-defined]
        logout(request)
        target = f"{reverse('accounts:login')}?expired={reason}"
        if request.path.startswith("/api/") or is_htmx(request):
            response = JsonResponse({"code": "session_expired", "message": message}, status=401)
            if is_htmx(request):
                response["HX-Redirect"] = target
            return response
        return redirect(target)
