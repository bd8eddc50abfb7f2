"""Background work of the data plane: applying a submitted batch (第十二条, 第十九条). Each way in keeps its own
task module, imported here so the scheduler finds its jobs (`core.scheduler.load_jobs` imports `<app>.tasks`)."""

from __future__ import annotations

from django_tasks import task

from . import (
    services,
    tasks_sources,  # noqa: F401  (pull sources, collection deadlines)
)


@task()
def apply_batch_task(batch_id: int) -> str:
    """Run the pipeline for a batch. Idempotent: a batch already applied is only reconciled (services.apply_batch)."""
    return str(services.apply_batch(batch_id).status)
