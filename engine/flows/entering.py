"""Entering a record's current state without moving it, for records loaded in bulk mid-flow
(demo data, imports): each gets what entering its state opens — the approval's first tasks,
for the assignees a real entry would pick, and the state's timers counted from the moment
the record entered the state — and none of the entry's actions: nothing is set, checked,
sent or created, and no automatic transition is taken. A timer already due fires at the
next sweep, as it would have.

Each record gets the first row of its timeline (`create`, by the system, at the moment it
entered, into its state); its tasks and timers hang on that row as on a real entry's. A
record with a timeline is left alone, so entering twice opens nothing twice. Records go in
batches, each one transaction with one insert per table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.database import write_transaction
from engine.flows.approvals import first_tasks
from engine.flows.history import ENTRY_KINDS
from engine.flows.moves import Move
from engine.flows.services import FlowServices
from engine.flows.tables import history, tasks, timers
from engine.flows.timers import timer_rows
from engine.flows.versions import flow_of_record
from engine.principal import SYSTEM
from engine.records.sealing import unseal

BATCH = 500

EnteredAt = Callable[[dict[str, Any]], datetime | None]
"""When a record entered its present state; None leaves it to the record's `updated_at`."""


def enter_current_states(
    engine: sa.Engine,
    entity: CompiledEntity,
    entered_at: EnteredAt | None = None,
    batch: int = BATCH,
) -> int:
    """Open the tasks and timers of `entity`'s records that rest, without a timeline, in a
    state with an approval or timers; returns how many records entered their state."""
    states = waiting_states(entity)
    entered, after = 0, 0
    while states:
        with write_transaction(engine) as conn:
            rows = _unentered(conn, entity, states, after, batch)
            if rows:
                _enter(conn, entity, rows, entered_at)
        if not rows:
            break
        entered += len(rows)
        after = rows[-1]["id"]
    return entered


def waiting_states(entity: CompiledEntity) -> list[str]:
    """The states of the entity's flow whose entry opens tasks or timers."""
    if entity.flow is None:
        return []
    states = entity.flow.definition.states
    return [name for name, state in states.items() if state.approval is not None or state.timers]


def _unentered(
    conn: sa.Connection, entity: CompiledEntity, states: list[str], after: int, batch: int
) -> list[dict[str, Any]]:
    """The next `batch` records after id `after` in one of `states` with no timeline."""
    table = entity.table
    entry = sa.exists().where(
        history.c.app == entity.app,
        history.c.entity == entity.name,
        history.c.record_id == table.c.id,
        history.c.kind.in_(ENTRY_KINDS),
    )
    query = (
        sa.select(*entity.select_columns)
        .where(table.c.state.in_(states), table.c.id > after, ~entry)
        .order_by(table.c.id)
        .limit(batch)
    )
    return [unseal(entity, dict(row)) for row in conn.execute(query).mappings()]


def _enter(
    conn: sa.Connection,
    entity: CompiledEntity,
    records: list[dict[str, Any]],
    entered_at: EnteredAt | None,
) -> None:
    services = FlowServices.of(entity)
    moves = []
    for record in records:
        moment = (entered_at(record) if entered_at else None) or record["updated_at"]
        flow = flow_of_record(conn, entity, record)
        moves.append(Move(conn, entity, flow, record["id"], record, SYSTEM, moment, services))
    inserted = conn.execute(
        history.insert().returning(history.c.id, sort_by_parameter_order=True),
        [_entry_row(move) for move in moves],
    )
    task_rows: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for move, entry_id in zip(moves, inserted.scalars().all(), strict=True):
        task_rows += first_tasks(move, move.state, entry_id) or []
        pending += timer_rows(move, move.state, entry_id)
    if task_rows:
        conn.execute(tasks.insert(), task_rows)
    if pending:
        conn.execute(timers.insert(), pending)


def _entry_row(move: Move) -> dict[str, Any]:
    """The timeline's first row: the record came into its state when it entered it."""
    return {
        "app": move.entity.app,
        "entity": move.entity.name,
        "record_id": move.record_id,
        "flow": move.flow.name,
        "flow_version": move.flow.version,
        "kind": "create",
        "to_state": move.state,
        "actor": SYSTEM.username,
        "at": move.now,
    }
