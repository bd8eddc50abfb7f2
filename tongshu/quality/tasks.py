"""Background work of data quality: the score after each batch, the nightly scores, the daily overdue check."""

from __future__ import annotations

import logging

from django_tasks import task

from tongshu.catalog.models import Resource
from tongshu.core.scheduler import cron
from tongshu.dataplane.models import Batch

from .models import QualityScore
from .overdue import check_overdue
from .scoring import compute_score

logger = logging.getLogger(__name__)


@task()
def compute_resource_score(resource_id: int, batch_id: int | None = None) -> float | None:
    """The score after a batch; skipped when a score computed after the batch finished exists already (several
    batches applied in a row need one score, not one each)."""
    resource = Resource.objects.select_related("published_version", "provider").filter(pk=resource_id).first()
    if resource is None or resource.published_version is None or resource.is_retired:
        return None
    finished = (
        Batch.objects.filter(pk=batch_id).values_list("finished_at", flat=True).first() if batch_id else None
    )
    if finished is not None:
        newer = QualityScore.objects.filter(resource=resource, computed_at__gt=finished).order_by(
            "-computed_at"
        )
        if (score := newer.first()) is not None:
            return score.overall
    return compute_score(resource).overall


@task()
def score_all_resources() -> int:
    """Nightly: every published resource gets a score (timeliness changes even when no data came in)."""
    count = 0
    for resource in Resource.objects.filter(published_version__isnull=False, is_retired=False).select_related(
        "published_version", "provider"
    ):
        try:
            compute_score(resource)
            count += 1
        except Exception:  # one broken table must not stop the others
            logger.exception("Could not score resource %s", resource.pk)
    return count


@task()
def check_overdue_resources() -> int:
    """Daily (第二十二条): post to-dos for resources newly overdue against their update cycle."""
    return len(check_overdue())


cron("20 1 * * *", name="quality.nightly_scores")(score_all_resources)
cron("0 8 * * *", name="quality.overdue")(check_overdue_resources)
