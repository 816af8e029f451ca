"""Timers: publicity periods, announcement periods and SLA reminders.

Entering a state schedules its timers as rows with a due moment; leaving it cancels them. A
sweep finds the due rows through one index and fires each in a transaction of its own, so
a timer fires once however many workers sweep.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.expressions.calendar import WorkingCalendar, add_working_days
from engine.flows.moves import Move
from engine.flows.tables import timers
from metamodel.flows import Timer

PENDING = "pending"


def schedule_timers(move: Move, state: str, entry_id: int) -> None:
    rows = timer_rows(move, state, entry_id)
    if rows:
        move.conn.execute(timers.insert(), rows)


def timer_rows(move: Move, state: str, entry_id: int) -> list[dict[str, Any]]:
    """The pending timers of `state`, due counted from the move's moment (`move.now`)."""
    definition = move.flow.state(state)
    if definition is None or not definition.timers:
        return []
    rows = []
    for index, timer in enumerate(definition.timers):
        length = _length(move, state, index, timer)
        if length is None:
            continue  # an expression gave no length: the timer is off for this record
        rows.append(
            {
                "app": move.entity.app,
                "entity": move.entity.name,
                "record_id": move.record_id,
                "flow": move.flow.name,
                "state": state,
                "entry_id": entry_id,
                "name": timer.name,
                "due_at": due_at(move, length, timer.unit),
                "status": PENDING,
            }
        )
    return rows


def _length(move: Move, state: str, index: int, timer: Timer) -> int | None:
    if isinstance(timer.after, int):
        return timer.after
    expression = move.flow.expression("states", state, "timers", index, "after")
    if expression is None:
        return None
    value = expression.evaluate(move.record, move.environment())
    return int(value) if value is not None else None


def due_at(move: Move, length: int, unit: str) -> datetime:
    """Hours count from now; days and working days end at midnight (local time) after the
    last day, so a 7-working-day publicity entered on Friday ends as the 2nd Tuesday ends."""
    if unit == "hours":
        return move.now + timedelta(hours=length)
    catalog = move.entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    zone = ZoneInfo(catalog.options.timezone)
    start = move.now.astimezone(zone).date()
    last = last_day(start, length, unit, move.entity.calendar)
    return datetime.combine(last + timedelta(days=1), time(), zone)


def last_day(start: date, length: int, unit: str, calendar: WorkingCalendar | None) -> date:
    if unit == "working_days":
        found = add_working_days(calendar or WorkingCalendar(), start, length)
        return found or start + timedelta(days=length)
    return start + timedelta(days=length)


def cancel_timers(move: Move) -> None:
    move.conn.execute(
        timers.update()
        .where(
            timers.c.app == move.entity.app,
            timers.c.entity == move.entity.name,
            timers.c.record_id == move.record_id,
            timers.c.status == PENDING,
        )
        .values(status="cancelled")
    )


def due_timers(conn: sa.Connection, now: datetime, limit: int = 1000) -> list[int]:
    """Ids of pending timers due at `now`, oldest first; one index range scan."""
    query = (
        sa.select(timers.c.id)
        .where(timers.c.status == PENDING, timers.c.due_at <= now)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def pending_timers(conn: sa.Connection, app: str, entity: str, record_id: int) -> list[Any]:
    query = (
        sa.select(timers.c.id, timers.c.name, timers.c.state, timers.c.due_at)
        .where(
            timers.c.app == app,
            timers.c.entity == entity,
            timers.c.record_id == record_id,
            timers.c.status == PENDING,
        )
        .order_by(timers.c.due_at)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
