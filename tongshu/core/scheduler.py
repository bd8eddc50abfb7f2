"""The periodic scheduler: recurring jobs (deadline checks, syncs, audit checkpoints) enqueue tasks on a timetable.

Apps register jobs at import time of their `tasks` module:

    from tongshu.core.scheduler import every, cron
    every(seconds=30, name="audit.seal")(seal_task)
    cron("0 8 * * 1-5", name="sharing.deadlines")(check_deadlines)

`manage.py run_scheduler` (started by `make run`) enqueues each registered task when due; a worker runs it. Only one
scheduler should run per deployment (docs/deployment.md); the tasks themselves are safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str
    task: Any
    seconds: int | None = None
    crontab: str | None = None


JOBS: dict[str, Job] = {}


def every(*, seconds: int, name: str) -> Callable[[Any], Any]:
    def register(task: Any) -> Any:
        JOBS[name] = Job(name=name, task=task, seconds=seconds)
        return task

    return register


def cron(expression: str, *, name: str) -> Callable[[Any], Any]:
    def register(task: Any) -> Any:
        JOBS[name] = Job(name=name, task=task, crontab=expression)
        return task

    return register


def load_jobs() -> dict[str, Job]:
    """Import every installed app's `tasks` module so its jobs register."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    for config in apps.get_app_configs():
        module = f"{config.name}.tasks"
        if config.name.startswith("tongshu.") and find_spec(module) is not None:
            import_module(module)
    return JOBS
