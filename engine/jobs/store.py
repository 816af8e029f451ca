"""Every statement on `anju_job`: insert (idempotent by key), claim, finish, fail, lease
renewal and reaping, dispatch bookkeeping and the operators' views.

Each change is a single conditional UPDATE, so any number of workers and schedulers in any
number of processes can share one database: whoever's UPDATE matches the row wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.jobs.tables import DEAD, DONE, QUEUED, RUNNING, STATUSES, job_table

jobs = job_table.c


@dataclass(frozen=True)
class Claim:
    """A job this worker holds the lease of; `token` proves it in every later UPDATE."""

    id: int
    name: str
    args: dict[str, Any]
    attempt: int
    max_attempts: int
    token: str


@dataclass(frozen=True)
class JobRecord:
    """A job as operators and the API see it (no traceback)."""

    id: int
    name: str
    args: dict[str, Any]
    key: str | None
    queue: str
    status: str
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Pending:
    """A queued job waiting to be pushed to Redis."""

    id: int
    attempts: int
    queue: str


def insert_job(
    conn: sa.Connection,
    *,
    name: str,
    args: dict[str, Any],
    key: str | None,
    queue: str,
    run_at: datetime,
    max_attempts: int,
    now: datetime,
) -> tuple[int, bool]:
    """The job's id and whether it is new; with a key that exists already, the old job's id.

    ON CONFLICT DO NOTHING makes concurrent inserts of one key safe on both databases: the
    loser waits for the winner's transaction and then finds its row."""
    values = {
        "name": name,
        "args": args,
        "key": key,
        "queue": queue,
        "status": QUEUED,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at,
        "created_at": now,
    }
    if key is None:
        return conn.execute(job_table.insert().values(values).returning(jobs.id)).scalar_one(), True
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(job_table).values(values).on_conflict_do_nothing(index_elements=["key"])
    new_id = conn.execute(statement.returning(jobs.id)).scalar_one_or_none()
    if new_id is not None:
        return new_id, True
    return conn.execute(sa.select(jobs.id).where(jobs.key == key)).scalar_one(), False


def due_ids(
    conn: sa.Connection, now: datetime, queues: Sequence[str] | None, limit: int
) -> list[int]:
    """Queued jobs whose time has come, oldest first."""
    query = sa.select(jobs.id).where(jobs.status == QUEUED, jobs.run_at <= now)
    if queues is not None:
        query = query.where(jobs.queue.in_(queues))
    return list(conn.execute(query.order_by(jobs.run_at, jobs.id).limit(limit)).scalars())


def claim(
    conn: sa.Connection,
    job_id: int,
    token: str,
    *,
    lease_until: datetime,
    now: datetime,
    due_by: datetime | None = None,
    attempts: int | None = None,
) -> Claim | None:
    """Take a queued job (due by `due_by`, or still at `attempts`) or return None if another
    worker took it first."""
    conditions = [jobs.id == job_id, jobs.status == QUEUED]
    if due_by is not None:
        conditions.append(jobs.run_at <= due_by)
    if attempts is not None:
        conditions.append(jobs.attempts == attempts)
    statement = (
        job_table.update()
        .where(*conditions)
        .values(
            status=RUNNING,
            attempts=jobs.attempts + 1,
            locked_by=token,
            locked_until=lease_until,
            started_at=now,
        )
        .returning(jobs.name, jobs.args, jobs.attempts, jobs.max_attempts)
    )
    row = conn.execute(statement).one_or_none()
    if row is None:
        return None
    return Claim(job_id, row.name, row.args or {}, row.attempts, row.max_attempts, token)


def _held(job: Claim) -> list[sa.ColumnElement[bool]]:
    return [jobs.id == job.id, jobs.status == RUNNING, jobs.locked_by == job.token]


def mark_done(conn: sa.Connection, job: Claim, now: datetime) -> bool:
    """Finish a job this worker still holds; False if its lease was lost meanwhile."""
    statement = (
        job_table.update()
        .where(*_held(job))
        .values(status=DONE, finished_at=now, locked_until=None)
    )
    return conn.execute(statement).rowcount == 1


def record_failure(
    conn: sa.Connection,
    job: Claim,
    *,
    error: str,
    traceback: str,
    now: datetime,
    retry_at: datetime | None,
) -> bool:
    """Queue the job again at `retry_at`, or, with None, move it to the dead letters."""
    values: dict[str, Any] = {"last_error": error, "traceback": traceback, "locked_until": None}
    if retry_at is None:
        values.update(status=DEAD, finished_at=now)
    else:
        values.update(status=QUEUED, run_at=retry_at, locked_by=None, dispatched_at=None)
    return conn.execute(job_table.update().where(*_held(job)).values(values)).rowcount == 1


