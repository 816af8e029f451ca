"""The embedded back-end (`ANJU_JOBS_BACKEND=inprocess`): a worker thread and a scheduler
thread per process, with all state in the database.

Queued jobs and timers survive a restart because they are rows. Several processes may poll
one database (web workers, `run.py worker`): a job is claimed by one conditional UPDATE, so
each runs once. An enqueue in this process wakes the worker at once; jobs enqueued by other
processes are found by polling every `job_poll_seconds`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType

from engine.jobs.scheduler import Waker
from engine.jobs.service import CLAIM_BATCH, Jobs, log


class InProcessJobs(Jobs):
    backend = "inprocess"

    def start(self) -> None:
        if self._threads:
            return
        self._start_thread("anju-job-worker", self._work_forever, None, self._stopping)
        self._start_scheduler(Waker())

    def work(self, queues: Sequence[str] | None = None) -> None:
        stopping = self._stopping
        stop_on_signals(stopping, self.waker)
        self._start_scheduler(Waker())
        try:
            self._work_forever(queues, stopping)
        finally:
            self.stop()

    def _work_forever(self, queues: Sequence[str] | None, stopping: threading.Event) -> None:
        poll = self.settings.job_poll_seconds
        while not stopping.is_set():
            try:
                ran = self.run_pending(CLAIM_BATCH, queues, stopping)
            except Exception:  # e.g. the database is restarting; keep the worker alive
                log.exception("job worker pass failed")
                ran = 0
            if not ran:
                self.waker.wait(poll)


def stop_on_signals(stopping: threading.Event, waker: Waker) -> None:
    """SIGTERM or SIGINT finish the running job and stop; a second one stops at once."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        waker.wake()
        signal.signal(signum, signal.SIG_DFL)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
