"""Login security beyond django-axes' per-(account, address) lockout (第三十三条(二)).

Three rules decide what happens to a login attempt before the password is even checked:

1. **Lockout** (django-axes): 5 failures within 15 minutes for one (account, client address) pair lock that pair.
   The client address is REMOTE_ADDR unless the peer is a configured trusted proxy (``tongshu.core.net``).
2. **Account-wide throttle**: guesses spread over many addresses never trip (1). So once an account has
   ``ACCOUNT_THROTTLE_AFTER`` failures in the window, summed over every address, each further attempt must wait
   a delay that doubles with every failure (2 s, 4 s, 8 s … capped at the window). The delay is not a lockout:
   a browser that signed in to that account before carries a signed *device cookie* (OWASP "device cookies") and
   is exempt from this throttle, so an attacker hammering an administrator's account cannot lock its owner out.
   The owner's browser still answers to (1) for its own address.
3. **Captcha**: once an account has ``CAPTCHA_AFTER_FAILURES`` failures in the window (from any address), the login
   form also asks for a locally generated image captcha (django-simple-captcha). A wrong or blank answer counts as
   a failure, exactly like a wrong password, and is audited.

Failure counting uses django-axes' own append-only ``AccessFailureLog`` (``AXES_ENABLE_ACCESS_FAILURE_LOG``): one
row per failed attempt with username, address and time, written by axes' ``user_login_failed`` handler, and not
cleared by a successful login (unlike ``AccessAttempt``), so an attacker gains no fresh allowance whenever the owner
signs in. Attempts refused by the lockout or by the throttle are not written there: no password was tried, so they
are not guesses, and counting them would let the delay grow without bound. Reusing axes' table keeps one source of
truth for "failures" and needs no model of our own.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessFailureLog
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

DEVICE_COOKIE = "tongshu_device"
DEVICE_COOKIE_SALT = "tongshu.accounts.device-cookie"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
# A shared office computer may serve a few colleagues; remember the most recent ones.
DEVICE_COOKIE_ACCOUNTS = 5


@dataclass(frozen=True)
class FailureSummary:
    count: int
    last_at: datetime | None


def failure_window() -> timedelta:
    return settings.AXES_COOLOFF_TIME


def recent_failures(username: str) -> FailureSummary:
    """Failures for this account name within the window, summed over every client address."""
    if not username:
        return FailureSummary(0, None)
    since = timezone.now() - failure_window()
    summary = AccessFailureLog.objects.filter(username=username, attempt_time__gte=since).aggregate(
        count=Count("id"), last_at=Max("attempt_time")
    )
    return FailureSummary(summary["count"] or 0, summary["last_at"])


def captcha_required(username: str) -> bool:
    return recent_failures(username).count >= settings.CAPTCHA_AFTER_FAILURES


def required_delay(failures: int) -> int:
    """Seconds an untrusted client must wait after the last failure: 0 below the threshold, then 2, 4, 8 …"""
    excess = failures - settings.ACCOUNT_THROTTLE_AFTER
    if excess < 0:
        return 0
    cap = int(failure_window().total_seconds())
    return min(2 ** min(excess + 1, 30), cap)


def throttle_wait(request: HttpRequest, username: str) -> int:
    """Seconds this client must still wait before trying this account again (0: it may try now)."""
    if not username or has_device_cookie(request, username):
        return 0
    summary = recent_failures(username)
    delay = required_delay(summary.count)
    if not delay or summary.last_at is None:
        return 0
    remaining = (summary.last_at + timedelta(seconds=delay) - timezone.now()).total_seconds()
    return max(0, math.ceil(remaining))


def format_wait(seconds: int) -> str:
    if seconds < 60:
        return _("%(count)d seconds") % {"count": seconds}
    return _("%(count)d minutes") % {"count": math.ceil(seconds / 60)}


# --- Lockout (django-axes) ------------------------------------------------------------------------------------


def is_locked_out(request: HttpRequest, username: str) -> bool:
    """Whether axes has locked this (account, client address) pair."""
    return bool(username) and not AxesProxyHandler.is_allowed(request, {"username": username})


def announce_lockout(request: HttpRequest, username: str) -> None:
    """An attempt on a locked pair: send axes' own signal, so it is audited like the lockout itself."""
    user_locked_out.send(
        "axes", request=request, username=username, ip_address=getattr(request, "axes_ip_address", None)
    )


def count_failure(request: HttpRequest, username: str, reason: str) -> None:
    """Record a failed attempt that never reached the password check (a wrong or blank captcha).

    Sending Django's ``user_login_failed`` lets axes count it towards the lockout and the audit receiver log it.
    """
    request.login_failure_reason = reason  # type: ignore[attr-defined]
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


# --- Device cookies ---------------------------------------------------------------------------------------------


def device_accounts(request: HttpRequest) -> list[str]:
    """Accounts this browser has signed in to before, according to its (signed, unexpired) device cookie."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        data: Any = signing.loads(raw, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return []
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        return []
    return [name for name in accounts if isinstance(name, str)]


def has_device_cookie(request: HttpRequest, username: str) -> bool:
    return bool(username) and username in device_accounts(request)


def remember_device(request: HttpRequest, response: HttpResponse, user: Any) -> None:
    """After a successful password check, give (or refresh) this browser's device cookie for the account."""
    username = user.get_username()
    accounts = [username] + [name for name in device_accounts(request) if name != username]
    value = signing.dumps(
        {"accounts": accounts[:DEVICE_COOKIE_ACCOUNTS], "nonce": secrets.token_urlsafe(8)},
        salt=DEVICE_COOKIE_SALT,
    )
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path=reverse("accounts:login"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
