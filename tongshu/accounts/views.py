"""Login, logout, password change and the account pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError

from . import services
from .forms import LoginForm, PasswordChangeForm
from .middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT

EXPIRY_MESSAGES = {
    "idle": _("Your session timed out after a period of inactivity. Please log in again."),
    "lifetime": _("Your session reached its maximum lifetime. Please log in again."),
}


def _safe_next(request: HttpRequest, default: str = "core:home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    from django.urls import reverse

    return reverse(default)


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        import time

        user = form.get_user()
        login(request, user)
        request.session[SESSION_LOGIN_AT] = request.session[SESSION_LAST_SEEN] = time.time()
        return redirect(_safe_next(request))
    expired = request.GET.get("expired", "")
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "next": request.GET.get("next", ""),
            "expired_message": EXPIRY_MESSAGES.get(expired, ""),
            "demo_password": settings.DEMO_PASSWORD if settings.DEMO_MODE else "",
        },
    )


def locked_out(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """Shown by django-axes when an (account, address) pair is locked."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = f"登录失败次数过多，该账号已在本机地址上被锁定，请 {minutes} 分钟后再试或联系系统管理员。"
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"code": "locked_out", "message": message}, status=429)
    form = LoginForm(request)
    return render(request, "accounts/login.html", {"form": form, "locked_message": message}, status=429)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("accounts:login")


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    user = request.user
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(
                user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                request=request,
            )
        except DomainError as exc:
            form.add_error("new_password" if exc.field != "old_password" else "old_password", exc.message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect(_safe_next(request))
    reason = ""
    if user.must_change_password:
        reason = _("Please set your own password before using the platform.")
    elif services.is_password_expired(user):
        reason = _("Your password has expired. Please set a new one.")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "reason": reason, "next": request.GET.get("next", "")},
    )
