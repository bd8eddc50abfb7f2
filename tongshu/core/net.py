"""The client's address, taken from X-Forwarded-For only when the direct peer is a configured trusted proxy."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.TRUSTED_PROXIES:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request: HttpRequest) -> str:
    """The address of the client as far as we can trust it.

    X-Forwarded-For is read right to left, skipping trusted proxies; the first untrusted hop is the client. A
    client-supplied header is ignored entirely when the direct peer is not a trusted proxy, so it cannot forge its
    address to dodge the lockout.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 (an address, not a bind)
    if not settings.TRUSTED_PROXIES or not _is_trusted_proxy(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote
        if not _is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else remote


def axes_client_ip(request: Any) -> str:
    return client_ip(request)
