"""Working days: weekends, public holidays and the weekend days worked in exchange (调休),
from a `calendar` definition."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_WORKING_DAYS = 3660  # add_working_days looks at most ten years ahead


@dataclass(frozen=True)
class WorkingCalendar:
    """`weekend` holds ISO weekdays (6 = Saturday, 7 = Sunday)."""

    weekend: frozenset[int] = frozenset({6, 7})
    holidays: tuple[date, ...] = ()  # days off that fall on weekdays, sorted
    workdays: tuple[date, ...] = ()  # weekend days that are worked, sorted
    _off: frozenset[date] = field(default=frozenset(), repr=False)
    _on: frozenset[date] = field(default=frozenset(), repr=False)

    @classmethod
    def build(
        cls, weekend: Iterable[int], holidays: Iterable[date], workdays: Iterable[date]
    ) -> WorkingCalendar:
        weekend_days = frozenset(weekend)
        off = sorted({d for d in holidays if d.isoweekday() not in weekend_days})
        on = sorted({d for d in workdays if d.isoweekday() in weekend_days})
        return cls(weekend_days, tuple(off), tuple(on), frozenset(off), frozenset(on))

    def is_working_day(self, day: date) -> bool:
        if day in self._on:
            return True
        return day.isoweekday() not in self.weekend and day not in self._off

    def count(self, first: date, last: date) -> int:
        """Working days from `first` to `last`, both included (0 when last < first)."""
        if last < first:
            return 0
        days = (last - first).days + 1
        weeks, rest = divmod(days, 7)
        working = weeks * (7 - len(self.weekend))
        for offset in range(rest):
            if (first + timedelta(days=weeks * 7 + offset)).isoweekday() not in self.weekend:
                working += 1
        working -= bisect_right(self.holidays, last) - bisect_left(self.holidays, first)
        working += bisect_right(self.workdays, last) - bisect_left(self.workdays, first)
        return working


def working_days_between(calendar: WorkingCalendar, start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative when end is earlier."""
    if end >= start:
        return calendar.count(start + timedelta(days=1), end)
    return -calendar.count(end + timedelta(days=1), start)


def add_working_days(calendar: WorkingCalendar, start: date, days: int) -> date | None:
    """The day on which `days` working days after `start` have passed (before it if negative).

    A publicity period of 7 working days starting on a Friday ends on the second Tuesday.
    """
    step = 1 if days >= 0 else -1
    remaining, current = abs(days), start
    for _ in range(MAX_WORKING_DAYS * 2):
        if remaining == 0:
            return current
        try:
            current += timedelta(days=step)
        except OverflowError:
            return None
        if calendar.is_working_day(current):
            remaining -= 1
    return None
