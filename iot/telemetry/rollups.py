"""Hourly and daily rollups of numeric telemetry, kept up to date as readings arrive.

Each (device, field, period, bucket) row holds count, sum, min, max and the first and last
value with their times, so an average is `sum / count` and a cumulative meter's use over a
bucket is `last - first`. Hours are UTC; days are calendar days in the platform's time zone
(`settings.timezone`), because a bill or a chart of "Tuesday" means the local Tuesday.

Ingest aggregates a batch in Python first (thousands of points become one row per field and
bucket) and merges the result with one multi-row upsert per batch, in the same transaction as the
points themselves: the rollups never count a point that was not stored, or miss one that was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from iot.tables import rollups
from iot.telemetry.upsert import insert_rows, lesser_greater

HOUR_MS = 3_600_000
QUARTER_MS = 900_000  # every time zone's offset is a whole number of quarter hours
PERIODS = ("h", "d")


@dataclass
class Aggregate:
    """What one bucket of one field saw in this batch."""

    count: int
    sum: float
    min: float
    max: float
    first: float
    last: float
    first_ts: int
    last_ts: int

    @classmethod
    def of(cls, ts: int, value: float) -> Aggregate:
        return cls(1, value, value, value, value, value, ts, ts)

    def add(self, ts: int, value: float) -> None:
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if ts < self.first_ts:
            self.first, self.first_ts = value, ts
        if ts >= self.last_ts:
            self.last, self.last_ts = value, ts


RollupKey = tuple[int, str, str, int]  # device, field, period, bucket


def hour_bucket(ts: int) -> int:
    return ts - ts % HOUR_MS


def day_bucket(ts: int, zone: str) -> int:
    """The start (ms, UTC) of the local calendar day holding `ts`."""
    return _day_start(ts // QUARTER_MS, zone)


@lru_cache(maxsize=4096)
def _day_start(quarter: int, zone: str) -> int:
    tz = ZoneInfo(zone)
    local = datetime.fromtimestamp(quarter * QUARTER_MS / 1000, UTC).astimezone(tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    return int(midnight.timestamp() * 1000)


def aggregate(
    points: Iterable[tuple[int, str, int, float]], zone: str
) -> dict[RollupKey, Aggregate]:
    """Points `(device_id, field, ts, value)` summed up per field, period and bucket."""
    found: dict[RollupKey, Aggregate] = {}
    for device_id, field, ts, value in points:
        for key in (
            (device_id, field, "h", hour_bucket(ts)),
            (device_id, field, "d", day_bucket(ts, zone)),
        ):
            known = found.get(key)
            if known is None:
                found[key] = Aggregate.of(ts, value)
            else:
                known.add(ts, value)
    return found


COLUMNS: tuple[str, ...] = ("device_id", "field", "period", "bucket", "count", "sum")
COLUMNS += ("min", "max", "first", "last", "first_ts", "last_ts")


def merge_rollups(conn: sa.Connection, found: dict[RollupKey, Aggregate]) -> None:
    """Add a batch's aggregates to the stored rollups (one multi-row upsert)."""
    if not found:
        return
    rows = [
        (*key, a.count, a.sum, a.min, a.max, a.first, a.last, a.first_ts, a.last_ts)
        for key, a in sorted(found.items())
    ]
    insert_rows(conn, rollups, COLUMNS, rows, _on_conflict(conn))


def _on_conflict(conn: sa.Connection) -> str:
    """Merge a bucket's new aggregate into the stored one."""
    lesser, greater = lesser_greater(conn)
    old, new = rollups.name, "excluded"

    def both(column: str) -> tuple[str, str]:
        return f'{old}."{column}"', f'{new}."{column}"'

    count, sum_, min_, max_ = both("count"), both("sum"), both("min"), both("max")
    first, last, first_ts, last_ts = both("first"), both("last"), both("first_ts"), both("last_ts")
    return (
        'ON CONFLICT ("device_id", "field", "period", "bucket") DO UPDATE SET '
        f'"count" = {count[0]} + {count[1]}, '
        f'"sum" = {sum_[0]} + {sum_[1]}, '
        f'"min" = {lesser}({min_[0]}, {min_[1]}), '
        f'"max" = {greater}({max_[0]}, {max_[1]}), '
        f'"first" = CASE WHEN {first_ts[1]} < {first_ts[0]} THEN {first[1]} ELSE {first[0]} END, '
        f'"first_ts" = {lesser}({first_ts[0]}, {first_ts[1]}), '
        f'"last" = CASE WHEN {last_ts[1]} >= {last_ts[0]} THEN {last[1]} ELSE {last[0]} END, '
        f'"last_ts" = {greater}({last_ts[0]}, {last_ts[1]})'
    )
