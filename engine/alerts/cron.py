"""Five-field cron expressions: `minute hour day-of-month month day-of-week`.

Each field is `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of
those. Day of week counts 0–6 from Sunday (7 is Sunday too). As in classic cron, when both
day fields are restricted a day matches if either does. Times are wall-clock times in the
settings' time zone::

    >>> cron = parse_cron("30 8 * * 1-5")          # 08:30 on working days
    >>> cron.next_after(datetime(2026, 11, 21, 9, tzinfo=UTC), "Asia/Shanghai")
    datetime.datetime(2026, 11, 23, 0, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
SEARCH_DAYS = 366 * 5  # `0 0 29 2 *` fires within four years; anything rarer never does


class CronError(ValueError):
    """A cron expression that does not parse; the message names the field."""


@dataclass(frozen=True)
class Cron:
    """The allowed values of each field; `*_any` says the field was `*` (for the day rule)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_any: bool
    weekdays_any: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_any or self.weekdays_any:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, moment: datetime, timezone: str) -> datetime | None:
        """The first fire time strictly after `moment` (in UTC); None if there is none."""
        zone = ZoneInfo(timezone)
        local = moment.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)
        start = local + timedelta(minutes=1)
        day = start.date()
        for _ in range(SEARCH_DAYS):
            if self.matches_day(day):
                found = self._first_time(day, start)
                if found is not None:
                    return found.replace(tzinfo=zone).astimezone(UTC)
            day += timedelta(days=1)
        return None

    def _first_time(self, day: date, start: datetime) -> datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                candidate = datetime(day.year, day.month, day.day, hour, minute)
                if candidate >= start:
                    return candidate
        return None


def parse_cron(text: str) -> Cron:
    """Parse five whitespace-separated fields; raises `CronError` naming the bad field."""
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"a cron expression has 5 fields, not {len(parts)}")
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(v % 7 for v in values[4])
    return Cron(
        frozenset(values[0]),
        frozenset(values[1]),
        frozenset(values[2]),
        frozenset(values[3]),
        weekdays,
        days_any=parts[2] == "*",
        weekdays_any=parts[4] == "*",
    )


def _field(text: str, name: str, low: int, high: int) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        found |= _item(item, name, low, high)
    return found


def _item(item: str, name: str, low: int, high: int) -> set[int]:
    span, _, step_text = item.partition("/")
    step = 1
    if step_text:
        step = _number(step_text, name)
        if step < 1:
            raise CronError(f"{name}: the step in {item!r} must be at least 1")
    if span == "*":
        first, last = low, high
    elif "-" in span:
        start, _, end = span.partition("-")
        first, last = _number(start, name), _number(end, name)
        if first > last:
            raise CronError(f"{name}: the range {span!r} runs backwards")
    else:
        first = _number(span, name)
        last = high if step_text else first
    for value in (first, last):
        if not low <= value <= high:
            raise CronError(f"{name}: {value} is outside {low}–{high}")
    return set(range(first, last + 1, step))


def _number(text: str, name: str) -> int:
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number, `*`, a range or a step")
    return int(text)
