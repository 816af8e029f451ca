"""A device's state as readers see it: online or not, when it was last heard from, its
latest values, and its counters (messages, values stored, payloads refused)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from iot.tables import device_states

NEVER_SEEN: dict[str, Any] = {
    "online": False,
    "last_seen": None,
    "last_ts": None,
    "values": {},
    "messages": 0,
    "points": 0,
    "rejected": 0,
    "last_reject": None,
    "online_since": None,
    "offline_since": None,
}


def ms_to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def datetime_to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def device_state(conn: sa.Connection, device_id: int) -> dict[str, Any]:
    """The device's state; a device never heard from is offline with no values.

    `last_seen` and `last_ts` are datetimes (UTC) here; `values` maps field → latest value."""
    return device_states_of(conn, [device_id])[device_id]


def device_states_of(conn: sa.Connection, device_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """`device_state` of several devices at once, by device id."""
    found = {device_id: dict(NEVER_SEEN, values={}) for device_id in device_ids}
    if not device_ids:
        return found
    query = sa.select(device_states).where(device_states.c.device_id.in_(list(device_ids)))
    for row in conn.execute(query):
        found[row.device_id] = {
            "online": bool(row.online),
            "last_seen": ms_to_datetime(row.last_seen),
            "last_ts": ms_to_datetime(row.last_ts),
            "values": orjson.loads(row.values) if row.values else {},
            "messages": row.messages,
            "points": row.points,
            "rejected": row.rejected,
            "last_reject": row.last_reject,
            "online_since": row.online_since,
            "offline_since": row.offline_since,
        }
    return found
