"""`Jobs`: the one interface to background jobs, whichever back-end runs them.

The database row is the source of truth; a back-end only decides how workers learn that a
job is due (in-process: polling and a wake-up; RQ: a push to Redis). Claiming, retries,
backoff, dead letters and leases are the same code in both.

    job_id = runtime.jobs.enqueue("send_reminder", {"contract_id": 42}, key="reminder:42")
    with write_transaction(runtime.engine) as conn:  # the job exists only if it commits
        ...
        runtime.jobs.enqueue("notify", {"record_id": 7}, conn=conn)
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.database import write_transaction
from engine.errors import Conflict, NotFound
from engine.jobs import store
from engine.jobs.leases import LeaseKeeper
from engine.jobs.registry import JobHandler, load_handlers
from engine.jobs.runner import run_claimed
from engine.jobs.scheduler import Scheduler, Waker
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger("anju.jobs")
CLAIM_BATCH = 20
IDLE_POLL_SECONDS = 0.05


class Jobs:
    """Enqueue, inspect and run jobs; `create_jobs(runtime)` picks the back-end."""

    backend = "base"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings: Settings = runtime.settings
        self.handlers: Mapping[str, JobHandler] = load_handlers(
            runtime.settings, runtime.extensions.job_modules
        )
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"
        self.leases = LeaseKeeper(runtime.engine, runtime.settings.job_lease_seconds)
        self.scheduler = Scheduler(self)
        self.waker = Waker()  # wakes whoever acts on new jobs: the worker, or the dispatcher
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scheduler_wakers: list[Waker] = []

    @property
    def engine(self) -> sa.Engine:
        return self.runtime.engine

    def now(self) -> datetime:
        return self.runtime.clock.now()

    # enqueueing

    def enqueue(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        run_at: datetime | None = None,
        conn: sa.Connection | None = None,
        max_attempts: int | None = None,
        queue: str = "default",
    ) -> int:
        """Add a job and return its id.

        With `key`, a job with that key that already exists (in any status) is returned
        instead of adding one. With `conn`, the job is part of the caller's transaction: it
        exists, and runs, only once that commits. `run_at` (runtime clock) delays it."""
        job_args = self._checked(name, args, queue, max_attempts)
        now = self.now()
        values: dict[str, Any] = {
            "name": name,
            "args": job_args,
            "key": key,
            "queue": queue,
            "run_at": run_at or now,
            "max_attempts": max_attempts or self.settings.job_max_attempts,
            "now": now,
        }
        if conn is not None:
            job_id, new = store.insert_job(conn, **values)
            if new:
                sa.event.listen(conn, "commit", self._committed, once=True)
            return job_id
        with write_transaction(self.engine) as own:
            job_id, new = store.insert_job(own, **values)
        if new:
            self._enqueued(store.Pending(job_id, 0, queue), due=values["run_at"] <= now)
        return job_id

    def _checked(
        self, name: str, args: Mapping[str, Any] | None, queue: str, max_attempts: int | None
    ) -> dict[str, Any]:
        if name not in self.handlers:
            known = ", ".join(sorted(self.handlers)) or "none"
            raise ValueError(f"no job handler {name!r} (known: {known})")
        if queue not in self.settings.job_queues:
            raise ValueError(f"no queue {queue!r}; ANJU_JOB_QUEUES has {self.settings.job_queues}")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        job_args = dict(args or {})
        try:
            json.dumps(job_args)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"job {name}: arguments must be JSON: {exc}") from exc
        return job_args

    def _committed(self, _conn: sa.Connection) -> None:
        self.waker.wake_after_commit()

    def _enqueued(self, job: store.Pending, due: bool) -> None:
        """A job was committed by this process (the back-ends react)."""
        self.waker.wake()

    def dispatch(self) -> int:
        """Push due jobs the back-end has not been told about; the number pushed."""
        return 0

    # running

    def run_pending(
        self,
        limit: int | None = None,
        queues: Sequence[str] | None = None,
        stopping: threading.Event | None = None,
    ) -> int:
        """Run due jobs in the calling thread until none is left (or `limit` ran); the number
        run. For tests and benchmarks; workers run the same claim-and-run step. On the RQ
        back-end it bypasses Redis, which is harmless: a job runs for whoever claims it."""
        ran = 0
        while limit is None or ran < limit:
            now = self.now()
            batch = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - ran)
            with self.engine.connect() as conn:
                candidates = store.due_ids(conn, now, queues, batch)
            if not candidates:
                break
            for job_id in candidates:
                if stopping is not None and stopping.is_set():
                    return ran
                claim = self._claim(job_id, due_by=now)
                if claim is not None:
                    run_claimed(self, claim)
                    ran += 1
        return ran

    def _claim(
        self, job_id: int, due_by: datetime | None = None, attempts: int | None = None
    ) -> store.Claim | None:
        token = f"{self.worker_name}:{uuid.uuid4().hex[:12]}"
        with write_transaction(self.engine) as conn:
            return store.claim(
                conn,
                job_id,
                token,
                lease_until=self.leases.until(),
                now=self.now(),
                due_by=due_by,
                attempts=attempts,
            )

    def schedule(self) -> None:
        """One scheduler pass in the calling thread: periodic jobs, expired leases, dispatch."""
        self.scheduler.run_once()

    def start(self) -> None:
        """Start this back-end's threads in this process (`ANJU_JOB_THREADS`)."""
        raise NotImplementedError

    def work(self, queues: Sequence[str] | None = None) -> None:
        """Run a worker and a scheduler in the foreground until SIGTERM or SIGINT."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the threads and wait for a running job to finish."""
        self._stopping.set()
        for waker in (self.waker, *self._scheduler_wakers):
            waker.wake()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._scheduler_wakers.clear()
        self.leases.stop()
        self._stopping = threading.Event()

    def _start_thread(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_scheduler(self, waker: Waker) -> None:
        self._scheduler_wakers.append(waker)
        self._start_thread("anju-job-scheduler", self.scheduler.run_forever, self._stopping, waker)

    # operators' views

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is running or queued and due; False if `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            with self.engine.connect() as conn:
                busy = store.is_busy(conn, self.now())
            if not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(IDLE_POLL_SECONDS)

    def get(self, job_id: int) -> store.JobRecord | None:
        with self.engine.connect() as conn:
            return store.read_job(conn, job_id)

    def stats(self) -> dict[str, int]:
        """The number of jobs in each status: queued, running, done, dead."""
        with self.engine.connect() as conn:
            return store.counts(conn)

    def dead_letters(self, limit: int = 100) -> list[store.JobRecord]:
        """Jobs that failed their last attempt, newest first, with their last error."""
        with self.engine.connect() as conn:
            return store.dead_jobs(conn, limit)

    def retry(self, job_id: int) -> None:
        """Queue a dead job again, due now, with a fresh count of attempts."""
        with write_transaction(self.engine) as conn:
            queue = store.requeue_dead(conn, job_id, self.now())
            found = store.read_job(conn, job_id) if queue is None else None
        if found is not None:
            raise Conflict(f"job {job_id} is {found.status}, not dead")
        if queue is None:
            raise NotFound(f"no job {job_id}")
        self._enqueued(store.Pending(job_id, 0, queue), due=True)


def create_jobs(runtime: Runtime) -> Jobs:
    """The back-end `ANJU_JOBS_BACKEND` names; RQ is imported only when chosen."""
    if runtime.settings.jobs_backend == "rq":
        from engine.jobs.rq_backend import RqJobs

        return RqJobs(runtime)
    from engine.jobs.inprocess import InProcessJobs

    return InProcessJobs(runtime)
