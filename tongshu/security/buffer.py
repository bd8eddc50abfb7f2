"""Batched appends for high-volume audit events (data-service calls): many entries, one INSERT, one commit.

A synchronous `record()` costs one INSERT and, outside a transaction, one commit, and a commit costs a disk flush
(about 3 ms on the reference machine's PostgreSQL): a few hundred entries per second per process. That is right for
state changes, whose entry must commit or roll back with the change. Read-only events at thousands per second go
through `record(..., buffered=True)` instead: the entry joins this process's buffer, and a background writer thread
writes whatever is buffered with multi-row INSERTs in one transaction as soon as it is idle. Entries that arrive while
it writes form the next batch (group commit), so batches grow with the load: one commit carries many entries.

`wait=True` makes the caller block until its batch has committed (durable when the call returns, at the cost of about
one commit of latency). Without it the caller returns at once, and a crash of the process loses the entries not yet
committed (one batch, a few milliseconds' worth); `audit.flush()` (shutdown) and interpreter exit write what is left.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass, field

from django.db import connection, transaction

from .models import AuditEntry

logger = logging.getLogger(__name__)

FLUSH_SIZE = 1000  # rows per INSERT statement (SQLite caps it lower by its parameter limit)
RETRY_SECONDS = 0.5
IDLE_SECONDS = 30.0
MAX_BUFFERED = 100_000  # past this, appends write synchronously rather than grow memory without bound


@dataclass
class _Batch:
    entries: list[AuditEntry] = field(default_factory=list)
    committed: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class AuditBuffer:
    """One per process. `add()` never touches the database; `flush()` writes everything buffered in one commit."""

    def __init__(self, *, background: bool = True) -> None:
        self._lock = threading.Condition()
        self._batch = _Batch()
        self._background = background
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self._stopping = False

    def __len__(self) -> int:
        return len(self._batch.entries)

    def add(self, entry: AuditEntry, *, wait: bool = False, timeout: float = 30.0) -> None:
        with self._lock:
            if len(self._batch.entries) >= MAX_BUFFERED:
                batch = None
            else:
                batch = self._batch
                batch.entries.append(entry)
                if len(batch.entries) == 1:  # wake the writer: a batch began
                    self._lock.notify()
        if batch is None:  # the writer has fallen far behind: apply back-pressure to this caller
            entry.save(force_insert=True)
            return
        self._ensure_thread()
        if wait:
            if not self._background:
                self.flush()
            if not batch.committed.wait(timeout):
                raise TimeoutError("the audit entry was not written in time")
            if batch.error is not None:
                raise batch.error

    def flush(self) -> int:
        """Write everything buffered now, in the calling thread; returns how many entries were written."""
        with self._flush_lock:
            with self._lock:
                batch, self._batch = self._batch, _Batch()
            if not batch.entries:
                batch.committed.set()
                return 0
            try:
                with transaction.atomic():
                    AuditEntry.objects.bulk_create(batch.entries, batch_size=FLUSH_SIZE)
            except BaseException as exc:
                batch.error = exc
                logger.exception("Could not write %d buffered audit entries", len(batch.entries))
                raise
            finally:
                batch.committed.set()
        from .audit import count_appends

        count_appends(len(batch.entries))
        return len(batch.entries)

    def _ensure_thread(self) -> None:
        if not self._background or (self._thread is not None and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-buffer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Write what is left and end the writer thread (which closes its database connection)."""
        with self._lock:
            self._stopping = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._stopping = False
        self.flush()

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    while not self._batch.entries and not self._stopping:
                        if not self._lock.wait(IDLE_SECONDS):
                            connection.close()  # idle: do not hold a database connection open
                    if self._stopping:
                        return
                try:
                    self.flush()
                except Exception:  # reported to waiting callers and logged; keep serving later batches
                    time.sleep(RETRY_SECONDS)
        finally:
            connection.close()


buffer = AuditBuffer()


@atexit.register
def _flush_at_exit() -> None:
    try:
        buffer.flush()
    except Exception:
        logger.exception("Buffered audit entries were lost at exit")
