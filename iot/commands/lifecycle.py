"""Moving a command along `iot.tables.COMMAND_FLOW`, the one way its status ever changes.

Each move is a conditional UPDATE on (id, status, row_version): of two workers moving the
same command at once (a reply racing the sweep, two approvers), exactly one wins and the
other sees `False`. The winner writes an event row and an audit entry
(`device.command.<status>`) in the same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.audit import AuditEvent, append
from engine.catalog import Catalog
from engine.errors import Conflict
from iot.tables import COMMAND_FLOW, command_events, commands

STAMPS = {
    "queued": "queued_at",
    "sent": "sent_at",
    "delivered": "delivered_at",
    "succeeded": "finished_at",
    "failed": "finished_at",
    "timeout": "finished_at",
    "expired": "finished_at",
    "rejected": "finished_at",
    "cancelled": "finished_at",
}


def load_command(conn: sa.Connection, command_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(commands).where(commands.c.id == command_id)).mappings().first()
    return None if row is None else dict(row)


def move(
    conn: sa.Connection,
    catalog: Catalog,
    command: dict[str, Any],
    status: str,
    actor: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Move `command` (a row as read) to `status`, setting `values` too; False when someone
    else moved it first. A move the flow does not allow is a programming error (Conflict)."""
    allowed = COMMAND_FLOW.get(command["status"], ())
    if status not in allowed:
        raise Conflict(f"command {command['id']} is {command['status']}; it cannot become {status}")
    changes = {STAMPS[status]: now, **(values or {})}
    result = conn.execute(
        commands.update()
        .where(
            commands.c.id == command["id"],
            commands.c.status == command["status"],
            commands.c.row_version == command["row_version"],
        )
        .values(status=status, row_version=commands.c.row_version + 1, **changes)
    )
    if result.rowcount != 1:
        return False
    record_event(conn, catalog, command, status, actor, now, detail)
    return True


def record_event(
    conn: sa.Connection,
    catalog: Catalog,
    command: dict[str, Any],
    status: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    audited: bool = True,
    action: str | None = None,
) -> None:
    """An event row of the command (and its audit entry): a move, or something that changed
    nothing, such as a late reply (`audited=False` keeps a flood of those off the chain)."""
    text = json.dumps(detail, ensure_ascii=False, default=str) if detail else None
    conn.execute(
        command_events.insert().values(
            command_id=command["id"], at=now, status=status, actor=actor, detail=text
        )
    )
    if audited:
        event = AuditEvent(
            action=action or f"device.command.{status}",
            actor=actor,
            target="devices.device",
            record_id=command["device_id"],
            detail={"command_id": command["id"], "command": command["command"], **(detail or {})},
        )
        append(conn, event, catalog.options.audit_hash)
