"""Time buckets: a date or datetime cut into days, ISO weeks, months, quarters or years.

In SQL a bucket is its label — `2026-03-05`, `2026-W07`, `2026-03`, `2026-Q1`, `2026` —
computed per dialect (SQLite `strftime`, PostgreSQL `to_char`), datetimes first moved into
the settings' time zone. In Python a label gives the period before it (for changes) and
the range of dates it covers (for drill-down).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

PG_FORMATS = {
    "day": "YYYY-MM-DD",
    "week": 'IYYY-"W"IW',
    "month": "YYYY-MM",
    "quarter": 'YYYY-"Q"Q',
    "year": "YYYY",
}
SQLITE_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
LABEL = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "week": re.compile(r"^(\d{4})-W(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}


def bucket_sql(
    column: sa.ColumnElement[Any],
    bucket: str,
    kind: str,
    dialect: str,
    timezone: str,
    now: datetime,
) -> sa.ColumnElement[str]:
    """The bucket label of `column` (a date, or a UTC datetime shown in `timezone`)."""
    if dialect == "postgresql":
        local = sa.func.timezone(timezone, column) if kind == "datetime" else column
        return sa.func.to_char(local, PG_FORMATS[bucket])
    # SQLite has no time zones: a datetime is shifted by the zone's offset at `now` (exact
    # for zones without daylight saving, such as China's).
    modifiers: list[Any] = []
    if kind == "datetime":
        offset = now.astimezone(ZoneInfo(timezone)).utcoffset() or timedelta()
        modifiers = [f"{int(offset.total_seconds())} seconds"]
    if bucket in SQLITE_FORMATS:
        return sa.func.strftime(SQLITE_FORMATS[bucket], column, *modifiers)
    if bucket == "quarter":
        month = sa.cast(sa.func.strftime("%m", column, *modifiers), sa.Integer)
        return (
            sa.func.strftime("%Y", column, *modifiers) + "-Q" + sa.cast((month + 2) // 3, sa.String)
        )
    # ISO week: the Thursday of the date's week decides the year and the week number.
    thursday = sa.func.date(column, *modifiers, "-3 days", "weekday 4")
    week = sa.cast(sa.func.strftime("%j", thursday), sa.Integer)
    return sa.func.printf("%s-W%02d", sa.func.strftime("%Y", thursday), (week - 1) // 7 + 1)


def period_start(bucket: str, label: str) -> date | None:
    """The first day of the period a label names; None if it is not such a label."""
    found = LABEL[bucket].match(label)
    if found is None:
        return None
    numbers = [int(g) for g in found.groups()]
    try:
        match bucket:
            case "day":
                return date(*numbers)
            case "week":
                return date.fromisocalendar(numbers[0], numbers[1], 1)
            case "month":
                return date(numbers[0], numbers[1], 1)
            case "quarter":
                return date(numbers[0], 3 * numbers[1] - 2, 1)
        return date(numbers[0], 1, 1)
    except ValueError:
        return None


def period_end(bucket: str, start: date) -> date:
    """The first day after the period starting on `start`."""
    match bucket:
        case "day":
            return start + timedelta(days=1)
        case "week":
            return start + timedelta(days=7)
        case "month":
            return _add_months(start, 1)
        case "quarter":
            return _add_months(start, 3)
    return date(start.year + 1, 1, 1)


def label_of(bucket: str, day: date) -> str:
    """The label of the period holding `day`."""
    match bucket:
        case "day":
            return day.isoformat()
        case "week":
            year, week, _ = day.isocalendar()
            return f"{year}-W{week:02d}"
        case "month":
            return f"{day.year}-{day.month:02d}"
        case "quarter":
            return f"{day.year}-Q{(day.month + 2) // 3}"
    return str(day.year)


def earlier_label(bucket: str, label: str, compare: str) -> str | None:
    """The label of the period to compare with: the one before (`previous`), or the same one
    a year before (`year`)."""
    start = period_start(bucket, label)
    if start is None:
        return None
    if compare == "year":
        if bucket == "week":
            year, week = int(label[:4]) - 1, int(label[6:])
            weeks = date(year, 12, 28).isocalendar()[1]  # 52 or 53
            return f"{year}-W{min(week, weeks):02d}"
        return label_of(bucket, _add_months(start, -12))
    match bucket:
        case "day":
            return label_of(bucket, start - timedelta(days=1))
        case "week":
            return label_of(bucket, start - timedelta(days=7))
        case "month":
            return label_of(bucket, _add_months(start, -1))
        case "quarter":
            return label_of(bucket, _add_months(start, -3))
    return str(start.year - 1)


def datetime_range(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """A range of local days as UTC instants."""
    zone = ZoneInfo(timezone)
    low = datetime(start.year, start.month, start.day, tzinfo=zone).astimezone(UTC)
    high = datetime(end.year, end.month, end.day, tzinfo=zone).astimezone(UTC)
    return low, high


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
    return date(year, month + 1, min(day.day, last))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
