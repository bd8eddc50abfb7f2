"""After each applied batch: close the resource's overdue to-dos at once, and queue its score computation."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tongshu.dataplane.signals import batch_applied

from .overdue import close_overdue


@receiver(batch_applied)
def on_batch_applied(sender: Any, batch: Any, resource: Any, **kwargs: Any) -> None:
    from .tasks import compute_resource_score

    close_overdue(resource)
    compute_resource_score.enqueue(resource.pk, batch.pk)
