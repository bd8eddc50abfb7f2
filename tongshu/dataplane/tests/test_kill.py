"""Faults: the worker process is killed (SIGKILL) while it applies a batch, or between the data-plane commit and the
control-plane status update. After a restart the resource holds none or all of the batch, exactly once.

The worker is a real subprocess running `services.apply_batch` / `services.push_rows` against the test's databases.
The script it runs wraps one store method to tell the test (a line on stdout) when it reaches the moment of interest
and then wait, so the test kills it exactly there (no timing guesses); the production code has no test hooks.

The recovery tests go through the real path with no `apply_batch` of their own: `manage.py serve` (its worker is
killed mid-batch; serve restarts it and re-queues the batch), and an upload retried with the same `Idempotency-Key`.
There the hook is a `sitecustomize` module on the serve process tree's path, which holds the first worker that
reaches the moment (a file created exclusively says which one, and its pid) and lets every later one through.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tongshu.catalog.tests.factories import make_resource
from tongshu.core.checksums import resident_id_check_char
from tongshu.dataplane import services, store, uploads
from tongshu.dataplane.models import Batch, BatchStatus
from tongshu.dataplane.schema import schema_for_version
from tongshu.security.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]
ITEMS = [("公民身份号码", "C", "C18", True, True, True), ("姓名", "C", "C..50", False, True, False)]

WORKER = textwrap.dedent(
    """
    import json, os, sys, threading
    from pathlib import Path
    import django
    django.setup()
    from tongshu.dataplane import readers, services, store

    moment, action, argument = sys.argv[1], sys.argv[2], sys.argv[3]
    original_read = readers.read_csv
    readers.read_csv = lambda source, chunk_bytes=16384: original_read(source, chunk_bytes=chunk_bytes)
    name = "write_prepared" if moment == "writing" else "commit"
    original = getattr(store.BatchWriter, name)

    def wrapped(self, *args):
        result = original(self, *args)
        if moment == "committed" or self._rows > 2000:
            print(moment, flush=True)  # tells the test where we are
            threading.Event().wait()  # hold here until killed
        return result

    setattr(store.BatchWriter, name, wrapped)
    if action == "apply":
        services.apply_batch(int(argument))
    else:
        from tongshu.accounts.models import ApiKey
        from tongshu.catalog.models import Resource
        payload = json.loads(Path(argument).read_text())
        key = ApiKey.objects.get(pk=payload["key"])
        resource = Resource.objects.get(pk=payload["resource"])
        services.push_rows(key, resource, payload["rows"], idempotency_key=payload["idempotency_key"])
    """
)


def population(count: int, offset: int = 0) -> list[dict[str, str]]:
    rows = []
    for n in range(offset, offset + count):
        birth = date(1950, 1, 1) + timedelta(days=n // 400)
        first17 = f"430623{birth:%Y%m%d}{n % 400 * 2 + 1:03d}"
        rows.append({"公民身份号码": first17 + resident_id_check_char(first17), "姓名": f"居民{n}"})
    return rows


def as_csv(rows: list[dict[str, str]]) -> bytes:
    return ("公民身份号码,姓名\n" + "".join(f"{r['公民身份号码']},{r['姓名']}\n" for r in rows)).encode()


def database_url() -> str:
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    auth = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    return f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"


def worker_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tongshu.settings",
        "TONGSHU_DATABASE_URL": database_url(),
        "TONGSHU_DATA_URL": settings.DATA_URL,
        "TONGSHU_VAR_DIR": str(tmp_path),
        "TONGSHU_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def kill_worker(tmp_path: Path, moment: str, action: str, argument: str) -> None:
    """Start the worker, wait until it reaches `moment`, SIGKILL it."""
    env = worker_env(tmp_path)
    store.dispose_engines()  # no pooled data-plane connection of ours stays open across the kill
    connection.close()
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, moment, action, argument],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None and worker.stderr is not None
    reached = worker.stdout.readline().strip()  # blocks until the worker is there (or has died)
    if reached != moment:
        worker.kill()
        pytest.fail(f"worker ended before {moment}: {worker.stderr.read()[-3000:]}")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL


@pytest.fixture
def resource(personas):
    from tongshu.catalog.models import InfoItem
    from tongshu.standards.tests.factories import make_data_element

    resource = make_resource(personas.provider_org, name="户籍人口（故障测试）", items=ITEMS)
    element = make_data_element("居民身份证号码", length="C18", check_rule="resident_id")
    InfoItem.objects.filter(version=resource.published_version, name="公民身份号码").update(
        data_element=element
    )
    return resource


def live_count(resource) -> int:
    return store.count_rows(schema_for_version(resource.published_version))


def test_killed_mid_apply_leaves_nothing_and_the_restart_applies_all(personas, resource, tmp_path):
    first = services.apply_batch(
        services.submit_file(
            personas.provider_admin, resource, _io(as_csv(population(50))), file_name="first.csv"
        ).pk
    )
    assert first.status == BatchStatus.APPLIED and live_count(resource) == 50
    big = services.submit_file(
        personas.provider_admin, resource, _io(as_csv(population(6000, offset=50))), file_name="big.csv"
    )
    kill_worker(tmp_path, "writing", "apply", str(big.pk))
    # The worker wrote rows of the batch before dying; none of them is visible.
    assert live_count(resource) == 50
    assert store.applied_batch(big.pk) is None
    assert Batch.objects.get(pk=big.pk).status == BatchStatus.RUNNING
    restarted = services.apply_batch(big.pk)
    assert restarted.status == BatchStatus.APPLIED and restarted.inserted == 6000
    assert live_count(resource) == 6050


def test_killed_after_data_commit_is_reconciled_not_redone(personas, resource, tmp_path):
    batch = services.submit_file(
        personas.provider_admin, resource, _io(as_csv(population(3000))), file_name="b.csv"
    )
    kill_worker(tmp_path, "committed", "apply", str(batch.pk))
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING  # the control plane never heard
    assert store.applied_batch(batch.pk)["inserted"] == 3000  # the data plane's marker says it is applied
    reconciled = services.apply_batch(batch.pk)
    assert reconciled.status == BatchStatus.APPLIED and reconciled.inserted == 3000
    assert live_count(resource) == 3000


def test_push_retried_after_kill_with_same_key_yields_one_copy(personas, resource, tmp_path):
    import json

    from tongshu.accounts.services import create_api_key

    key, _token = create_api_key(personas.provider_admin, name="人口系统", organization=personas.provider_org)
    rows = population(5000)
    payload = tmp_path / "push.json"
    payload.write_text(
        json.dumps({"key": key.pk, "resource": resource.pk, "rows": rows, "idempotency_key": "push-1"})
    )
    kill_worker(tmp_path, "writing", "push", str(payload))
    assert live_count(resource) == 0
    retried = services.push_rows(key, resource, rows, idempotency_key="push-1")
    again = services.push_rows(key, resource, rows, idempotency_key="push-1")
    assert retried.status == BatchStatus.APPLIED and retried.inserted == 5000
    assert again.pk == retried.pk and Batch.objects.filter(resource=resource).count() == 1
    assert live_count(resource) == 5000


HOLD_ONCE = textwrap.dedent(
    """
    import os, threading
    import django

    hold_file = os.environ["TONGSHU_TEST_HOLD_FILE"]
    original_setup = django.setup

    def setup(*args, **kwargs):
        original_setup(*args, **kwargs)
        from tongshu.dataplane import readers, store

        original_read = readers.read_csv
        readers.read_csv = lambda source, chunk_bytes=16384: original_read(source, chunk_bytes=chunk_bytes)
        original_write = store.BatchWriter.write_prepared

        def write_prepared(self, *args):
            result = original_write(self, *args)
            if self._rows > 2000:
                try:
                    handle = os.open(hold_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    return result  # a later worker: let it through
                os.write(handle, str(os.getpid()).encode())
                os.close(handle)
                threading.Event().wait()  # the first worker here waits until killed
            return result

        store.BatchWriter.write_prepared = write_prepared

    django.setup = setup
    """
)


def wait_for(condition, what: str, timeout: float = 90):  # type: ignore[no-untyped-def]
    """Poll another process's progress (a file, a row) until `condition()` is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_serve_restarts_its_killed_worker_and_the_batch_is_applied_once(personas, resource, tmp_path):
    """manage.py serve: its worker is SIGKILLed mid-batch; serve logs it, starts a new worker and re-queues the
    batch, which the new worker applies: the resource holds all of it, once."""
    first = services.apply_batch(
        services.submit_file(
            personas.provider_admin, resource, _io(as_csv(population(50))), file_name="first.csv"
        ).pk
    )
    assert first.status == BatchStatus.APPLIED
    big = services.submit_file(
        personas.provider_admin, resource, _io(as_csv(population(6000, offset=50))), file_name="big.csv"
    )
    uploads.enqueue(big)  # the task is in the database queue; serve's worker takes it
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOLD_ONCE)
    hold_file = tmp_path / "held-worker"
    env = {
        **worker_env(tmp_path),
        "PYTHONPATH": f"{hooks}{os.pathsep}{ROOT}",
        "TONGSHU_TEST_HOLD_FILE": str(hold_file),
    }
    store.dispose_engines()
    connection.close()
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        serve = subprocess.Popen(
            [sys.executable, "-m", "tongshu", "serve", "--port", "0"],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so cleanup can end the whole tree it started
        )
    try:
        held = int(
            wait_for(lambda: hold_file.exists() and hold_file.read_text(), "the worker to hold mid-batch")
        )
        assert store.applied_batch(big.pk) is None and live_count(resource) == 50
        os.kill(held, signal.SIGKILL)
        wait_for(lambda: Batch.objects.get(pk=big.pk).is_finished, "the restarted worker to apply the batch")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    output_text = log.read_text()
    assert f"task worker (pid {held}) stopped" in output_text and "killed by SIGKILL" in output_text, (
        output_text
    )
    assert "task worker restarted" in output_text, output_text
    batch = Batch.objects.get(pk=big.pk)
    assert batch.status == BatchStatus.APPLIED and batch.inserted == 6000, batch.message
    assert batch.attempts == 2 and batch.worker and str(held) not in batch.worker
    assert live_count(resource) == 6050
    assert store.applied_batch(big.pk)["inserted"] == 6000
    assert AuditEntry.objects.filter(action="batch.requeued", object_id=str(big.pk)).count() == 1


