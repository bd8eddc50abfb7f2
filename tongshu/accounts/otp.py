"""TOTP second factor (django-otp) helpers."""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice


def has_confirmed_device(user: Any) -> bool:
    cached = getattr(user, "_has_totp", None)
    if cached is None:
        cached = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        user._has_totp = cached
    return cached
