"""The production back-end (`ANJU_JOBS_BACKEND=rq`): jobs are rows in the database, and due
jobs are pushed to Redis for `run.py worker` processes on any number of hosts.

Redis carries only `perform(job_id, attempts)`. The RQ job id is `<namespace>-<id>-<attempts>`,
so pushing the same state of a job twice is harmless (the second run finds the attempts
moved on and does nothing), and a retry is a new RQ job. Delays are ours, not RQ's: the
dispatcher (in every scheduler) pushes jobs when the runtime clock says they are due, which
keeps one notion of time for both back-ends and for tests that move a clock. The dispatcher
is also the outbox relay: a job enqueued in a caller's transaction, or whose process died
between its commit and its push, or that Redis lost, is pushed on the next pass.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.job import Job, JobStatus
from rq.queue import EnqueueData
from rq.worker import SimpleWorker

from engine.database import write_transaction
from engine.jobs import store
from engine.jobs.leases import real_now
from engine.jobs.runner import run_claimed
from engine.jobs.service import Jobs, log

if TYPE_CHECKING:
    from engine.runtime import Runtime

PERFORM = "engine.jobs.rq_backend.perform"
DISPATCH_BATCH = 500
PENDING = {s.value.encode() for s in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED)}
STOP_CHECK_SECONDS = 2  # an idle worker looks this often whether it was asked to stop


class StoppingWorker(SimpleWorker):
    """RQ's `SimpleWorker` that always stops on SIGTERM.

    RQ stops an idle worker by raising `StopRequested` from its signal handler, wherever the
    main thread happens to be. When that is a `__del__` (a Redis pipeline being collected),
    Python prints the exception and drops it, and the worker went on waiting for jobs. Here
    the request is also remembered, and an idle worker waits for jobs in short turns that
    end when a stop was asked for."""

    def _shutdown(self) -> None:
        self._stop_requested = True  # remembered, whatever becomes of the exception below
        super()._shutdown()

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """The next job, or None (the worker loop then ends) once a stop was asked for."""
        while not self._stop_requested:
            found = super().dequeue_job_and_maintain_ttl(STOP_CHECK_SECONDS, STOP_CHECK_SECONDS)
            if found is not None:
                return found
        raise StopRequested()


def rq_queue_name(namespace: str, queue: str) -> str:
    return f"{namespace}.{queue}"


def rq_job_id(namespace: str, job: store.Pending) -> str:
    return f"{namespace}-{job.id}-{job.attempts}"


class RqJobs(Jobs):
    backend = "rq"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.namespace = self.settings.redis_namespace
        self.redis = redis.Redis.from_url(self.settings.redis_url)
        self.queues = {name: self._queue(name) for name in self.settings.job_queues}

    def _queue(self, name: str) -> Queue:
        return Queue(rq_queue_name(self.namespace, name), connection=self.redis)

    def start(self) -> None:
        """In a web process: only the scheduler, whose dispatcher pushes jobs enqueued in
        callers' transactions at once (it is woken by their commit)."""
        if not self._threads:
            self._start_scheduler(self.waker)

    def stop(self) -> None:
        super().stop()
        self.redis.close()

    def _enqueued(self, job: store.Pending, due: bool) -> None:
        if not due:
            return  # the dispatcher pushes it when the clock reaches run_at
        try:
            self._push([job])
        except redis.RedisError:
            log.warning("Redis unavailable; job %s will be pushed by a scheduler", job.id)
            return
        with write_transaction(self.engine) as conn:
            store.mark_dispatched(conn, [job], real_now())

    def dispatch(self) -> int:
        """Push every due job Redis has not been given, and re-push jobs Redis lost."""
        pushed = 0
        lost = self._lost_by_redis()
        while True:
            with self.engine.connect() as conn:
                due = store.undispatched(conn, self.now(), DISPATCH_BATCH)
            batch = due + lost
            if not batch:
                return pushed
            self._push(batch)
            with write_transaction(self.engine) as conn:
                store.mark_dispatched(conn, batch, real_now())
            pushed += len(batch)
            lost = []
            if len(due) < DISPATCH_BATCH:
                return pushed

    def _lost_by_redis(self) -> list[store.Pending]:
        """Jobs pushed over a lease ago and still unclaimed whose RQ job will not run: gone
        (Redis restarted without persistence) or ended without claiming (`perform` failed,
        e.g. while the database was unreachable)."""
        moment = real_now() - self.leases.lease
        with self.engine.connect() as conn:
            waiting = store.dispatched_before(conn, moment, DISPATCH_BATCH)
        if not waiting:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            for job in waiting:
                pipe.hget(Job.key_for(rq_job_id(self.namespace, job)), "status")
            statuses = pipe.execute()
        return [job for job, status in zip(waiting, statuses, strict=True) if status not in PENDING]

    def _push(self, batch: Sequence[store.Pending]) -> None:
        by_queue: dict[str, list[store.Pending]] = defaultdict(list)
        for job in batch:
            by_queue[job.queue].append(job)
        with self.redis.pipeline() as pipe:
            for name, jobs in by_queue.items():
                queue = self.queues.get(name) or self._queue(name)
                queue.enqueue_many([self._rq_job(job) for job in jobs], pipeline=pipe)
            pipe.execute()

    def _rq_job(self, job: store.Pending) -> EnqueueData:
        # no RQ timeout: handlers run as long in both back-ends; leases cover dead workers
        return Queue.prepare_data(
            PERFORM,
            args=(job.id, job.attempts),
            job_id=rq_job_id(self.namespace, job),
            timeout=-1,
            result_ttl=0,
            description=f"anju job {job.id}",
        )

    def perform(self, job_id: int, attempts: int) -> None:
        """Claim the job if it is still at `attempts` and run it; a stale push does nothing."""
        claim = self._claim(job_id, attempts=attempts)
        if claim is None:
            log.debug("job %s: already taken or moved on; push ignored", job_id)
            return
        run_claimed(self, claim)

    def work(self, queues: Sequence[str] | None = None) -> None:
        """An RQ worker in the foreground plus the scheduler thread.

        The worker is RQ's `SimpleWorker`, which runs jobs in its own process instead of
        forking a child per job: the runtime (database pool, catalog, handlers) is built once
        and reused by every job, where a fork would copy open database connections into the
        child and rebuild everything per job. A crash loses only the running job's lease,
        after which a scheduler queues it again."""
        names = list(queues or self.settings.job_queues)
        use_runtime(self.runtime)
        self._start_scheduler(self.waker)
        try:
            served = [self.queues.get(name) or self._queue(name) for name in names]
            name = f"{self.namespace}.{uuid.uuid4().hex}"  # whose worker, in RQ's registry
            StoppingWorker(served, name=name, connection=self.redis).work(logging_level="WARNING")
        finally:
            self.stop()


_process_runtime: Runtime | None = None
_process_lock = threading.Lock()


def use_runtime(runtime: Runtime) -> None:
    """Make `runtime` the one `perform` uses in this process (`run.py worker` does this)."""
    global _process_runtime
    with _process_lock:
        _process_runtime = runtime


def process_runtime() -> Runtime:
    """The runtime of this worker process, built once from the `ANJU_*` environment.

    Module-level because RQ calls `perform` by its import path with nothing else to pass;
    one worker process serves one installation, so there is exactly one runtime to find."""
    global _process_runtime
    with _process_lock:
        if _process_runtime is None:
            from engine.runtime import Runtime
            from engine.settings import Settings

            runtime = Runtime.create(Settings(job_threads=False))
            runtime.start()
            _process_runtime = runtime
        return _process_runtime


def perform(job_id: int, attempts: int) -> None:
    """What RQ runs for every job: find this process's runtime and run the job there."""
    jobs = process_runtime().jobs
    if not isinstance(jobs, RqJobs):
        raise RuntimeError("this worker's ANJU_JOBS_BACKEND is not rq")
    jobs.perform(job_id, attempts)
