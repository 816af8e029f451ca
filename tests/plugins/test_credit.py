"""The credit plugin's arithmetic: base + additions − deductions over a period, and the lines of
the red and black lists (with the shipped params: base 100, red at 110 or more, black below
60). The documents give no point values (seed 001, L109); the rules here are illustrative."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plugins.builtin.credit import Event, Thresholds, assess, credit_level, credit_score

SHIPPED = Thresholds(base=Decimal(100), red_min=Decimal(110), black_below=Decimal(60))


def add(points: str, day: date | None = None) -> Event:
    return Event("add", Decimal(points), day)


def deduct(points: str, day: date | None = None) -> Event:
    return Event("deduct", Decimal(points), day)


@pytest.mark.parametrize(
    ("events", "score"),
    [
        ([], "100"),
        ([add("10"), add("5")], "115"),
        ([deduct("20"), deduct("15"), deduct("10")], "55"),
        ([add("10"), deduct("2.5")], "107.5"),
        ([deduct("20")] * 6, "-20"),  # not bounded below
    ],
)
def test_the_score_is_the_base_plus_additions_minus_deductions(
    events: list[Event], score: str
) -> None:
    assert credit_score(Decimal(100), events) == Decimal(score)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        ("110", "red"),  # at the red line
        ("109.99", "none"),
        ("100", "none"),
        ("60", "none"),  # at the black line: not below it
        ("59.99", "black"),
        ("-20", "black"),
        ("180", "red"),
    ],
)
def test_the_level_at_and_around_the_lines(score: str, level: str) -> None:
    assert credit_level(Decimal(score), SHIPPED.red_min, SHIPPED.black_below) == level


def test_only_the_events_of_the_period_count_both_ends_included() -> None:
    events = [
        deduct("20", date(2024, 12, 31)),
        add("10", date(2025, 1, 1)),
        add("5", date(2025, 12, 31)),
        deduct("15", date(2026, 1, 1)),
    ]
    assessment = assess(events, SHIPPED, date(2025, 1, 1), date(2025, 12, 31))
    assert (assessment.score, assessment.level) == (Decimal(115), "red")
    assert (assessment.additions, assessment.deductions) == (Decimal(15), Decimal(0))
    assert [e.occurred_on for e in assessment.events] == [date(2025, 1, 1), date(2025, 12, 31)]
    assert assessment.reason(SHIPPED, date(2025, 1, 1), date(2025, 12, 31)) == (
        "信用评价 2025-01-01 至 2025-12-31 得分 115.00（基础分 100，加分 15.00，扣分 0.00），"
        "不低于 110 分，列入红名单"
    )


def test_a_black_listed_enterprise_is_told_its_line() -> None:
    events = [deduct("20"), deduct("15"), deduct("10")]
    assessment = assess(events, SHIPPED)
    assert (assessment.score, assessment.level, assessment.deductions) == (
        Decimal(55),
        "black",
        Decimal(45),
    )
    assert assessment.reason(SHIPPED, date(2025, 1, 1), date(2025, 12, 31)).endswith(
        "得分 55.00（基础分 100，加分 0.00，扣分 45.00），低于 60 分，列入黑名单"
    )


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends"):
        assess([], SHIPPED, date(2025, 12, 31), date(2025, 1, 1))


def test_lines_that_would_put_a_score_on_both_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="black-list line .* is above the red-list line"):
        Thresholds(base=Decimal(100), red_min=Decimal(60), black_below=Decimal(110))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Event("add", Decimal(-5)), "never negative"),
        (Event("bonus", Decimal(5)), "'add' or 'deduct'"),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_event_is_refused(event: Event, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        credit_score(Decimal(100), [event])
