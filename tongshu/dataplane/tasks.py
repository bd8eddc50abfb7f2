"""Background work of the data plane: applying a submitted batch (第十二条, 第十九条)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def apply_batch_task(batch_id: int) -> str:
    """Run the pipeline for a batch. Idempotent: a batch already applied is only reconciled (services.apply_batch)."""
    return str(services.apply_batch(batch_id).status)
