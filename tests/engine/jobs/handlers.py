"""Job handlers for the jobs tests, imported through `ANJU_JOB_MODULES` by the test runtime
and by `run.py worker` subprocesses alike. Their effects are rows in `test_job_effect`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from engine.database import write_transaction
from engine.jobs import JobContext, job_handler
from engine.types import UTCDateTime

MODULE = __name__
metadata = sa.MetaData()
effects = sa.Table(
    "test_job_effect",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
)
switches = sa.Table("test_job_switch", metadata, sa.Column("name", sa.String(40), primary_key=True))


def create_tables(engine: sa.Engine) -> None:
    """The effect tables, under the write lock: job threads may be writing already, and a
    plain transaction that read the schema first would fail on SQLite instead of waiting."""
    with write_transaction(engine) as conn:
        metadata.create_all(conn)


def _effect(ctx: JobContext, label: str) -> dict[str, object]:
    return {"job_id": ctx.job_id, "label": label, "attempt": ctx.attempt, "at": ctx.now()}


@job_handler("record")
def record(ctx: JobContext, *, label: str) -> None:
    """The effect and the "done" mark in one transaction."""
    with ctx.complete() as conn:
        conn.execute(effects.insert().values(_effect(ctx, label)))


@job_handler("record_then_enqueue")
def record_then_enqueue(ctx: JobContext, *, label: str, then: str) -> None:
    """An effect, and a follow-up job enqueued in the same transaction."""
    with ctx.complete() as conn:
        conn.execute(effects.insert().values(_effect(ctx, label)))
        ctx.jobs.enqueue("record", {"label": then}, conn=conn)


@job_handler("flaky")
def flaky(ctx: JobContext, *, label: str, failures: int) -> None:
    """Notes each try as `try`, fails the first `failures` tries, then records `label`."""
    with ctx.runtime.engine.begin() as conn:
        conn.execute(effects.insert().values(_effect(ctx, "try")))
    if ctx.attempt <= failures:
        raise RuntimeError(f"attempt {ctx.attempt} fails on purpose")
    with ctx.complete() as conn:
        conn.execute(effects.insert().values(_effect(ctx, label)))


@job_handler("needs_switch")
def needs_switch(ctx: JobContext, *, label: str, switch: str) -> None:
    """Fails while the switch is off (no row in `test_job_switch`)."""
    with ctx.runtime.engine.connect() as conn:
        on = conn.execute(sa.select(switches.c.name).where(switches.c.name == switch)).first()
    if on is None:
        raise LookupError(f"switch {switch} is off")
    with ctx.complete() as conn:
        conn.execute(effects.insert().values(_effect(ctx, label)))


@job_handler("slow_first_attempt")
def slow_first_attempt(ctx: JobContext, *, label: str, marker: str, seconds: float) -> None:
    """Step one: append the attempt number and this process's id to the `marker` file. On the
    first attempt, sleep (the test kills the worker here). Step two: the effect, with
    `complete()`."""
    with Path(marker).open("a", encoding="utf-8") as notes:
        notes.write(f"{ctx.attempt} {os.getpid()}\n")
    if ctx.attempt == 1:
        time.sleep(seconds)
    with ctx.complete() as conn:
        conn.execute(effects.insert().values(_effect(ctx, label)))


@job_handler("quiet")
def quiet(ctx: JobContext, **_args: object) -> None:
    """Does nothing; the runner marks it done afterwards."""


def effect_rows(engine: sa.Engine) -> list[tuple[str, int]]:
    """(label, attempt) of every effect, in the order they were written."""
    with engine.connect() as conn:
        query = sa.select(effects.c.label, effects.c.attempt).order_by(effects.c.id)
        return [(label, attempt) for label, attempt in conn.execute(query)]
