"""Background work of the data plane: applying a submitted batch (第十二条, 第十九条) and re-running batches whose
worker died (recovery.py). Each way in keeps its own task module, imported here so the scheduler finds its jobs
(`core.scheduler.load_jobs` imports `<app>.tasks`)."""

from __future__ import annotations

from django_tasks import task

from tongshu.core.scheduler import every

from . import (
    recovery,
    services,
    tasks_sources,  # noqa: F401  (pull sources, collection deadlines)
)


@task()
def apply_batch_task(batch_id: int) -> str:
    """Run the pipeline for a batch. Idempotent: a batch already applied is only reconciled (services.apply_batch)."""
    return str(services.apply_batch(batch_id).status)


@task()
def recover_stalled_batches() -> int:
    """Every minute (and when `serve` starts or restarts its worker): re-enqueue batches whose worker is gone."""
    return recovery.recover_stalled_batches()


every(seconds=60, name="dataplane.recover_batches")(recover_stalled_batches)
