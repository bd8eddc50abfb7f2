"""Run the periodic scheduler: enqueue each registered job's task when it is due."""

from __future__ import annotations

import logging
import signal
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from tongshu.core.models import Heartbeat
from tongshu.core.scheduler import Job, load_jobs

logger = logging.getLogger(__name__)


def _enqueue(job: Job) -> None:
    try:
        job.task.enqueue()
        Heartbeat.objects.update_or_create(
            name="scheduler", defaults={"last_seen": timezone.now(), "details": {"job": job.name}}
        )
    except Exception:  # a failing enqueue must not stop the other jobs
        logger.exception("Could not enqueue %s", job.name)


class Command(BaseCommand):
    help = "Run the periodic scheduler (enqueues recurring tasks; a worker runs them)."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = BlockingScheduler(timezone=settings.TIME_ZONE)
        for job in load_jobs().values():
            trigger = (
                IntervalTrigger(seconds=job.seconds)
                if job.seconds
                else CronTrigger.from_crontab(job.crontab, timezone=settings.TIME_ZONE)
            )
            scheduler.add_job(_enqueue, trigger, args=[job], id=job.name, max_instances=1, coalesce=True)
            self.stdout.write(f"scheduled {job.name}")

        def stop(signum: int, frame: Any) -> None:
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for job in load_jobs().values():
            if job.seconds:  # interval jobs run once at start, so /healthz sees a worker within seconds
                _enqueue(job)
        try:
            scheduler.start()
        finally:  # stopped (SIGTERM/SIGINT): seal the audit log's tail and sign a shutdown checkpoint
            from tongshu.security.audit import flush

            flush()
