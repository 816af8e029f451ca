"""Each record's timeline: who moved it, when, from which state to which, with what comment,
which fields changed, and what the checks said."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.flows.tables import history


def add_history(
    conn: sa.Connection,
    *,
    app: str,
    entity: str,
    record_id: int,
    flow: str,
    flow_version: int,
    kind: str,
    actor: str,
    at: datetime,
    transition: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    step: str | None = None,
    comment: str | None = None,
    changes: dict[str, Any] | None = None,
    checks: list[dict[str, Any]] | None = None,
) -> int:
    """One timeline row; returns its id (a state entry's id keys its tasks and timers)."""
    result = conn.execute(
        history.insert().values(
            app=app,
            entity=entity,
            record_id=record_id,
            flow=flow,
            flow_version=flow_version,
            kind=kind,
            transition=transition,
            from_state=from_state,
            to_state=to_state,
            step=step,
            actor=actor,
            at=at,
            comment=comment,
            changes=changes or None,
            checks=checks or None,
        )
    )
    key = result.inserted_primary_key
    assert key is not None, "an insert returns its key"
    return int(key[0])


def timeline(conn: sa.Connection, app: str, entity: str, record_id: int) -> list[dict[str, Any]]:
    """The record's history, oldest first."""
    rows = conn.execute(
        sa.select(history)
        .where(history.c.app == app, history.c.entity == entity, history.c.record_id == record_id)
        .order_by(history.c.id)
    ).mappings()
    return [_entry(row) for row in rows]


def _entry(row: Any) -> dict[str, Any]:
    entry = {key: row[key] for key in ("id", "kind", "transition", "from_state", "to_state")}
    entry |= {
        "step": row["step"],
        "actor": row["actor"],
        "at": row["at"],
        "comment": row["comment"],
        "changes": row["changes"] or {},
        "checks": row["checks"] or [],
        "flow_version": row["flow_version"],
    }
    return entry


def current_entry(conn: sa.Connection, app: str, entity: str, record_id: int) -> int | None:
    """The id of the row that brought the record into its present state."""
    query = sa.select(sa.func.max(history.c.id)).where(
        history.c.app == app,
        history.c.entity == entity,
        history.c.record_id == record_id,
        history.c.kind.in_(ENTRY_KINDS),
    )
    return conn.execute(query).scalar()


ENTRY_KINDS = ("create", "transition", "migrate")
