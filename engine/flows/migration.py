"""Settling records when a flow is published: records of an entity that just got a flow
start in its initial state; records in states a new version removes move where its
`migrate` map says, entering their new state as a transition would (tasks, timers, entry
actions) with a timeline row saying why."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.flows.moves import Move
from engine.flows.services import FlowServices
from engine.flows.transitions import finish, move_to
from engine.flows.versions import Stranded, stranded
from engine.principal import SYSTEM
from engine.records.changes import records_changed
from engine.records.sealing import unseal


def settle_records(conn: sa.Connection, old: Catalog | None, new: Catalog) -> list[str]:
    """Lines for the publish's migration log."""
    lines: list[str] = []
    for entity in new.entities.values():
        flow = entity.flow
        if flow is None:
            continue
        table = entity.table
        started = conn.execute(
            table.update()
            .where(table.c.state.is_(None))
            .values(state=flow.initial, flow_version=flow.version)
        ).rowcount
        if started:
            records_changed(conn, entity, (), "update")  # every record without a state
            lines.append(f"{entity.path}: {started} records start the flow in {flow.initial}")
    now = datetime.now(UTC)
    for item in stranded(conn, old, new):
        if item.moved_to is not None:
            moved = _migrate(conn, item, now)
            lines.append(
                f"{item.entity.path}: {moved} records moved from {item.state} to {item.moved_to}"
            )
    return lines


def _migrate(conn: sa.Connection, item: Stranded, now: datetime) -> int:
    entity: CompiledEntity = item.entity
    flow = entity.flow
    assert flow is not None and item.moved_to is not None
    table = entity.table
    query = sa.select(*entity.select_columns).where(table.c.state == item.state)
    rows = [unseal(entity, dict(row)) for row in conn.execute(query).mappings()]
    for record in rows:
        move = Move(
            conn, entity, flow, record["id"], dict(record), SYSTEM, now, FlowServices.of(entity)
        )
        move.comment = f"moved by the state map of flow version {flow.version}"
        move_to(move, None, item.moved_to, kind="migrate")
        finish(move, record)
    return len(rows)