def test_upload_retried_with_same_key_after_kill_is_requeued_and_applied_once(
    personas, resource, tmp_path, client_for, settings
):
    """The review's case: the worker dies mid-batch, the client retries the upload with its Idempotency-Key. The
    retry hands the stuck batch to a worker again (no new batch); it is applied once, and a further retry only
    returns it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(personas.provider_admin)
    body = as_csv(population(6000))

    def upload():  # type: ignore[no-untyped-def]
        return client.post(
            f"/api/v1/data/resources/{resource.pk}/uploads",
            {"file": SimpleUploadedFile("people.csv", body)},
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    accepted = upload()  # queued in the database; no worker runs here
    assert accepted.status_code == 202, accepted.content
    batch_id = accepted.json()["batch_id"]
    kill_worker(tmp_path, "writing", "apply", str(batch_id))
    assert Batch.objects.get(pk=batch_id).status == BatchStatus.RUNNING and live_count(resource) == 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    retried = upload()  # the re-queued task runs at once on this backend
    assert retried.status_code == 202 and retried.json()["batch_id"] == batch_id
    batch = Batch.objects.get(pk=batch_id)
    assert batch.status == BatchStatus.APPLIED and batch.inserted == 6000
    assert live_count(resource) == 6000
    again = upload()
    assert again.status_code == 202 and again.json() == {**retried.json(), "status": "applied"}
    assert Batch.objects.filter(resource=resource).count() == 1 and live_count(resource) == 6000
    assert Batch.objects.get(pk=batch_id).attempts == 2


def _io(data: bytes):
    import io

    return io.BytesIO(data)
