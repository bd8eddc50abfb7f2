"""Batches whose worker died: found, handed to a worker again, and never applied twice (第十二条, 第十九条).

A worker that starts applying a batch claims it: the batch becomes `running` with the worker's identity (host, process
id and the process's start time) and a heartbeat that the pipeline refreshes while it reads. If the process is killed
(SIGKILL, OOM, a power cut), nothing tells the control plane, so:

- a batch is *stalled* when it is `running` and its worker is gone: on this host, its process no longer exists (or is
  another process under the same id); on another host, its heartbeat is older than `DATAPLANE_BATCH_LEASE_SECONDS`;
- `recover_stalled_batches` (run by the scheduler every minute, and by `manage.py serve` when it starts or restarts
  its worker) releases each stalled batch and enqueues it again; a retry of an upload with the batch's
  `Idempotency-Key` does the same for that batch (`resume`);
- `services.apply_batch` claims a batch only if it is waiting or stalled, so two tasks for one batch do not both run
  it; and it first asks the data plane whether the batch was already applied (the marker written in the batch's own
  transaction), so a worker killed after the data commit is reconciled, never redone;
- after `DATAPLANE_BATCH_MAX_ATTEMPTS` claims that all died, the batch fails with a message instead of looping.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tongshu.security.audit import record

from .models import Batch, BatchStatus

logger = logging.getLogger(__name__)

# A running batch refreshes its heartbeat at least this often while it reads (services._progress).
HEARTBEAT_SECONDS = 15


def lease() -> timedelta:
    return timedelta(seconds=int(settings.DATAPLANE_BATCH_LEASE_SECONDS))


def max_attempts() -> int:
    return int(settings.DATAPLANE_BATCH_MAX_ATTEMPTS)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where /proc does not tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def current_worker() -> str:
    """`host:pid:start`: names this process, and stays unique when the id is reused by a later process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def _is_local_and_gone(worker: str) -> bool | None:
    """True if `worker` ran on this host and its process is gone; False if it is alive; None for another host."""
    parts = worker.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    host, pid_text, started = parts
    if host != socket.gethostname():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # the id exists (another user's process): its start time below tells whether it is still ours
    if _state(pid) in ("Z", "X"):  # killed but not yet reaped by its parent
        return True
    current = _start_time(pid)
    return (
        bool(started) and current is not None and current != started
    )  # True: the id is another process's now


def is_stalled(batch: Batch, now: datetime | None = None) -> bool:
    """A `running` batch whose worker is gone, or which nobody has touched for a lease (released, then lost)."""
    if batch.status != BatchStatus.RUNNING:
        return False
    if batch.worker:
        gone = _is_local_and_gone(batch.worker)
        if gone is not None:
            return gone
    last_sign = batch.heartbeat_at or batch.started_at or batch.created_at
    return last_sign < (now or timezone.now()) - lease()


def is_claimable(batch: Batch) -> bool:
    """May a worker start applying this batch now? Waiting, released by the sweep, or stalled."""
    if batch.status == BatchStatus.PENDING:
        return True
    return batch.status == BatchStatus.RUNNING and (not batch.worker or is_stalled(batch))


def claim(batch: Batch) -> bool:
    """Take the batch for this process, atomically: only one of several tasks for it wins."""
    now = timezone.now()
    taken = Batch.objects.filter(
        pk=batch.pk, status=batch.status, worker=batch.worker, attempts=batch.attempts
    ).update(
        status=BatchStatus.RUNNING,
        worker=current_worker(),
        heartbeat_at=now,
        started_at=batch.started_at or now,
        attempts=batch.attempts + 1,
    )
    return bool(taken)


def heartbeat(batch_id: int, **fields: object) -> None:
    Batch.objects.filter(pk=batch_id, worker=current_worker()).update(heartbeat_at=timezone.now(), **fields)


def release(batch: Batch, *, reason: str) -> None:
    """Hand a batch back to the queue: still `running` for people (its data has not changed), owned by no worker."""
    Batch.objects.filter(pk=batch.pk, worker=batch.worker).update(worker="", heartbeat_at=timezone.now())
    logger.warning(
        "Batch %s of resource %s is re-queued (%s; worker %s, attempt %s)",
        batch.pk,
        batch.resource_id,
        reason,
        batch.worker or "-",
        batch.attempts,
    )
    record(
        "batch.requeued",
        organization=batch.resource.provider,
        target=batch,
        details={"reason": reason, "worker": batch.worker, "attempts": batch.attempts},
    )


def resume(batch: Batch) -> bool:
    """If the batch is stalled, release it and enqueue it again; True if it was."""
    from . import uploads

    if not is_stalled(batch):
        return False
    release(batch, reason="worker gone")
    uploads.enqueue(batch)
    return True


def stalled_batches() -> list[Batch]:
    candidates = Batch.objects.filter(status=BatchStatus.RUNNING).select_related("resource__provider")
    # Cheap pre-filter: local workers are checked one by one; others only once their lease has run out.
    cutoff = timezone.now() - lease()
    mine = f"{socket.gethostname()}:"
    candidates = candidates.filter(
        Q(worker__startswith=mine) | Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    return [batch for batch in candidates if is_stalled(batch)]


def recover_stalled_batches() -> int:
    """Re-enqueue every stalled batch; the number re-enqueued. Safe to run anywhere, any time, more than once."""
    count = 0
    for batch in stalled_batches():
        count += resume(batch)
    return count
