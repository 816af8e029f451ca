"""What a job handler is given: the runtime, its job, the clock, and `complete()`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.database import write_transaction
from engine.jobs import store

if TYPE_CHECKING:
    from engine.jobs.service import Jobs
    from engine.runtime import Runtime


class LeaseLost(Exception):
    """This worker's lease on the job expired and another worker took it: the other worker's
    run counts, so this one must not write its result."""


class JobContext:
    """One run of one job, handed to its handler.

    `complete()` makes a job whose effect is a database write happen exactly once: the write
    and the "done" mark commit in one transaction, so a worker that dies before the commit
    leaves neither, and the job runs again after its lease expires::

        @job_handler("close_publicity")
        def close_publicity(ctx: JobContext, *, record_id: int) -> None:
            with ctx.complete() as conn:
                conn.execute(...)  # the effect
                ctx.jobs.enqueue("notify", {"record_id": record_id}, conn=conn)  # and a follow-up
    """

    def __init__(self, runtime: Runtime, claim: store.Claim) -> None:
        self.runtime = runtime
        self.job_id = claim.id
        self.attempt = claim.attempt  # 1 on the first run
        self.completed = False
        self._claim = claim

    @property
    def jobs(self) -> Jobs:
        return self.runtime.jobs

    def now(self) -> datetime:
        """The runtime clock's time (moved by tests and demos), not necessarily the real one."""
        return self.runtime.clock.now()

    @contextmanager
    def complete(self) -> Iterator[sa.Connection]:
        """A connection in a transaction that also marks the job done when it commits.

        Raises `LeaseLost` (rolling everything back) if another worker has taken the job."""
        if self.completed:
            raise RuntimeError(f"job {self.job_id}: complete() may be used once per run")
        with write_transaction(self.runtime.engine) as conn:  # SQLite: write lock at once
            yield conn
            if not store.mark_done(conn, self._claim, self.now()):
                raise LeaseLost(f"job {self.job_id} was taken by another worker")
        self.completed = True
