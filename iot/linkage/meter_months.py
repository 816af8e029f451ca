"""A meter's month from its daily rollups: the opening reading (the last one before the
month), the closing reading (the last one in it), the usage between, and whether a person
must look at it.

Daily rollups (`anju_telemetry_rollup`, period `d`, local days) keep each day's first,
last, min and max of the meter's cumulative field for ten years, while raw readings go after
thirty days — so a month can always be billed from them, even long after.

A cumulative counter only grows. A day whose first reading is below the day before's last,
or whose min is below its first, shows the meter was reset (or replaced): the usage is then
the sum of the growth that can be seen — a lower bound — and the month needs review. So
does a month with no readings at all. Usage is never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from iot.tables import rollups

DAILY = "d"
READING_PLACES = Decimal("0.001")
NO_READINGS = "本月无读数 / no readings this month"
WENT_BACK = (
    "表计读数回落（清零或换表），用量为可见增量 / "
    "the meter went back (reset or replaced): the usage counts the growth seen"
)


@dataclass(frozen=True)
class Month:
    """One calendar month in the platform's time zone, with its bounds in epoch ms."""

    first_day: date
    last_day: date
    start_ms: int
    end_ms: int  # the next month's start

    @classmethod
    def of(cls, year: int, month: int, timezone: str) -> Month:
        zone = ZoneInfo(timezone)
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        start = datetime(first.year, first.month, 1, tzinfo=zone)
        end = datetime(following.year, following.month, 1, tzinfo=zone)
        return cls(
            first_day=first,
            last_day=date.fromordinal(following.toordinal() - 1),
            start_ms=int(start.timestamp() * 1000),
            end_ms=int(end.timestamp() * 1000),
        )

    @classmethod
    def before(cls, moment: datetime, timezone: str) -> Month:
        """The month before the one `moment` falls in, locally."""
        local = moment.astimezone(ZoneInfo(timezone))
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return cls.of(year, month, timezone)

    @property
    def label(self) -> str:
        return f"{self.first_day.year}{self.first_day.month:02d}"


@dataclass(frozen=True)
class Day:
    """One daily rollup row of a cumulative field."""

    first: float
    last: float
    min: float
    max: float
    first_ts: int
    last_ts: int


@dataclass(frozen=True)
class MeterMonth:
    opening: Decimal | None
    opening_at: datetime | None
    closing: Decimal | None
    closing_at: datetime | None
    usage: Decimal | None
    review: str | None  # why a person must look at it, in both languages


def meter_month(opening: Day | None, days: Sequence[Day]) -> MeterMonth:
    """The month of one meter from the day before it (if any) and its days, oldest first."""
    if not days:
        return MeterMonth(
            opening=_reading(opening.last) if opening else None,
            opening_at=_moment(opening.last_ts) if opening else None,
            closing=None,
            closing_at=None,
            usage=None,
            review=NO_READINGS,
        )
    start_value, start_ts = (
        (opening.last, opening.last_ts) if opening else (days[0].first, days[0].first_ts)
    )
    usage, reset, previous = 0.0, False, start_value
    for day in days:
        reset = reset or day.first < previous or day.min < day.first
        usage += max(0.0, day.first - previous)  # between the days
        if day.min < day.first:  # reset during the day: up to its max, then up from its min
            usage += (day.max - day.first) + (day.last - day.min)
        else:
            usage += day.last - day.first
        previous = day.last
    return MeterMonth(
        opening=_reading(start_value),
        opening_at=_moment(start_ts),
        closing=_reading(days[-1].last),
        closing_at=_moment(days[-1].last_ts),
        usage=_reading(max(0.0, usage)),
        review=WENT_BACK if reset else None,
    )


def read_months(
    conn: sa.Connection, meters: dict[int, str], month: Month
) -> dict[int, tuple[Day | None, list[Day]]]:
    """Device id → (the day before the month, the month's days) of each meter's field
    (`meters`: device id → field), in two queries."""
    found: dict[int, tuple[Day | None, list[Day]]] = {device: (None, []) for device in meters}
    if not meters:
        return found
    fields = set(meters.values())
    mine = sa.and_(
        rollups.c.period == DAILY,
        rollups.c.device_id.in_(list(meters)),
        rollups.c.field.in_(fields),
    )
    in_month = (
        sa.select(rollups)
        .where(mine, rollups.c.bucket >= month.start_ms, rollups.c.bucket < month.end_ms)
        .order_by(rollups.c.device_id, rollups.c.bucket)
    )
    for row in conn.execute(in_month):
        if meters[row.device_id] == row.field:
            found[row.device_id][1].append(_day(row))
    latest = (
        sa.select(
            rollups.c.device_id, rollups.c.field, sa.func.max(rollups.c.bucket).label("bucket")
        )
        .where(mine, rollups.c.bucket < month.start_ms)
        .group_by(rollups.c.device_id, rollups.c.field)
        .subquery()
    )
    before = sa.select(rollups).join(
        latest,
        sa.and_(
            rollups.c.period == DAILY,
            rollups.c.device_id == latest.c.device_id,
            rollups.c.field == latest.c.field,
            rollups.c.bucket == latest.c.bucket,
        ),
    )
    for row in conn.execute(before):
        if meters[row.device_id] == row.field:
            found[row.device_id] = (_day(row), found[row.device_id][1])
    return found


def _day(row: Any) -> Day:
    return Day(row.first, row.last, row.min, row.max, row.first_ts, row.last_ts)


def _reading(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(READING_PLACES)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
