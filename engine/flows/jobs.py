"""Firing timers: the periodic sweep and the firing of one timer, each in its own transaction.

The sweep reads due timers through one index and fires them one by one; a timer fires at
most once because its row moves from `pending` to `fired` in the same transaction as the
transition it takes, so sweeps on several workers never double a move.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.database import write_transaction
from engine.errors import AnjuError
from engine.flows.actions import run_actions
from engine.flows.tables import timers
from engine.flows.timers import PENDING, due_timers
from engine.flows.transitions import finish, log, move_to, system_move
from engine.jobs import JobContext, periodic
from engine.principal import SYSTEM

SWEEP_SECONDS = 10.0  # how often the scheduler sweeps
SWEEP_BUDGET_SECONDS = 20.0  # one sweep stops after this long; the next window goes on
BATCH = 500
RETRY_AFTER = timedelta(hours=1)  # a timer whose transition was refused tries again


@dataclass
class SweepResult:
    moved: int = 0  # timers that took their transition
    fired: int = 0  # reminders, and timers whose condition did not hold
    skipped: int = 0
    failed: int = 0


@periodic("flows.sweep_timers", seconds=SWEEP_SECONDS)
def sweep_job(ctx: JobContext) -> None:
    sweep_timers(ctx.runtime.engine, ctx.runtime.require_catalog(), ctx.now())


def sweep_timers(
    engine: sa.Engine, catalog: Catalog, now: datetime, budget: float = SWEEP_BUDGET_SECONDS
) -> SweepResult:
    """Fire every timer due at `now` (within the time budget)."""
    result = SweepResult()
    started = time.monotonic()
    while time.monotonic() - started < budget:
        with engine.connect() as conn:
            due = due_timers(conn, now, BATCH)
        if not due:
            break
        for timer_id in due:  # a failed timer is put off by RETRY_AFTER: not due again here
            outcome = fire_timer(engine, catalog, timer_id, now)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def fire_timer(engine: sa.Engine, catalog: Catalog, timer_id: int, now: datetime) -> str:
    """`moved`, `fired` (a reminder), `skipped` (gone or already fired) or `failed` (the
    transition was refused; the timer stays pending and is logged on the record)."""
    try:
        with write_transaction(engine) as conn:
            return _fire(conn, catalog, timer_id, now)
    except AnjuError as exc:
        with write_transaction(engine) as conn:
            _note_failure(conn, catalog, timer_id, now, exc)
        return "failed"


def _fire(conn: sa.Connection, catalog: Catalog, timer_id: int, now: datetime) -> str:
    timer = (
        conn.execute(sa.select(timers).where(timers.c.id == timer_id, timers.c.status == PENDING))
        .mappings()
        .first()
    )
    if timer is None:
        return "skipped"
    entity = catalog.entity(timer["app"], timer["entity"])
    move = system_move(conn, entity, timer["record_id"], now) if entity and entity.flow else None
    taken = conn.execute(
        timers.update()
        .where(timers.c.id == timer_id, timers.c.status == PENDING)
        .values(status="fired" if move else "cancelled", fired_at=now)
    )
    if move is None or taken.rowcount != 1 or move.state != timer["state"]:
        return "skipped"
    original = dict(move.record)
    state = move.flow.state(move.state)
    found = [(i, t) for i, t in enumerate(state.timers if state else []) if t.name == timer["name"]]
    if not found:
        return "skipped"  # the flow no longer has this timer
    index, definition = found[0]
    run_actions(move, ("states", move.state, "timers", index, "actions"), definition.actions)
    transition = move.flow.transition(definition.transition) if definition.transition else None
    if transition is None or transition.to is None:
        log(move, "reminder", SYSTEM, from_state=move.state, to_state=move.state, step=None)
        move.moves[-1]["timer"] = definition.name
        if move.changed:
            finish(move, original)
        return "fired"
    name = definition.transition
    assert name is not None
    guard = move.flow.expression("transitions", name, "when")
    if guard is not None and not guard.test(move.record, move.environment()):
        log(move, "reminder", SYSTEM, from_state=move.state, to_state=move.state)
        return "fired"
    run_actions(move, ("transitions", name, "actions"), transition.actions)
    move.comment = f"timer {definition.name}"
    move_to(move, name, transition.to, actor=SYSTEM)
    finish(move, original)
    return "moved"


def _note_failure(
    conn: sa.Connection, catalog: Catalog, timer_id: int, now: datetime, exc: AnjuError
) -> None:
    """Leave the timer pending, later, with the reason on the record's timeline."""
    timer: Any = conn.execute(sa.select(timers).where(timers.c.id == timer_id)).mappings().first()
    if timer is None:
        return
    conn.execute(timers.update().where(timers.c.id == timer_id).values(due_at=now + RETRY_AFTER))
    entity = catalog.entity(timer["app"], timer["entity"])
    move = system_move(conn, entity, timer["record_id"], now) if entity and entity.flow else None
    if move is not None:
        move.comment = f"timer {timer['name']} could not move the record: {exc.message}"
        log(move, "reminder", SYSTEM, from_state=move.state, to_state=move.state)
