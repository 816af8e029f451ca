"""The scheduler: enqueues periodic jobs, queues jobs whose lease expired, and (RQ) pushes
jobs the database holds but Redis does not. Any number may run at once, on any hosts:
periodic jobs have one idempotent key per time window, reaping is a conditional UPDATE, and
pushing a job twice is harmless. So no scheduler needs to be elected."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from engine.database import write_transaction
from engine.jobs import store
from engine.jobs.leases import real_now

if TYPE_CHECKING:
    from engine.jobs.service import Jobs

log = logging.getLogger("anju.jobs")
RECHECK_SECONDS = 0.05


class Waker:
    """Wakes a waiting thread at once when there is work, instead of at its next poll.

    SQLAlchemy's commit event fires just before the database commits, so a wake for a job
    enqueued in a caller's transaction is followed by a second look shortly after."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._recheck_at = 0.0

    def wake(self) -> None:
        self._event.set()

    def wake_after_commit(self) -> None:
        self._recheck_at = time.monotonic() + RECHECK_SECONDS
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True if woken."""
        recheck = self._recheck_at - time.monotonic()
        if 0 < recheck < timeout:
            timeout = recheck
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken


class Scheduler:
    """One pass with `run_once()`; `run_forever()` is the scheduler thread."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self._windows: dict[str, int] = {}  # the last window each periodic job was enqueued for

    def run_once(self) -> None:
        self.enqueue_periodic()
        with write_transaction(self.jobs.engine) as conn:
            reaped = store.reap_expired(conn, real_now())
        if reaped:
            log.warning("queued %s jobs again whose worker stopped", reaped)
            self.jobs.waker.wake()
        self.jobs.dispatch()

    def enqueue_periodic(self) -> None:
        """Enqueue each periodic job once for the current window of the runtime clock."""
        epoch = self.jobs.now().timestamp()
        for handler in self.jobs.handlers.values():
            period = handler.period(self.jobs.settings)
            if period is None or period <= 0:
                continue
            window = int(epoch // period)
            if self._windows.get(handler.name) == window:
                continue
            start = datetime.fromtimestamp(window * period, UTC)
            self.jobs.enqueue(handler.name, key=f"{handler.name}:{window}", run_at=start)
            self._windows[handler.name] = window

    def run_forever(self, stopping: threading.Event, waker: Waker) -> None:
        """A full pass every `scheduler_seconds`; when woken in between, only the dispatch."""
        interval = self.jobs.settings.scheduler_seconds
        next_pass = 0.0
        while not stopping.is_set():
            try:
                if time.monotonic() >= next_pass:
                    self.run_once()
                    next_pass = time.monotonic() + interval
                else:
                    self.jobs.dispatch()
            except Exception:  # e.g. the database or Redis is restarting; retry next pass
                log.exception("scheduler pass failed")
                next_pass = time.monotonic() + interval
            waker.wait(max(0.0, next_pass - time.monotonic()))
