"""Appending, sealing and checkpointing build a verifiable chain; the ORM offers no way to change it."""

from __future__ import annotations

import base64
import json
import stat
import threading
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from django.db import connection
from django.utils import timezone
from gmssl import func, sm3

from tongshu.security import audit
from tongshu.security.chain import GENESIS_HASH, canonical_payload, entry_hash, seal_pending
from tongshu.security.checkpoints import public_key, read_checkpoint_file, signed_message
from tongshu.security.models import AuditCheckpoint, AuditEntry, AuditLogIsAppendOnly, CheckpointReason
from tongshu.security.verify import verify_chain

from .factories import append, sealed_log

pytestmark = pytest.mark.django_db


def test_record_only_inserts_an_unsealed_row(django_assert_num_queries):
    with django_assert_num_queries(1):
        entry = audit.record("test.event", actor_name="someone", details={"k": "v"})
    entry.refresh_from_db()
    assert entry.seq is None and entry.entry_hash == "" and entry.prev_hash == ""


def test_sealing_links_pending_entries_into_a_valid_chain():
    append(5)
    assert seal_pending() == 5
    rows = list(AuditEntry.objects.sealed().order_by("seq").values())
    assert [row["seq"] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["prev_hash"] == before["entry_hash"]
    for row in rows:
        assert row["algorithm"] == "sha256" and len(row["entry_hash"]) == 64
        assert entry_hash(row, row["prev_hash"]) == row["entry_hash"]
    result = verify_chain()
    assert result.is_intact, result.problems
    assert (result.checked, result.first_seq, result.head_seq) == (5, 1, 5)
    assert result.summary().startswith("完整")
    # Sealing again touches nothing; later entries continue the chain.
    assert seal_pending() == 0
    append(2)
    seal_pending()
    assert AuditEntry.objects.get(seq=6).prev_hash == rows[-1]["entry_hash"]
    assert verify_chain().is_intact


def test_hash_covers_every_field_a_reader_sees():
    [entry] = append(1)
    seal_pending()
    row = AuditEntry.objects.filter(pk=entry.pk).values().get()
    payload = json.loads(canonical_payload(row))
    assert set(payload) == {
        "id", "seq", "alg", "time", "actor_id", "actor", "org_id", "org", "action", "object_type", "object_id",
        "object", "details", "client",
    }  # fmt: skip
    assert payload["time"].endswith("+00:00")
    assert payload["details"] == {"n": 0, "text": "测试"}


def test_sm3_can_be_chosen_and_each_entry_keeps_its_algorithm(settings):
    append(2)
    seal_pending()
    settings.AUDIT_HASH_ALGORITHM = "sm3"
    append(2)
    seal_pending()
    algorithms = list(AuditEntry.objects.sealed().order_by("seq").values_list("algorithm", flat=True))
    assert algorithms == ["sha256", "sha256", "sm3", "sm3"]
    row = AuditEntry.objects.filter(seq=3).values().get()
    expected = sm3.sm3_hash(func.bytes_to_list(f"{row['prev_hash']}\n{canonical_payload(row)}".encode()))
    assert row["entry_hash"] == expected  # GB/T 32905 as computed by gmssl
    assert verify_chain().is_intact


def test_an_unknown_algorithm_is_refused(settings):
    settings.AUDIT_HASH_ALGORITHM = "md5"
    append(1)
    with pytest.raises(ValueError, match="AUDIT_HASH_ALGORITHM"):
        seal_pending()


def test_the_orm_cannot_change_or_delete_entries():
    [entry] = append(1)
    seal_pending()
    entry.refresh_from_db()
    entry.action = "something.else"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.bulk_update([entry], ["action"])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.event"


def test_a_burst_of_appends_triggers_a_seal_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(audit, "SEAL_AFTER", 3)
    monkeypatch.setattr(audit, "_last_trigger", audit._appended)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        append(2)
        assert not callbacks
        append(1)
    assert len(callbacks) == 1
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()


def test_checkpoints_every_n_entries_every_interval_and_at_shutdown(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 10
    settings.AUDIT_CHECKPOINT_SECONDS = 60
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        append(3)
        seal_pending()  # the first checkpoint comes at once
        assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3]
        append(4)
        seal_pending()  # 4 entries and 0 s since: not due
        assert AuditCheckpoint.objects.count() == 1
        clock.shift(timedelta(seconds=61))
        seal_pending()  # due by time
        append(10)
        seal_pending()  # due by count
        append(1)
        assert audit.flush() == 1  # shutdown: seal and sign whatever is left
        assert audit.flush() == 0  # nothing new: no second checkpoint
    checkpoints = list(AuditCheckpoint.objects.order_by("seq").values_list("seq", "reason"))
    assert checkpoints == [
        (3, CheckpointReason.INTERVAL),
        (7, CheckpointReason.INTERVAL),
        (17, CheckpointReason.COUNT),
        (18, CheckpointReason.SHUTDOWN),
    ]
    found, lines = read_checkpoint_file()
    assert found and [(line.seq, line.is_valid) for line in lines] == [
        (3, True),
        (7, True),
        (17, True),
        (18, True),
    ]
    assert verify_chain().is_intact


def test_checkpoint_lines_are_signed_with_a_key_outside_the_database(settings):
    sealed_log(2)
    key_path = settings.AUDIT_SIGNING_KEY
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    line = json.loads(settings.AUDIT_CHECKPOINT_FILE.read_text().splitlines()[0])
    head = AuditEntry.objects.get(seq=2)
    assert (line["seq"], line["hash"]) == (2, head.entry_hash)
    public_key().verify(
        base64.b64decode(line["sig"]), signed_message(line["seq"], line["hash"], line["time"], line["reason"])
    )
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw not in settings.AUDIT_CHECKPOINT_FILE.read_bytes()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_and_seals_give_one_unbroken_chain(monkeypatch):
    """Writers and sealers in parallel threads: every entry is sealed exactly once, in one chain."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("needs a file database shared between threads")
    monkeypatch.setattr(audit, "SEAL_AFTER", 25)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(60):
                audit.record("test.concurrent", actor_name=name, details={"i": i})
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            for _ in range(5):
                seal_pending(wait=False)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    threads += [threading.Thread(target=sealer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    seal_pending()
    assert AuditEntry.objects.count() == 180
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 181))
    assert verify_chain().is_intact
