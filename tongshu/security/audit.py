"""Writing to the audit log.

`record()` is the one way to append an entry. It inserts an unsealed row and returns at once: it takes no lock of its
own, so concurrent requests never queue behind one another to compute the chain. The sealer (`chain.seal_pending`)
orders pending rows, links each to its predecessor's hash and writes signed checkpoints; it runs from the scheduler
every few seconds, on demand before the log is read or verified, at shutdown (`flush`), and from here once a process
has appended `SEAL_AFTER` entries since it last triggered it, so a burst never leaves a long unsealed tail. See
docs/architecture.md ("Audit log").
"""

from __future__ import annotations

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
_counter_lock = threading.Lock()
_appended = 0
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
    buffered: bool = False,
    wait: bool = False,
) -> AuditEntry:
    """Append one audit entry. `action` is a dotted code such as ``login.failed`` or ``role.granted``.

    By default the entry is inserted now, in the caller's transaction, so it commits or rolls back with the change it
    records. `buffered=True` is for high-volume read-only events (data-service calls): the entry is written with others
    in a batch by a background writer (`wait=True`: the call returns once that batch has committed); see `buffer`.
    """
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
    if buffered:
        from .buffer import buffer

        buffer.add(entry, wait=wait)
        return entry
    entry.save(force_insert=True)
    count_appends(1)
    return entry


def count_appends(count: int) -> None:
    """Count entries this process wrote; past `SEAL_AFTER` since the last trigger, seal after commit."""
    global _appended, _last_trigger
    with _counter_lock:  # guards two integers for a few instructions; never held across I/O
        _appended += count
        if _appended - _last_trigger < SEAL_AFTER:
            return
        _last_trigger = _appended
    # After commit: sealing inside the caller's transaction would hold the chain lock until that transaction ends.
    transaction.on_commit(_seal_without_waiting)


def _seal_without_waiting() -> None:
    from .chain import seal_pending

    try:
        seal_pending(wait=False)
    except Exception:  # the entries are safely stored; the scheduled sealer will take them
        logger.exception("Opportunistic audit seal failed")


def flush(reason: str = CheckpointReason.SHUTDOWN) -> int:
    """Write buffered entries, seal everything pending and sign a checkpoint of the head (at shutdown, so no tail is
    left unsigned).

    Returns how many entries were sealed. Never raises: it runs while a process is stopping.
    """
    from .buffer import buffer
    from .chain import seal_pending
    from .checkpoints import checkpoint_if_due

    try:
        buffer.flush()
        sealed = seal_pending(checkpoint=False)
        checkpoint_if_due(reason=reason)
        return sealed
    except Exception:
        logger.exception("Could not seal and checkpoint the audit log")
        return 0
