"""Bulk loading of many records at once, for demo data and imports: one executemany per batch."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.principal import Principal
from engine.records.changes import records_changed
from engine.records.sealing import seal
from engine.records.writing import new_row_stamp


def next_id(conn: sa.Connection, entity: CompiledEntity) -> int:
    return (conn.execute(sa.select(sa.func.max(entity.table.c.id))).scalar() or 0) + 1


def insert_rows(
    conn: sa.Connection, entity: CompiledEntity, rows: list[dict[str, Any]], principal: Principal
) -> int:
    """Insert rows already known to be valid (generated or checked elsewhere); sensitive
    values are sealed, and `org_id` is left for `assign_orgs`. With a flow, a row's `state`
    (default: the initial one) is kept, with no timeline, tasks or timers yet:
    `engine.flows.entering.enter_current_states` opens those once the organisations and
    users the tasks go to exist.

    A load is not a write of single records: the change listeners hear that rows of the
    entity changed (the data watermark moves) but get no ids, so on-change alert rules leave
    the new rows to their next scheduled scan — a load often runs before the organisations
    and users an alert would go to exist."""
    if not rows:
        return 0
    system = new_row_stamp(entity, principal)
    names = list(entity.stored_fields)
    conn.execute(
        entity.table.insert(),
        [
            {
                **system,
                **seal(entity, {n: row.get(n) for n in names}),
                **_flow_columns(entity, row),
                "id": row["id"],
            }
            for row in rows
        ],
    )
    records_changed(conn, entity, [], "create")
    return len(rows)


def _flow_columns(entity: CompiledEntity, row: dict[str, Any]) -> dict[str, Any]:
    if entity.flow is None:
        return {}
    return {
        "state": row.get("state") or entity.flow.initial,
        "flow_version": row.get("flow_version") or entity.flow.version,
    }


def reset_sequence(conn: sa.Connection, entity: CompiledEntity) -> None:
    """After explicit ids on PostgreSQL, move the id sequence past them."""
    if conn.dialect.name == "postgresql":
        name = entity.table.name
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f'(SELECT max(id) FROM "{name}"))'
            )
        )
