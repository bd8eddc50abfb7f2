"""Background work of the other ways in: the pull timetable, "run now", and closing collection tasks at deadline."""

from __future__ import annotations

from django_tasks import task

from tongshu.core.scheduler import every


@task()
def run_due_pull_sources() -> int:
    """Every minute: run the pull sources whose time has come (第十九条)."""
    from .sources.services import run_due_sources

    return run_due_sources()


@task()
def run_pull_source(source_id: int, user_id: int) -> None:
    """A "run now" from the source's page, on behalf of the person who pressed it."""
    from tongshu.accounts.models import User

    from .models_sources import PullSource
    from .sources.services import run_source

    source = PullSource.objects.select_related("resource").filter(pk=source_id).first()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if source is not None and user is not None:
        run_source(user, source, trigger="manual")


@task()
def close_expired_collection_tasks() -> int:
    """Close public collection tasks whose deadline has passed (第十二条)."""
    from .collection import close_expired

    return close_expired()


every(seconds=60, name="dataplane.pull_sources")(run_due_pull_sources)
every(seconds=300, name="dataplane.collection_deadlines")(close_expired_collection_tasks)
