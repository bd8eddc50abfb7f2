"""Background tasks of the data plane; each way in keeps its own module, imported here so the scheduler finds
its jobs (`core.scheduler.load_jobs` imports `<app>.tasks`)."""

from . import tasks_sources  # noqa: F401
