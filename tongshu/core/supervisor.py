"""Keep `manage.py serve`'s background processes running: a child that dies is logged and started again.

The embedded default runs the task worker and the scheduler as children of `serve`. A child killed by the kernel
(out of memory), by an operator or by a crash would otherwise stay dead while the web pages go on accepting work that
nothing runs. Each child is polled every second; when it has exited it is started again, after a pause that doubles
(up to a minute) while it keeps dying young, so a child that cannot start does not spin. `on_start` runs after every
start in the supervising thread (serve uses it to re-enqueue the batches a dead worker left, dataplane.recovery).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("tongshu.serve")

POLL_SECONDS = 1.0
MAX_DELAY_SECONDS = 60.0
HEALTHY_AFTER_SECONDS = 60.0  # a child that ran this long had started fine: its next restart is immediate
STOPPED_GRACE_SECONDS = 5.0


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Child:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        on_start: Callable[[], None] | None = None,
        **popen: Any,
    ) -> None:
        self.name, self.argv, self.on_start, self.popen = name, list(argv), on_start, popen
        self.process: subprocess.Popen[Any] | None = None
        self.started_at = 0.0
        self.delay = 0.0
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, **self.popen)
        self.started_at = time.monotonic()
        self.restart_at = None
        if self.on_start is not None:
            try:
                self.on_start()
            except Exception:  # the child runs anyway; the periodic job will try again
                logger.exception("After starting the %s", self.name)

    def check(self) -> None:
        """Notice an exit and schedule the restart; perform a restart that is due."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.start()
                logger.warning("%s restarted (pid %s)", self.name, self.process.pid if self.process else "?")
            return
        if self.process is None or self.process.poll() is None:
            return
        lived = now - self.started_at
        self.delay = (
            0.0 if lived >= HEALTHY_AFTER_SECONDS else min(max(1.0, self.delay * 2), MAX_DELAY_SECONDS)
        )
        if self.process.returncode == 0:
            # Asked to stop (Ctrl+C reaches the whole process group): let serve finish stopping before a restart.
            self.delay = max(self.delay, STOPPED_GRACE_SECONDS)
        self.restart_at = now + self.delay
        logger.warning(
            "%s (pid %s) stopped after %.0f s (%s); restarting in %.0f s",
            self.name,
            self.process.pid,
            lived,
            _describe(self.process.returncode),
            self.delay,
        )

    def stop(self, timeout: float = 15) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Supervisor:
    """Starts children, restarts them when they die (in a daemon thread), stops them on `stop()`."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, child: Child) -> Child:
        self.children.append(child)
        return child

    def start(self) -> None:
        with self._lock:
            for child in self.children:
                child.start()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            with self._lock:
                if self._stopping.is_set():
                    return
                for child in self.children:
                    try:
                        child.check()
                    except Exception:  # e.g. fork failed: try again on the next round
                        logger.exception("Could not restart the %s", child.name)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:  # no restart can begin once this is held
            for child in self.children:
                if child.process is not None and child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in self.children:
                child.stop()
        if self._thread is not None:
            self._thread.join(timeout=POLL_SECONDS * 2)
