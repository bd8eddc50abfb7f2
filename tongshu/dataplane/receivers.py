"""Keep each published resource's table in step with its catalog version (schema evolution: `evolution.evolve`)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from tongshu.catalog.signals import resource_published

from . import evolution, libraries  # noqa: F401  (libraries: its batch_applied receiver)

log = logging.getLogger(__name__)


@receiver(resource_published)
def create_or_evolve_table(sender: Any, resource: Any, version: Any, **kwargs: Any) -> None:
    from tongshu.catalog.services import previous_published

    try:
        evolution.evolve(resource, previous_published(version), version)
    except Exception as exc:  # the publication has committed; the table is evolved again at the next one
        log.exception("schema evolution of resource %s to version %s failed", resource.pk, version.number)
        evolution.record_failure(resource, version, exc)
