"""Background tasks of the core: the worker's heartbeat."""

from __future__ import annotations

import os
import socket

from django.utils import timezone
from django_tasks import task

from .models import Heartbeat


@task()
def worker_heartbeat() -> None:
    """Enqueued by the scheduler; running it proves a worker is taking tasks from the queue."""
    Heartbeat.objects.update_or_create(
        name="worker",
        defaults={"last_seen": timezone.now(), "details": {"host": socket.gethostname(), "pid": os.getpid()}},
    )


from .scheduler import every  # noqa: E402

every(seconds=30, name="core.worker_heartbeat")(worker_heartbeat)
