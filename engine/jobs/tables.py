"""The job table of migration 0004 as SQLAlchemy Core: the one source of truth for every job,
whichever back-end runs it."""

from __future__ import annotations

import sqlalchemy as sa

from engine.types import BigId, UTCDateTime

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
STATUSES = (QUEUED, RUNNING, DONE, DEAD)

metadata = sa.MetaData()
job_table = sa.Table(
    "anju_job",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("args", sa.JSON, nullable=False),
    sa.Column("key", sa.String(200), nullable=True),  # idempotency key: one job per key, ever
    sa.Column("queue", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),  # claims so far, the running one included
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_at", UTCDateTime(), nullable=False),  # due from then, by the runtime clock
    sa.Column("locked_by", sa.String(100), nullable=True),  # the lease token of the claim
    sa.Column("locked_until", UTCDateTime(), nullable=True),  # real UTC time
    sa.Column("last_error", sa.Text, nullable=True),  # "Type: message", safe to show
    sa.Column("traceback", sa.Text, nullable=True),  # for operators only
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("dispatched_at", UTCDateTime(), nullable=True),  # pushed to Redis (rq back-end)
    sa.Index("uq_anju_job_key", "key", unique=True),
    sa.Index("ix_anju_job_due", "status", "run_at"),
    sa.Index("ix_anju_job_lease", "status", "locked_until"),
)
