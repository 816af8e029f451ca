"""The sweep: commands whose time is up, looked at by a periodic job.

- QUEUED past `expires_at` → EXPIRED (the device never came to take it);
- AWAITING_APPROVAL past `expires_at` → its approval request is withdrawn, which expires the
  command (one transition, so the task leaves the approvers' inboxes with it);
- SENT past its acknowledgement deadline → sent again while attempts are left (MQTT: the
  sweep publishes it; HTTP: the device's next poll takes it), else TIMEOUT; an HTTP command
  whose device stops polling times out at `expires_at`;
- DELIVERED past its result deadline → TIMEOUT.

Every command it looks at is due by `(status, check_at)`, one indexed query.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.database import write_transaction
from engine.errors import AnjuError
from engine.flows.transitions import take_transition
from engine.principal import SYSTEM
from iot.commands.dispatch import publish, resend_messages
from iot.commands.lifecycle import move
from iot.commands.service import REQUEST_ENTITY
from iot.tables import AWAITING_APPROVAL, DELIVERED, EXPIRED, LIVE, QUEUED, SENT, TIMEOUT, commands

log = logging.getLogger("anju.iot")
BATCH = 500


def sweep(runtime: Any, catalog: Catalog, limit: int = BATCH) -> dict[str, int]:
    """One pass over the due commands; how many were expired, timed out and sent again."""
    now = runtime.clock.now()
    counts = {"expired": 0, "timeout": 0, "resent": 0}
    waiting: list[int] = []
    messages: list[tuple[str, dict[str, Any]]] = []
    with write_transaction(runtime.engine) as conn:
        for command in _due(conn, now, limit):
            status = command["status"]
            if status == AWAITING_APPROVAL:
                if command["approval_id"] is not None:
                    waiting.append(command["approval_id"])
                else:
                    counts["expired"] += move(conn, catalog, command, EXPIRED, "system", now)
            elif status == QUEUED:
                counts["expired"] += move(conn, catalog, command, EXPIRED, "system", now)
            elif status == DELIVERED or _exhausted(command, now):
                detail = {"attempts": command["attempts"], "waited_for": _waited_for(status)}
                values = {"check_at": None, "error": f"no {_waited_for(status)} in time"}
                counts["timeout"] += move(
                    conn, catalog, command, TIMEOUT, "system", now, values, detail
                )
            else:  # SENT over MQTT with attempts left
                sent = resend_messages(conn, runtime, catalog, command, now)
                counts["resent"] += len(sent)
                messages += sent
    publish(runtime, messages)
    counts["expired"] += _withdraw(runtime, catalog, waiting)
    return counts


def _due(conn: sa.Connection, now: Any, limit: int) -> list[dict[str, Any]]:
    """Live commands past `check_at`, less HTTP ones whose device may still poll for a resend."""
    polled = sa.and_(
        commands.c.status == SENT,
        commands.c.transport == "http",
        commands.c.attempts < commands.c.max_attempts,
        commands.c.expires_at > now,
    )
    query = (
        sa.select(commands)
        .where(commands.c.status.in_(LIVE), commands.c.check_at <= now, ~polled)
        .order_by(commands.c.check_at)
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def _exhausted(command: dict[str, Any], now: Any) -> bool:
    return bool(command["attempts"] >= command["max_attempts"] or command["expires_at"] <= now)


def _waited_for(status: str) -> str:
    return "result" if status == DELIVERED else "acknowledgement"


def _withdraw(runtime: Any, catalog: Catalog, approval_ids: list[int]) -> int:
    """Withdraw the approval requests of expired commands (each its own transition)."""
    entity = catalog.entity(*REQUEST_ENTITY)
    if entity is None:
        return 0
    withdrawn = 0
    for approval_id in approval_ids:
        try:
            take_transition(
                runtime.engine,
                entity,
                approval_id,
                "withdraw",
                {"comment": "expired while awaiting approval"},
                SYSTEM,
            )
            withdrawn += 1
        except AnjuError as exc:  # decided meanwhile: the next sweep sees the new status
            log.info("approval %s of an expired command not withdrawn: %s", approval_id, exc)
    return withdrawn
