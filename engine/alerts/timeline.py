"""What happened to alerts: a timeline row per alert and action, and the audit trail.

A scan writes one audit entry per rule and action (`alert.open`, `alert.escalate`,
`alert.resolve`) listing the alerts it touched — a scan that opens thousands of alerts
adds three hash-chained entries, not thousands; a person's action is one entry each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.alerts.many_rows import id_list
from engine.alerts.tables import events
from engine.audit import AuditEvent, append
from engine.principal import SYSTEM, Principal
from engine.types import UTCDateTime

SYSTEM_ACTOR = SYSTEM.username


def add_events(
    conn: sa.Connection,
    alert_ids: Sequence[int],
    action: str,
    at: datetime,
    actor: str = SYSTEM_ACTOR,
    comment: str | None = None,
) -> None:
    """One timeline row per alert, all in one INSERT … SELECT (the ids are one JSON
    parameter, the rest literals)."""
    if not alert_ids:
        return
    given = id_list(conn, alert_ids).subquery()
    rows = sa.select(
        given.c.id,
        sa.literal(at, UTCDateTime()),
        sa.literal(actor, sa.String()),
        sa.literal(action, sa.String()),
        sa.literal(comment, sa.Text()),
    )
    columns = ("alert_id", "at", "actor", "action", "comment")
    conn.execute(events.insert().from_select(columns, rows))


def audit_scan(
    conn: sa.Connection,
    algorithm: str,
    rule: tuple[str, str],
    action: str,
    alert_ids: Sequence[int],
    record_ids: Sequence[int],
) -> None:
    """One audit entry for the alerts a scan opened, escalated or resolved."""
    if not alert_ids:
        return
    detail: dict[str, Any] = {
        "rule": f"{rule[0]}.{rule[1]}",
        "count": len(alert_ids),
        "alerts": list(alert_ids),
        "records": list(record_ids),
    }
    event = AuditEvent(
        f"alert.{action}", SYSTEM_ACTOR, f"alert_rule:{rule[0]}.{rule[1]}", None, detail
    )
    append(conn, event, algorithm)


def audit_action(
    conn: sa.Connection,
    algorithm: str,
    actor: Principal,
    action: str,
    alert_id: int,
    detail: dict[str, Any],
) -> None:
    """One audit entry for a person's action on one alert."""
    append(conn, AuditEvent.by(actor, f"alert.{action}", "alert", alert_id, detail), algorithm)
