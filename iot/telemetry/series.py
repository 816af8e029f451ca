"""One field of one device over a time range: the raw points, or hourly or daily buckets.

Raw points carry their value (`value`: a number, a boolean or a string as the field's type
says); buckets carry the average with the minimum and maximum, the count, and the first and
last value (for a cumulative meter, `last - first` is the use within the bucket).
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from engine.catalog import DEFAULT_TIMEZONE
from iot.tables import rollups, telemetry
from iot.telemetry.rollups import day_bucket, hour_bucket

Resolution = Literal["raw", "hour", "day"]
RESOLUTIONS: tuple[str, ...] = ("raw", "hour", "day")
PERIOD = {"hour": "h", "day": "d"}
MAX_POINTS = 10_000  # a series never returns more than this many points


def series(
    conn: sa.Connection,
    device_id: int,
    field: str,
    start_ms: int,
    end_ms: int,
    resolution: str,
    field_type: str = "number",
    zone: str = DEFAULT_TIMEZONE,
) -> list[dict[str, Any]]:
    """Points with `ts` (ms) from start_ms to end_ms (both included), oldest first; at most
    `MAX_POINTS`.

    `raw` gives `{"ts", "value"}`; `hour` and `day` give `{"ts", "avg", "min", "max",
    "count", "first", "last"}` for every bucket that overlaps the range, by its start (days
    begin at midnight in `zone`, the platform's time zone). `field_type` turns raw values
    back into booleans and whole numbers."""
    if resolution == "raw":
        return _raw(conn, device_id, field, start_ms, end_ms, field_type)
    if resolution not in PERIOD:
        raise ValueError(f"resolution is one of {', '.join(RESOLUTIONS)}, not {resolution!r}")
    first_bucket = hour_bucket(start_ms) if resolution == "hour" else day_bucket(start_ms, zone)
    query = (
        sa.select(rollups)
        .where(
            rollups.c.device_id == device_id,
            rollups.c.field == field,
            rollups.c.period == PERIOD[resolution],
            rollups.c.bucket >= first_bucket,
            rollups.c.bucket <= end_ms,
        )
        .order_by(rollups.c.bucket)
        .limit(MAX_POINTS)
    )
    return [
        {
            "ts": row["bucket"],
            "avg": row["sum"] / row["count"] if row["count"] else None,
            "min": row["min"],
            "max": row["max"],
            "count": row["count"],
            "first": row["first"],
            "last": row["last"],
        }
        for row in conn.execute(query).mappings()  # `count` is also a method of a Row
    ]


def _raw(
    conn: sa.Connection, device_id: int, field: str, start_ms: int, end_ms: int, field_type: str
) -> list[dict[str, Any]]:
    query = (
        sa.select(telemetry.c.ts, telemetry.c.value, telemetry.c.text)
        .where(
            telemetry.c.device_id == device_id,
            telemetry.c.field == field,
            telemetry.c.ts >= start_ms,
            telemetry.c.ts <= end_ms,
        )
        .order_by(telemetry.c.ts)
        .limit(MAX_POINTS)
    )
    rows = conn.execute(query)
    return [{"ts": ts, "value": _typed(value, text, field_type)} for ts, value, text in rows]


def _typed(value: float | None, text: str | None, field_type: str) -> Any:
    if text is not None or value is None:
        return text
    if field_type == "boolean":
        return value != 0
    if field_type == "integer":
        return int(value)
    return value
