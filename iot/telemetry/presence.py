"""Online and offline: a device is online from its first accepted message, and offline once
nothing has been heard from it for its type's `heartbeat`. Ingest brings a device back
online (`online_since`); the periodic sweep here takes it offline (`offline_since`). The
moves are kept in the state row only — at thousands of devices they are too many for the
audit chain, and they are facts about devices, not acts of people."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.catalog import Catalog
from iot.registry import device_types
from iot.tables import device_states
from iot.telemetry.state import datetime_to_ms
from iot.telemetry.store import qualified_types

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration_of(text: str) -> timedelta:
    """`30s`, `45m`, `2h`, `30d` (a device type's `Duration`) as a timedelta."""
    match = re.fullmatch(r"([1-9][0-9]*)([smhd])", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30s, 45m, 2h, 30d)")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def mark_offline(conn: sa.Connection, catalog: Catalog, now: datetime) -> int:
    """Take offline every online device silent for longer than its type's heartbeat; how
    many went offline."""
    now_ms = datetime_to_ms(now)
    qualified = qualified_types(catalog)
    moved = 0
    for name, spec in device_types(catalog).items():
        silent_since = now_ms - int(duration_of(spec.heartbeat).total_seconds() * 1000)
        result = conn.execute(
            device_states.update()
            .where(
                device_states.c.device_type == qualified[name],
                device_states.c.online.is_(True),
                device_states.c.last_seen < silent_since,
            )
            .values(online=False, offline_since=now)
        )
        moved += result.rowcount
    return moved
