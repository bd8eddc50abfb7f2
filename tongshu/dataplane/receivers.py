"""Keep each published resource's table in step with its catalog version."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tongshu.catalog.signals import resource_published

from . import store
from .schema import schema_for_version


@receiver(resource_published)
def create_or_evolve_table(sender: Any, resource: Any, version: Any, **kwargs: Any) -> None:
    store.ensure_tables(schema_for_version(version))
