"""The five-field cron parser: fields, ranges, steps, lists, the day-of-month/day-of-week
rule, next fire times in the settings' time zone, and errors naming the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from engine.alerts.cron import CronError, parse_cron

SHANGHAI = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("text", "minutes", "hours", "weekdays"),
    [
        ("* * * * *", set(range(60)), set(range(24)), set(range(7))),
        ("*/15 8-10 * * 1-5", {0, 15, 30, 45}, {8, 9, 10}, {1, 2, 3, 4, 5}),
        ("5,35 0 * * 0,7", {5, 35}, {0}, {0}),
        ("10-50/20 12 * * 6", {10, 30, 50}, {12}, {6}),
        ("7/20 * * * *", {7, 27, 47}, set(range(24)), set(range(7))),
    ],
)
def test_fields_parse_to_the_values_they_allow(
    text: str, minutes: set[int], hours: set[int], weekdays: set[int]
) -> None:
    cron = parse_cron(text)
    assert (set(cron.minutes), set(cron.hours), set(cron.weekdays)) == (minutes, hours, weekdays)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", "5 fields, not 4"),
        ("60 * * * *", "minute: 60 is outside 0–59"),
        ("* 24 * * *", "hour: 24 is outside 0–23"),
        ("* * 0 * *", "day of month: 0 is outside 1–31"),
        ("* * * 13 *", "month: 13 is outside 1–12"),
        ("* * * * 8", "day of week: 8 is outside 0–7"),
        ("*/0 * * * *", "minute: the step in '*/0' must be at least 1"),
        ("5-1 * * * *", "minute: the range '5-1' runs backwards"),
        ("a * * * *", "minute: 'a' is not a number"),
    ],
)
def test_a_bad_expression_names_the_field(text: str, message: str) -> None:
    with pytest.raises(CronError, match=re.escape(message)):
        parse_cron(text)


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        # 08:30 Shanghai on working days; from Saturday 17:00 local to Monday 08:30 local
        ("30 8 * * 1-5", datetime(2026, 11, 21, 9, 0, tzinfo=UTC), datetime(2026, 11, 23, 0, 30)),
        # strictly after: at 08:30 local on a Monday, the next is Tuesday's
        ("30 8 * * 1-5", datetime(2026, 11, 23, 0, 30, tzinfo=UTC), datetime(2026, 11, 24, 0, 30)),
        ("*/15 * * * *", datetime(2026, 1, 1, 0, 7, 30, tzinfo=UTC), datetime(2026, 1, 1, 0, 15)),
        # the first of the month at midnight local, i.e. 16:00 UTC the day before
        ("0 0 1 * *", datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 1, 31, 16, 0)),
        # both day fields restricted: the 13th, or any Friday, whichever comes first
        ("0 12 13 * 5", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 6, 4, 0)),
        ("0 0 29 2 *", datetime(2026, 3, 1, tzinfo=UTC), datetime(2028, 2, 28, 16, 0)),
    ],
)
def test_next_fire_time_in_the_settings_time_zone(
    text: str, after: datetime, expected: datetime
) -> None:
    assert parse_cron(text).next_after(after, SHANGHAI) == expected.replace(tzinfo=UTC)


def test_an_impossible_date_never_fires() -> None:
    assert parse_cron("0 0 31 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC), SHANGHAI) is None
