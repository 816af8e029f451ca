"""Each rule's scan state (`anju_alert_rule_state`): when it was last scanned, what matched,
when it is next due — and the claim that keeps several workers from scanning one rule twice.

A worker claims a due scan with a conditional UPDATE that moves `next_scan_at` on only if it
still holds the value the worker read; the claim and the scan commit together, so a second
worker's UPDATE (waiting on PostgreSQL's row lock, or on SQLite's write lock) finds the row
moved and scans nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.alerts.tables import dialect_insert, rule_states

Key = tuple[str, str]


def read_states(conn: sa.Connection) -> dict[Key, dict[str, Any]]:
    """Every rule's state by (app, rule)."""
    rows = conn.execute(sa.select(rule_states)).mappings()
    return {(row["app"], row["rule"]): dict(row) for row in rows}


def ensure_state(conn: sa.Connection, key: Key, schedule: str, next_scan_at: datetime) -> None:
    """Create the rule's state row if it has none (another worker may create it first)."""
    values = {"app": key[0], "rule": key[1], "schedule": schedule, "next_scan_at": next_scan_at}
    conn.execute(dialect_insert(conn, rule_states).values(**values).on_conflict_do_nothing())


def reschedule(conn: sa.Connection, key: Key, schedule: str, next_scan_at: datetime) -> None:
    """The schedule changed (a new definition version): the next scan follows the new one."""
    conn.execute(
        rule_states.update()
        .where(rule_states.c.app == key[0], rule_states.c.rule == key[1])
        .values(schedule=schedule, next_scan_at=next_scan_at)
    )


def claim(
    conn: sa.Connection, key: Key, seen: datetime | None, next_scan_at: datetime | None
) -> bool:
    """Move the rule's next scan from `seen` to `next_scan_at`; True if this caller did."""
    seen_clause = (
        rule_states.c.next_scan_at.is_(None) if seen is None else rule_states.c.next_scan_at == seen
    )
    result = conn.execute(
        rule_states.update()
        .where(rule_states.c.app == key[0], rule_states.c.rule == key[1], seen_clause)
        .values(next_scan_at=next_scan_at)
    )
    return result.rowcount == 1


def save_scan(conn: sa.Connection, key: Key, at: datetime, matched: int) -> None:
    """Record a finished scan (scheduled, manual or the first of a rule)."""
    values = {"last_scan_at": at, "last_matched": matched, "last_error": None}
    statement = dialect_insert(conn, rule_states).values(app=key[0], rule=key[1], **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["app", "rule"], set_=values))


def save_error(conn: sa.Connection, key: Key, at: datetime, error: str) -> None:
    conn.execute(
        rule_states.update()
        .where(rule_states.c.app == key[0], rule_states.c.rule == key[1])
        .values(last_error=f"{at.isoformat()}: {error}"[:2000])
    )
