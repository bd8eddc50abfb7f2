"""Writing to the audit log.

`record()` is the one way to append an entry. It inserts an unsealed row and returns at once: it takes no lock of its
own, so concurrent requests never queue behind one another to compute the chain. The sealer (`seal_pending`) orders
pending rows, links each to its predecessor's hash and writes signed checkpoints; see docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from tongshu.core.net import client_ip as _client_ip

from .models import AuditEntry


def record(
    action: str,
    *,
    actor: Any = None,
    organization: Any = None,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one audit entry. `action` is a dotted code such as ``login.failed`` or ``role.granted``."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not getattr(actor, "pk", None):
        actor = None
    if organization is None and actor is not None:
        organization = getattr(actor, "organization", None)
    entry = AuditEntry(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        organization_id_value=getattr(organization, "pk", None),
        organization_name=str(organization)[:100] if organization is not None else "",
        action=action,
        details=details or {},
        client_ip=_client_ip(request) if request is not None else "",
    )
    if target is not None:
        entry.object_type = target._meta.label_lower
        entry.object_id = str(target.pk or "")
        entry.object_repr = str(target)[:200]
    entry.save(force_insert=True)
    return entry
