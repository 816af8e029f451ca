"""A new record enters its flow: the timeline's first row, then the initial state's entry
(actions, approval tasks, timers and automatic transitions), in the creating transaction."""

from __future__ import annotations

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.principal import Principal


def start_flow(
    conn: sa.Connection,
    entity: CompiledEntity,
    record_id: int,
    principal: Principal,
    language: str = "zh",
) -> None:
    # Imported here: the transition machinery writes records, and writing starts flows.
    from engine.flows.moves import Move
    from engine.flows.services import FlowServices
    from engine.flows.transitions import enter, finish, log
    from engine.records.sealing import unseal

    flow = entity.flow
    assert flow is not None, "only entities with a flow start one"
    table = entity.table
    row = (
        conn.execute(sa.select(*entity.select_columns).where(table.c.id == record_id))
        .mappings()
        .one()
    )
    record = unseal(entity, dict(row))
    services = FlowServices.of(entity)
    move = Move(conn, entity, flow, record_id, dict(record), principal, services.now(), services)
    move.language = language
    entry_id = log(move, "create", to_state=flow.initial)
    enter(move, flow.initial, entry_id)
    if move.changed or move.record["state"] != record["state"] or move.jobs:
        finish(move, record)
