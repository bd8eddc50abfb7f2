"""The TOTP second factor (django-otp's TOTP plugin), 第三十三条(二).

Required for the three administrator roles (`roles.TOTP_REQUIRED_ROLES`; demo accounts in demo mode excepted, see
`middleware.is_demo_exempt`), optional for everyone else. A person enrols one device: the page shows a QR code drawn
locally as inline SVG (segno) and the secret in base32 for manual entry, and the device is confirmed by a first
correct code. Each function takes the person acting first and audits what happened.
"""

from __future__ import annotations

from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from django.db import transaction
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongshu.security.audit import record

from .roles import TOTP_REQUIRED_ROLES

DEVICE_NAME = "通数 Tongshu"


def has_confirmed_device(user: Any) -> bool:
    cached = getattr(user, "_has_totp", None)
    if cached is None:
        cached = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        user._has_totp = cached
    return cached


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def is_required_for(user: Any) -> bool:
    from .middleware import is_demo_exempt

    return user.has_role(*TOTP_REQUIRED_ROLES) and not is_demo_exempt(user)


def pending_device(user: Any) -> TOTPDevice:
    """The unconfirmed device being enrolled: the same key across page reloads until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    """The secret for manual entry, in groups of four characters."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: TOTPDevice) -> SafeString:
    """The otpauth:// URL as an inline SVG QR code, drawn on the server (no external service, no script)."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4, dark="#1f2937", light="#ffffff", title="TOTP", omitsize=False
    )
    return mark_safe(svg)  # noqa: S308 (segno's own markup, no user input besides the escaped URL)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    throttled_until: datetime | None = None


def _check(device: TOTPDevice, token: str) -> CheckResult:
    allowed, info = device.verify_is_allowed()
    if not allowed:
        return CheckResult(False, (info or {}).get("locked_until"))
    return CheckResult(bool(device.verify_token(token)))


def confirm_enrolment(user: Any, device: TOTPDevice, token: str, *, request: HttpRequest) -> CheckResult:
    """Confirm the pending device with its first code; the session then counts as verified."""
    if device.user_id != user.pk or device.confirmed:
        return CheckResult(False)
    result = _check(device, token)
    if not result.ok:
        record("totp.enrol_failed", actor=user, request=request, target=user)
        return result
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        record("totp.enrolled", actor=user, request=request, target=user)
    user._has_totp = True
    otp_login(request, device)
    return result


def verify_login(user: Any, token: str, *, request: HttpRequest) -> CheckResult:
    """The second step of a login: check the code against the person's confirmed device."""
    device = confirmed_device(user)
    if device is None:
        return CheckResult(False)
    result = _check(device, token)
    if not result.ok:
        record(
            "login.second_factor_failed",
            actor=user,
            request=request,
            target=user,
            details={"throttled": result.throttled_until is not None},
        )
        return result
    # A new session key once the person is fully authenticated (session fixation).
    request.session.cycle_key()
    otp_login(request, device)
    record("login.second_factor", actor=user, request=request, target=user)
    return result


def disable(user: Any, token: str, *, request: HttpRequest) -> CheckResult:
    """Turn the second factor off, proven by a current code. Not allowed where the role requires it."""
    device = confirmed_device(user)
    if device is None or is_required_for(user):
        return CheckResult(False)
    result = _check(device, token)
    if not result.ok:
        record("totp.disable_failed", actor=user, request=request, target=user)
        return result
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        record("totp.disabled", actor=user, request=request, target=user)
    user._has_totp = False
    return result


def reset(actor: Any, user: Any, *, request: HttpRequest | None = None) -> int:
    """The security administrator removes a person's devices (a lost phone); they enrol again at next login."""
    from tongshu.core.errors import PermissionDenied

    from .permissions import can_grant_roles

    if not can_grant_roles(actor):
        raise PermissionDenied("只有安全管理员可以重置双因素认证", code="forbidden")
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        record("totp.reset", actor=actor, request=request, target=user, details={"devices": removed})
    user.__dict__.pop("_has_totp", None)
    return removed
