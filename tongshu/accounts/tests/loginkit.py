"""Helpers for driving the login page in tests."""

from __future__ import annotations

import re
from typing import Any

from captcha.models import CaptchaStore
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongshu.security.models import AuditEntry

LOGIN = "/accounts/login/"
CAPTCHA_KEY = re.compile(r'name="captcha_0" value="([0-9a-f]+)"')


def captcha_key(response: Any) -> str | None:
    match = CAPTCHA_KEY.search(response.content.decode())
    return match.group(1) if match else None


def solved_captcha(response: Any) -> dict[str, str]:
    """The captcha fields answered correctly, from a login page that shows one."""
    key = captcha_key(response)
    assert key, "the page shows no captcha"
    return {"captcha_0": key, "captcha_1": CaptchaStore.objects.get(hashkey=key).response}


def post_login(client: Client, username: str, password: str, *, ip: str = "10.0.0.1", **extra: Any) -> Any:
    data = {"username": username, "password": password}
    data.update({k: v for k, v in extra.items() if k.startswith("captcha_") or k == "next"})
    meta = {k: v for k, v in extra.items() if k.isupper()}
    return client.post(LOGIN, data, REMOTE_ADDR=ip, **meta)


def fail(client: Client, username: str, *, ip: str = "10.0.0.1", **meta: Any) -> Any:
    """One failed attempt: a wrong password, or a wrong captcha once the account needs one."""
    return post_login(
        client, username, "Wrong-Passw0rd!", ip=ip, captcha_0="0" * 40, captcha_1="nope", **meta
    )


def login_with_captcha(client: Client, username: str, password: str, *, ip: str = "10.0.0.1") -> Any:
    """Log in the way a person does: open the page for the account, read the captcha if it shows one, submit."""
    page = client.get(LOGIN, {"username": username}, REMOTE_ADDR=ip)
    extra = solved_captcha(page) if captcha_key(page) else {}
    return post_login(client, username, password, ip=ip, **extra)


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def actions(**filters: Any) -> list[str]:
    return list(AuditEntry.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def page(response: Any) -> str:
    return response.content.decode()