def renew_leases(conn: sa.Connection, tokens: Sequence[str], until: datetime) -> set[str]:
    """Extend the leases of running jobs; the tokens whose job is no longer held."""
    statement = (
        job_table.update()
        .where(jobs.status == RUNNING, jobs.locked_by.in_(tokens))
        .values(locked_until=until)
        .returning(jobs.locked_by)
    )
    return set(tokens) - set(conn.execute(statement).scalars())


def reap_expired(conn: sa.Connection, real_now: datetime) -> int:
    """Jobs whose worker stopped renewing its lease: queued again, or dead after their last
    attempt. The job keeps its attempt count, so the next claim is counted as a new attempt."""
    expired = [jobs.status == RUNNING, jobs.locked_until < real_now]
    error = sa.literal("LeaseExpired: worker ") + jobs.locked_by + " stopped during the job"
    dead = conn.execute(
        job_table.update()
        .where(*expired, jobs.attempts >= jobs.max_attempts)
        .values(
            status=DEAD, last_error=error, traceback=None, locked_until=None, finished_at=real_now
        )
    ).rowcount
    queued = conn.execute(
        job_table.update()
        .where(*expired)
        .values(
            status=QUEUED,
            last_error=error,
            traceback=None,
            locked_by=None,
            locked_until=None,
            dispatched_at=None,
        )
    ).rowcount
    return dead + queued


def undispatched(conn: sa.Connection, now: datetime, limit: int) -> list[Pending]:
    """Due jobs not yet pushed to Redis: enqueued in a caller's transaction, retried, or
    left behind by a process that died between its commit and its push."""
    query = (
        sa.select(jobs.id, jobs.attempts, jobs.queue)
        .where(jobs.status == QUEUED, jobs.dispatched_at.is_(None), jobs.run_at <= now)
        .order_by(jobs.run_at, jobs.id)
        .limit(limit)
    )
    return [Pending(*row) for row in conn.execute(query)]


def dispatched_before(conn: sa.Connection, moment: datetime, limit: int) -> list[Pending]:
    """Jobs pushed to Redis before `moment` that no worker has claimed yet."""
    query = (
        sa.select(jobs.id, jobs.attempts, jobs.queue)
        .where(jobs.status == QUEUED, jobs.dispatched_at < moment)
        .order_by(jobs.dispatched_at)
        .limit(limit)
    )
    return [Pending(*row) for row in conn.execute(query)]


def mark_dispatched(conn: sa.Connection, pushed: Sequence[Pending], real_now: datetime) -> None:
    """Only rows still in the state that was pushed: a job retried meanwhile needs a new push."""
    if not pushed:
        return
    conn.execute(
        job_table.update()
        .where(
            jobs.status == QUEUED,
            sa.tuple_(jobs.id, jobs.attempts).in_([(p.id, p.attempts) for p in pushed]),
        )
        .values(dispatched_at=real_now)
    )


def is_busy(conn: sa.Connection, now: datetime) -> bool:
    """Whether a job is running or queued and due."""
    due = sa.and_(jobs.status == QUEUED, jobs.run_at <= now)
    query = sa.select(jobs.id).where(sa.or_(jobs.status == RUNNING, due)).limit(1)
    return conn.execute(query).first() is not None


def counts(conn: sa.Connection) -> dict[str, int]:
    query = sa.select(jobs.status, sa.func.count()).group_by(jobs.status)
    found: dict[str, int] = {status: n for status, n in conn.execute(query)}
    return {status: int(found.get(status, 0)) for status in STATUSES}


def read_job(conn: sa.Connection, job_id: int) -> JobRecord | None:
    row = conn.execute(_records().where(jobs.id == job_id)).one_or_none()
    return JobRecord(**row._mapping) if row is not None else None


def dead_jobs(conn: sa.Connection, limit: int) -> list[JobRecord]:
    query = _records().where(jobs.status == DEAD).order_by(jobs.finished_at.desc(), jobs.id.desc())
    return [JobRecord(**row._mapping) for row in conn.execute(query.limit(limit))]


def _records() -> sa.Select[Any]:
    return sa.select(*(jobs[name] for name in JobRecord.__dataclass_fields__))


def requeue_dead(conn: sa.Connection, job_id: int, now: datetime) -> str | None:
    """A dead job queued again with a fresh count of attempts (its last error stays); its
    queue, or None if there is no such dead job."""
    statement = (
        job_table.update()
        .where(jobs.id == job_id, jobs.status == DEAD)
        .values(
            status=QUEUED,
            attempts=0,
            run_at=now,
            locked_by=None,
            locked_until=None,
            finished_at=None,
            dispatched_at=None,
        )
        .returning(jobs.queue)
    )
    queue: str | None = conn.execute(statement).scalar_one_or_none()
    return queue
