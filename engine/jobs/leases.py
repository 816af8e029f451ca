"""Leases on running jobs, renewed by one thread per process while their handlers run.

A claimed job is locked until `now + job_lease_seconds`; every third of that, the keeper
extends the lease of each job still running here. When a worker dies its leases stop being
renewed, and the scheduler's reaper queues those jobs again. Leases use the real UTC time,
not the runtime clock: they measure whether a process is alive, which a test clock moved by
days must not decide, and they are compared across processes and hosts, which rules out
`time.monotonic()` (hosts' clocks should be NTP-synchronised to well within a lease).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from engine.database import write_transaction
from engine.jobs import store

log = logging.getLogger("anju.jobs")


def real_now() -> datetime:
    return datetime.now(UTC)


class LeaseKeeper:
    def __init__(self, engine: sa.Engine, lease_seconds: float) -> None:
        self.engine = engine
        self.lease = timedelta(seconds=lease_seconds)
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def until(self) -> datetime:
        """When a lease taken or renewed now expires."""
        return real_now() + self.lease

    def hold(self, token: str) -> None:
        with self._lock:
            self._held.add(token)
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(
                    target=self._renew_forever, name="anju-job-leases", daemon=True
                )
                self._thread.start()

    def release(self, token: str) -> None:
        with self._lock:
            self._held.discard(token)

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _renew_forever(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self._stopping.wait(interval):
            with self._lock:
                tokens = sorted(self._held)
            if not tokens:
                continue
            try:
                with write_transaction(self.engine) as conn:
                    lost = store.renew_leases(conn, tokens, self.until())
            except Exception:  # the database may be briefly unavailable; try again next time
                log.warning("could not renew job leases", exc_info=True)
                continue
            for token in lost:
                with self._lock:
                    still_running = token in self._held
                if still_running:
                    log.warning("lost the lease %s; another worker may run the job", token)
