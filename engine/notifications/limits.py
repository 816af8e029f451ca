"""Rate limits: per channel and recipient per hour, and per channel (the gateway) per second.

Each limit is a counter per scope and time window in `anju_notification_quota`, taken with one
`INSERT … ON CONFLICT DO UPDATE SET used = used + n RETURNING used` for a whole batch, so any
number of workers in any number of processes share it exactly. A row over a limit is not
dropped: it waits, queued, until the window after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.notifications.tables import quota
from engine.settings import Settings

HOUR, SECOND = 3600, 1


class Limited(Protocol):
    @property
    def channel(self) -> str: ...

    @property
    def recipient(self) -> str: ...


Row = TypeVar("Row", bound=Limited)
Waiting = list[tuple[Row, datetime]]


def take_quota(
    conn: sa.Connection, settings: Settings, rows: Sequence[Row], now: datetime
) -> tuple[list[Row], Waiting[Row]]:
    """The rows that may be sent now, and the others with the time their window ends.

    The recipient's hourly limit is taken first, so rows held back for a person do not use
    the gateway's per-second budget."""
    allowed, waiting = list(rows), []
    per_person = settings.notification_per_recipient_hour
    if per_person > 0 and allowed:
        allowed, held = _take(conn, allowed, _person, HOUR, per_person, now)
        waiting += held
    per_second = settings.notification_per_second
    if per_second > 0 and allowed:
        allowed, held = _take(conn, allowed, _gateway, SECOND, per_second, now)
        waiting += held
    return allowed, waiting


def _person(row: Limited) -> str:
    return f"{row.channel}:{row.recipient}"[:140]


def _gateway(row: Limited) -> str:
    return row.channel


def _take(
    conn: sa.Connection,
    rows: Sequence[Row],
    scope_of: Callable[[Limited], str],
    span: int,
    cap: int,
    now: datetime,
) -> tuple[list[Row], Waiting[Row]]:
    slot = int(now.timestamp()) // span
    window_end = datetime.fromtimestamp((slot + 1) * span, UTC)
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(scope_of(row), []).append(row)
    used = _count(conn, groups, slot, window_end + timedelta(seconds=span))
    allowed: list[Row] = []
    waiting: Waiting[Row] = []
    for scope, group in groups.items():
        before = used[scope] - len(group)
        granted = max(0, min(len(group), cap - before))
        allowed += group[:granted]
        waiting += [(row, window_end) for row in group[granted:]]
    return allowed, waiting


def _count(
    conn: sa.Connection, groups: dict[str, list[Row]], slot: int, expires_at: datetime
) -> dict[str, int]:
    """Add each scope's rows to its counter for `slot`; the counters after the addition."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = [
        {"scope": scope, "slot": slot, "used": len(group), "expires_at": expires_at}
        for scope, group in groups.items()
    ]
    statement = insert(quota)
    counting = statement.on_conflict_do_update(
        index_elements=[quota.c.scope, quota.c.slot],
        set_={"used": quota.c.used + statement.excluded.used},
    ).returning(quota.c.scope, quota.c.used)
    # executemany: one compiled statement (cached), sent as multi-row VALUES batches
    return {scope: int(count) for scope, count in conn.execute(counting, values)}


def purge_quota(conn: sa.Connection, now: datetime) -> int:
    """Forget the counters of windows long past; the number removed."""
    return conn.execute(quota.delete().where(quota.c.expires_at < now)).rowcount
