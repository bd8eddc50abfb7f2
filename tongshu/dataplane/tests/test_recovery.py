"""Batches left `running` by a worker that is gone are re-queued and applied once; those of a live worker are not.

A batch's worker is named `host:pid:start` (recovery.py). These tests put a batch in the state a worker leaves when it
dies (the kill itself is in test_kill.py) and then go through the sweep the scheduler runs, with tasks run at once.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tongshu.dataplane import pipeline, recovery, services, store
from tongshu.dataplane.models import Batch, BatchStatus, ResourceData
from tongshu.dataplane.schema import schema_for_version
from tongshu.dataplane.tasks import recover_stalled_batches
from tongshu.security.models import AuditEntry

from .formats import GOOD, csv_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


@pytest.fixture
def batch(personas, resource):
    return services.submit_file(
        personas.provider_admin, resource, io.BytesIO(csv_bytes(GOOD)), file_name="people.csv"
    )


def left_running(batch, *, worker, heartbeat=None, attempts=1):
    """The state a worker leaves behind when it is killed while applying `batch`."""
    heartbeat = heartbeat or timezone.now()
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING,
        worker=worker,
        heartbeat_at=heartbeat,
        started_at=heartbeat,
        attempts=attempts,
    )


def rows(resource):
    return store.count_rows(schema_for_version(resource.published_version))


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run the scheduler's job; the tasks it enqueues (after commit) run at once."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return recover_stalled_batches.call()

    return run


def requeued(batch) -> int:
    return AuditEntry.objects.filter(action="batch.requeued", object_id=str(batch.pk)).count()


def dead_local_worker() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:"


def test_batch_of_a_dead_local_worker_is_requeued_at_once_and_applied(batch, resource, sweep):
    left_running(batch, worker=dead_local_worker())
    assert sweep() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED and batch.inserted == 2 and batch.attempts == 2
    assert rows(resource) == 2 and requeued(batch) == 1
    assert sweep() == 0 and services.apply_batch(batch.pk).inserted == 2 and rows(resource) == 2


def test_process_id_reused_by_another_process_counts_as_gone(batch, resource, sweep):
    left_running(batch, worker=f"{socket.gethostname()}:{os.getpid()}:1")  # our id, another start time
    assert sweep() == 1 and Batch.objects.get(pk=batch.pk).status == BatchStatus.APPLIED


def test_batch_of_a_live_worker_is_left_alone(batch, resource, sweep):
    left_running(batch, worker=recovery.current_worker(), heartbeat=timezone.now() - timedelta(hours=2))
    assert sweep() == 0
    assert services.apply_batch(batch.pk).status == BatchStatus.RUNNING  # not taken from its worker
    assert rows(resource) == 0 and requeued(batch) == 0


def test_worker_on_another_host_is_trusted_until_its_lease_runs_out(batch, resource, settings, sweep):
    settings.DATAPLANE_BATCH_LEASE_SECONDS = 300
    left_running(batch, worker="worker-2.internal:4242:99")
    assert sweep() == 0 and services.apply_batch(batch.pk).status == BatchStatus.RUNNING
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        assert sweep() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED and rows(resource) == 2


def test_a_batch_whose_worker_keeps_dying_fails_instead_of_looping(batch, resource, settings, sweep):
    settings.DATAPLANE_BATCH_MAX_ATTEMPTS = 3
    left_running(batch, worker=dead_local_worker(), attempts=3)
    assert sweep() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "中断 3 次" in batch.message
    assert rows(resource) == 0 and sweep() == 0


def test_an_unexpected_error_hands_the_batch_back_for_a_later_attempt(batch, resource, monkeypatch, sweep):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(pipeline, "run_pipeline", broken)
    with pytest.raises(OSError):
        services.apply_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING and batch.worker == "" and requeued(batch) == 1
    monkeypatch.undo()
    assert sweep() == 0  # released just now: its task may still be queued
    with time_machine.travel(timezone.now() + recovery.lease() + timedelta(seconds=1)):
        assert sweep() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED and rows(resource) == 2


def test_a_committed_batch_is_reconciled_not_redone(batch, resource, sweep):
    """The worker died after the data plane committed: the sweep marks it applied and updates the summary."""
    services.apply_batch(batch.pk)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, finished_at=None)
    ResourceData.objects.filter(resource=resource).update(row_count=0, last_batch=None)
    left_running(batch, worker=dead_local_worker())
    assert sweep() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED and batch.inserted == 2 and rows(resource) == 2
    data = ResourceData.objects.get(resource=resource)
    assert data.row_count == 2 and data.last_batch_id == batch.pk


def test_upload_retry_leaves_a_batch_of_a_live_worker_alone(personas, resource, client_for, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # queued, not run here
    client = client_for(personas.provider_admin)

    def upload():  # type: ignore[no-untyped-def]
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            f"/api/v1/data/resources/{resource.pk}/uploads",
            {"file": SimpleUploadedFile("people.csv", csv_bytes(GOOD))},
            HTTP_IDEMPOTENCY_KEY="k-1",
        )

    batch = Batch.objects.get(pk=upload().json()["batch_id"])
    left_running(batch, worker=recovery.current_worker())
    retried = upload()
    assert retried.status_code == 202 and retried.json()["status"] == "running"
    assert requeued(batch) == 0 and Batch.objects.count() == 1
