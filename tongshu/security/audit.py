"""Writing to the audit log.

`record()` is the one way to append an entry. It inserts an unsealed row and returns at once: it takes no lock of its
own, so concurrent requests never queue behind one another to compute the chain. The sealer (`chain.seal_pending`)
orders pending rows, links each to its predecessor's hash and writes signed checkpoints; it runs from the scheduler
every few seconds, on demand before the log is read or verified, at shutdown (`flush`), and from here once a process
has appended `SEAL_AFTER` entries since it last triggered it, so a burst never leaves a long unsealed tail. See
docs/architecture.md ("Audit log").
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest

from tongshu.core.net import client_ip as _client_ip

from .models import AuditEntry, CheckpointReason

logger = logging.getLogger(__name__)

# Entries a process appends before it asks for a seal itself (after its transaction commits, without waiting if
# another process is already sealing). Per process, so the hot path costs one counter increment, not a query.
SEAL_AFTER = 500
_appended = itertools.count(1)
_trigger_lock = threading.Lock()
_last_trigger = 0


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
    _count_append()
    return entry


def _count_append() -> None:
    global _last_trigger
    appended = next(_appended)
    if appended - _last_trigger < SEAL_AFTER:
        return
    with _trigger_lock:
        if appended - _last_trigger < SEAL_AFTER:
            return
        _last_trigger = appended
    # After commit: sealing inside the caller's transaction would hold the chain lock until that transaction ends.
    transaction.on_commit(_seal_without_waiting)


def _seal_without_waiting() -> None:
    from .chain import seal_pending

    try:
        seal_pending(wait=False)
    except Exception:  # the entries are safely stored; the scheduled sealer will take them
        logger.exception("Opportunistic audit seal failed")


def flush(reason: str = CheckpointReason.SHUTDOWN) -> int:
    """Seal everything pending and sign a checkpoint of the head (at shutdown, so no tail is left unsigned).

    Returns how many entries were sealed. Never raises: it runs while a process is stopping.
    """
    from .chain import seal_pending
    from .checkpoints import checkpoint_if_due

    try:
        sealed = seal_pending(checkpoint=False)
        checkpoint_if_due(reason=reason)
        return sealed
    except Exception:
        logger.exception("Could not seal and checkpoint the audit log")
        return 0
