"""Every login, failure, lockout and logout goes to the audit log (第三十三条(二)).

The second factor, throttled attempts, captcha requests, password changes and TOTP enrolment are audited where they
happen (`otp`, `views.login_view`, `services.change_password`).
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from tongshu.security.audit import record


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from .otp import has_confirmed_device

    details = {"second_factor": "pending"} if has_confirmed_device(user) else {}
    record("login.succeeded", actor=user, request=request, target=user, details=details)


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(
            "logout",
            actor=user,
            request=request,
            target=user,
            details={"reason": getattr(request, "logout_reason", "user")},
        )


@receiver(user_login_failed)
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    reason = getattr(request, "login_failure_reason", "password")
    record(
        "login.failed", request=request, actor_name=username, details={"username": username, "reason": reason}
    )


@receiver(user_locked_out)
def audit_lockout(
    sender: Any, request: Any, username: str | None = None, ip_address: str | None = None, **kwargs: Any
) -> None:
    record(
        "login.locked_out", request=request, actor_name=(username or "")[:150], details={"username": username}
    )
