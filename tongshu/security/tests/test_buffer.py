"""Batched appends: high-volume events are written many to one INSERT and still join the chain."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongshu.security import buffer as buffer_module
from tongshu.security.audit import flush, record
from tongshu.security.buffer import AuditBuffer
from tongshu.security.chain import seal_pending
from tongshu.security.models import AuditEntry
from tongshu.security.verify import verify_chain


@pytest.fixture
def inline_buffer(monkeypatch):
    """A buffer without its background thread, flushed by the test itself."""
    instance = AuditBuffer(background=False)
    monkeypatch.setattr(buffer_module, "buffer", instance)
    return instance


@pytest.mark.django_db
def test_buffered_entries_are_written_in_one_batch_and_sealed(inline_buffer, django_assert_max_num_queries):
    with no_queries():
        for i in range(300):
            record("sharing.query", actor_name="app", details={"i": i}, buffered=True)
    assert len(inline_buffer) == 300 and not AuditEntry.objects.exists()
    with django_assert_max_num_queries(10):  # multi-row INSERTs (SQLite caps rows per statement), one commit
        assert inline_buffer.flush() == 300
    seal_pending()
    assert AuditEntry.objects.sealed().count() == 300
    assert verify_chain().is_intact


@pytest.mark.django_db
def test_waiting_for_a_buffered_entry_returns_once_it_is_committed(inline_buffer):
    entry = record("sharing.verify", actor_name="app", buffered=True, wait=True)
    assert entry.pk is not None and AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_shutdown_flush_writes_what_is_buffered(inline_buffer):
    record("sharing.query", actor_name="app", buffered=True)
    assert flush() == 1
    assert AuditEntry.objects.sealed().count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_background_writer_group_commits_entries_from_many_threads(monkeypatch):
    instance = AuditBuffer()
    monkeypatch.setattr(buffer_module, "buffer", instance)
    errors = []

    def caller(n):
        try:
            for i in range(20):
                record("sharing.query", actor_name=f"t{n}", details={"i": i}, buffered=True, wait=i % 5 == 0)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    instance.stop()
    assert not errors
    assert AuditEntry.objects.count() == 80
    seal_pending()
    assert verify_chain().is_intact


@contextmanager
def no_queries():
    """Appending to the buffer does not touch the database."""
    with CaptureQueriesContext(connection) as context:
        yield
    assert not context.captured_queries, context.captured_queries
