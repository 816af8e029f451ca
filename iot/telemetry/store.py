"""Telemetry writes: narrow points, refused payloads, and each device's state row.

Every write here is a bulk statement over a whole batch (one INSERT for all points, one for
all refusals, one UPDATE for all states), so a batch of a thousand messages costs a handful
of round trips rather than thousands.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from engine.catalog import Catalog
from iot.tables import device_states, rejects, telemetry
from iot.telemetry.upsert import insert_for, insert_rows

PAYLOAD_CHARS = 2000  # how much of a refused payload is kept
PointKey = tuple[int, str, int]  # device, field, ts


POINT_COLUMNS = ("device_id", "field", "ts", "value", "text")
Point = tuple[int, str, int, float | None, str | None]


def point_row(device_id: int, name: str, ts: int, value: Any) -> Point:
    """A value as one narrow row: numbers and booleans in `value`, strings in `text`."""
    if isinstance(value, str):
        return (device_id, name, ts, None, value)
    return (device_id, name, ts, float(value), None)


def insert_points(conn: sa.Connection, rows: Sequence[Point]) -> set[PointKey]:
    """Store the points, skipping any already stored (a device or broker sending a message
    twice); the keys of those actually written."""
    if not rows:
        return set()
    written = insert_rows(conn, telemetry, POINT_COLUMNS, rows, returning=POINT_COLUMNS[:3])
    return {(device_id, field, ts) for device_id, field, ts in written}


def payload_text(payload: Any) -> str | None:
    if payload is None:
        return None
    try:
        text = orjson.dumps(payload).decode()
    except TypeError:
        text = repr(payload)
    return text[:PAYLOAD_CHARS]


def insert_rejects(
    conn: sa.Connection,
    refused: Iterable[tuple[int | None, str | None, str, Any]],
    transport: str,
    received_at: datetime,
) -> None:
    """Keep refused payloads `(device_id, code, reason, payload)` for the device's owners."""
    rows = [
        {
            "device_id": device_id,
            "code": code,
            "transport": transport,
            "reason": reason,
            "payload": payload_text(payload),
            "received_at": received_at,
        }
        for device_id, code, reason, payload in refused
    ]
    if rows:
        conn.execute(rejects.insert(), rows)


@dataclass
class StateChange:
    """What a batch did to one device's state."""

    device_id: int
    device_type: str  # `app.type`
    values: dict[str, Any] = field(default_factory=dict)  # merged: the latest values
    last_ts: int | None = None
    seen: bool = False  # at least one message was accepted
    messages: int = 0
    points: int = 0
    rejected: int = 0
    last_reject: str | None = None


def lock_states(conn: sa.Connection, device_ids: Sequence[int]) -> dict[int, Any]:
    """The state rows of these devices, locked until the transaction ends (PostgreSQL; SQLite
    writers hold the database lock already)."""
    if not device_ids:
        return {}
    query = (
        sa.select(device_states)
        .where(device_states.c.device_id.in_(sorted(device_ids)))
        .with_for_update()
    )
    return {row.device_id: row for row in conn.execute(query)}


def create_states(conn: sa.Connection, missing: Sequence[tuple[int, str]]) -> None:
    """Empty state rows for devices heard from the first time (`(device_id, app.type)`)."""
    if not missing:
        return
    rows = [
        {
            "device_id": device_id,
            "device_type": device_type,
            "online": False,
            "values": "{}",
            "messages": 0,
            "points": 0,
            "rejected": 0,
        }
        for device_id, device_type in missing
    ]
    conn.execute(insert_for(conn, device_states).on_conflict_do_nothing(), rows)


def save_states(
    conn: sa.Connection, changes: Sequence[StateChange], known: dict[int, Any], now: datetime
) -> None:
    """Write each device's new state: values, counters, and back online when it was heard."""
    now_ms = int(now.timestamp() * 1000)
    rows = []
    for change in changes:
        old = known[change.device_id]
        heard = change.seen
        rows.append(
            {
                "b_device_id": change.device_id,
                "device_type": change.device_type,
                "values": orjson.dumps(change.values).decode(),
                "last_ts": change.last_ts,
                "last_seen": now_ms if heard else old.last_seen,
                "online": True if heard else old.online,
                "online_since": now if heard and not old.online else old.online_since,
                "offline_since": None if heard else old.offline_since,
                "messages": old.messages + change.messages,
                "points": old.points + change.points,
                "rejected": old.rejected + change.rejected,
                "last_reject": change.last_reject or old.last_reject,
            }
        )
    if rows:
        statement = device_states.update().where(
            device_states.c.device_id == sa.bindparam("b_device_id")
        )
        conn.execute(statement, rows)  # SET: every other key of the rows


def qualified_types(catalog: Catalog) -> dict[str, str]:
    """Each device type's name → `app.type`, as `anju_device_state.device_type` keeps it."""
    key = ("iot", "qualified_types")
    found = catalog.cache.get(key)
    if found is None:
        found = {
            name: f"{app}.{name}"
            for app, bundle in catalog.definitions.apps.items()
            for name in bundle.device_types
        }
        catalog.cache[key] = found
    return found  # type: ignore[no-any-return]
