"""Login, logout, password change and the TOTP pages (第三十三条(二)).

The rules themselves live in `login_security` (lockout, account-wide throttle, captcha, device cookies), `otp`
(second factor) and `middleware` (session timeouts, forced steps); these views only apply them in order.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tongshu.core.errors import DomainError
from tongshu.security.audit import record

from . import login_security, otp, services
from .forms import LoginForm, PasswordChangeForm, TokenForm
from .middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT, pending_step

EXPIRY_MESSAGES = {
    "idle": gettext_lazy("Your session timed out after a period of inactivity. Please log in again."),
    "lifetime": gettext_lazy("Your session reached its maximum lifetime. Please log in again."),
}


def _safe_next(request: HttpRequest, default: str = "core:home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def _with_next(url_name: str, request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return f"{reverse(url_name)}?{urlencode({'next': target})}" if target else reverse(url_name)


# --- Login -----------------------------------------------------------------------------------------------------


def _refresh_url(username: str, next_url: str) -> str:
    """Where "new picture" goes without JavaScript: the login page again, for the same account."""
    query = {key: value for key, value in (("username", username), ("next", next_url)) if value}
    return f"{reverse('accounts:login')}?{urlencode(query)}"


def _login_page(request: HttpRequest, form: LoginForm, status: int = 200, **context: Any) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next", "")
    expired = request.GET.get("expired", "")
    context.setdefault("notice", EXPIRY_MESSAGES.get(expired, ""))
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "next": next_url,
            "demo_password": settings.DEMO_PASSWORD if settings.DEMO_MODE else "",
            **context,
        },
        status=status,
    )


def login_view(request: HttpRequest) -> HttpResponse:
    """Lockout, then the account-wide throttle, then the captcha, then the password (see `login_security`)."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method != "POST":
        username = request.GET.get("username", "").strip()[:150]
        form = LoginForm(
            request,
            initial={"username": username},
            require_captcha=login_security.captcha_required(username),
            refresh_url=_refresh_url(username, next_url),
        )
        return _login_page(request, form)

    username = (request.POST.get("username") or "").strip()[:150]
    refresh_url = _refresh_url(username, next_url)
    if login_security.is_locked_out(request, username):
        login_security.announce_lockout(request, username)
        return locked_out(request)
    wait = login_security.throttle_wait(request, username)
    if wait:
        record(
            "login.throttled",
            request=request,
            actor_name=username,
            details={"username": username, "wait_seconds": wait},
        )
        form = LoginForm(
            request, initial={"username": username}, require_captcha=True, refresh_url=refresh_url
        )
        message = _("This account has had too many failed logins recently. Please try again in %(wait)s.") % {
            "wait": login_security.format_wait(wait)
        }
        return _login_page(request, form, status=429, throttle_message=message)

    require_captcha = login_security.captcha_required(username)
    if require_captcha and "captcha_0" not in request.POST:
        # This client was never shown a captcha, so no answer was possible and no password is checked: asking for
        # one is not a guess and is not counted as a failure.
        record("login.captcha_required", request=request, actor_name=username, details={"username": username})
        form = LoginForm(
            request, initial={"username": username}, require_captcha=True, refresh_url=refresh_url
        )
        notice = _("This account has had several failed logins. Please also enter the verification code.")
        return _login_page(request, form, notice=notice)

    form = LoginForm(request, data=request.POST, require_captcha=require_captcha, refresh_url=refresh_url)
    if form.is_valid():
        user = form.get_user()
        login(request, user)
        request.session[SESSION_LOGIN_AT] = request.session[SESSION_LAST_SEEN] = time.time()
        step = pending_step(user)
        response = redirect(_with_next(step, request) if step else _safe_next(request))
        login_security.remember_device(request, response, user)
        return response
    if form.captcha_failed:
        # Counted like a wrong password; on the fifth failure AxesMiddleware answers with `locked_out` instead.
        login_security.count_failure(request, username, reason="captcha")
    if not form.require_captcha and login_security.captcha_required(username):
        form.add_captcha()
    return _login_page(request, form)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """Shown when an (account, address) pair is locked: by the login view, and by django-axes on the failure that
    locks it (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _(
        "Too many failed logins: this account is locked for your address. "
        "Please try again in %(minutes)d minutes or contact the system administrator."
    ) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "message": message}, status=429)
    username = (request.POST.get("username") or "").strip()[:150]
    form = LoginForm(request, initial={"username": username})
    return _login_page(request, form, status=429, locked_message=message)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("accounts:login")


# --- Password --------------------------------------------------------------------------------------------------


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    user = request.user
    if pending_step(user) == "accounts:totp_verify":
        return redirect(_with_next("accounts:totp_verify", request))
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(
                user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                request=request,
            )
        except DomainError as exc:
            form.add_error("old_password" if exc.field == "old_password" else "new_password", exc.message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            step = pending_step(user)
            return redirect(_with_next(step, request) if step else _safe_next(request))
    reason = ""
    if user.must_change_password:
        reason = _("Please set your own password before using the platform.")
    elif services.is_password_expired(user):
        reason = _("Your password has expired. Please set a new one.")
    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "reason": reason,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "totp_enabled": otp.has_confirmed_device(user),
        },
    )


# --- TOTP second factor ----------------------------------------------------------------------------------------


def _throttled_message(result: otp.CheckResult) -> str:
    return _("Too many wrong codes. Please wait a moment and try again.") if result.throttled_until else ""


@login_required
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app, or, once enrolled, show the status (and let optional users turn it off)."""
    user = request.user
    if otp.has_confirmed_device(user):
        if not user.is_verified():
            return redirect(_with_next("accounts:totp_verify", request))
        return render(
            request,
            "accounts/totp_status.html",
            {
                "required": otp.is_required_for(user),
                "form": TokenForm(),
                "device": otp.confirmed_device(user),
            },
        )
    device = otp.pending_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = otp.confirm_enrolment(user, device, form.cleaned_data["token"], request=request)
        if result.ok:
            messages.success(request, _("Two-factor authentication is on."))
            step = pending_step(user)
            return redirect(_with_next(step, request) if step else _safe_next(request))
        form.add_error(
            "token",
            _throttled_message(result) or _("Wrong code. Check the time on your phone and try again."),
        )
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "form": form,
            "qr_svg": otp.qr_svg(device),
            "secret": otp.secret_base32(device),
            "required": otp.is_required_for(user),
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
    )


@login_required
def totp_verify(request: HttpRequest) -> HttpResponse:
    """The second step of a login for a person with a confirmed device."""
    user = request.user
    if not otp.has_confirmed_device(user) or user.is_verified():
        return redirect(_safe_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = otp.verify_login(user, form.cleaned_data["token"], request=request)
        if result.ok:
            step = pending_step(user)
            return redirect(_with_next(step, request) if step else _safe_next(request))
        form.add_error("token", _throttled_message(result) or _("Wrong code. Please try again."))
    return render(
        request,
        "accounts/totp_verify.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
    )


@login_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not otp.has_confirmed_device(user) or not user.is_verified():
        return redirect("accounts:totp_setup")
    form = TokenForm(request.POST)
    required = otp.is_required_for(user)
    if form.is_valid() and not required:
        result = otp.disable(user, form.cleaned_data["token"], request=request)
        if result.ok:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:totp_setup")
        form.add_error("token", _throttled_message(result) or _("Wrong code. Please try again."))
    return render(
        request,
        "accounts/totp_status.html",
        {"required": required, "form": form, "device": otp.confirmed_device(user)},
        status=400,
    )
