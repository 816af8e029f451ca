"""Waitlist order as a pure function: PRH by qualification date with a valid certificate,
priority conditions first, sort keys and directions as data, and what a changed scheme would
do to the queue."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from plugins.builtin.waitlist.ordering import (
    PRH_SCHEME,
    Condition,
    Scheme,
    months_before,
    order,
    simulate,
)

TODAY = date(2026, 6, 1)
PRH = Scheme.model_validate(PRH_SCHEME)


def entry(entry_id: int, qualified_on: str, **values: Any) -> dict[str, Any]:
    return {
        "id": entry_id,
        "qualified_on": date.fromisoformat(qualified_on),
        "qualification_valid_until": date(2027, 12, 31),
        "has_disabled_member": False,
        "has_elderly_member": False,
        "minimum_living_allowance": False,
        "lottery_failures": 0,
        "household_size": 3,
        **values,
    }


def ids(entries: list[dict[str, Any]], scheme: Scheme = PRH) -> list[int]:
    return [placed.entry["id"] for placed in order(entries, scheme, TODAY).placed]


def test_prh_waits_in_the_order_of_qualification() -> None:
    queue = [entry(1, "2025-09-01"), entry(2, "2025-03-15"), entry(3, "2025-06-30")]
    ordering = order(queue, PRH, TODAY)
    assert [(p.entry["id"], p.position, p.met) for p in ordering.placed] == [
        (2, 1, ()),
        (3, 2, ()),
        (1, 3, ()),
    ]


def test_the_same_day_goes_by_order_of_entry() -> None:
    queue = [entry(9, "2025-05-20"), entry(4, "2025-05-20"), entry(6, "2025-05-20")]
    assert ids(queue) == [4, 6, 9]


def test_an_expired_certificate_takes_no_place() -> None:
    expired = entry(2, "2024-01-10", qualification_valid_until=date(2026, 5, 31))
    still_valid = entry(3, "2024-02-10", qualification_valid_until=TODAY)
    ordering = order([entry(1, "2025-01-01"), expired, still_valid], PRH, TODAY)
    assert [p.entry["id"] for p in ordering.placed] == [3, 1]
    [left_out] = ordering.left_out
    assert (left_out.entry["id"], left_out.reason) == (2, "certificate expired on 2026-05-31")


def test_families_meeting_more_priority_conditions_come_first() -> None:
    queue = [
        entry(1, "2024-08-01"),
        entry(2, "2025-10-01", has_disabled_member=True),
        entry(3, "2025-11-01", has_disabled_member=True, minimum_living_allowance=True),
        entry(4, "2025-12-01", lottery_failures=2),
        entry(5, "2022-05-01"),  # waited more than 36 months: long_wait
    ]
    ordering = order(queue, PRH, TODAY)
    assert [(p.entry["id"], p.met) for p in ordering.placed] == [
        (3, ("disabled", "hardship")),
        (5, ("long_wait",)),
        (2, ("disabled",)),
        (4, ("repeated_failure",)),
        (1, ()),
    ]


@pytest.mark.parametrize(
    "condition, value, met",
    [
        ({"field": "has_elderly_member", "equals": True}, True, True),
        ({"field": "has_elderly_member", "equals": True}, False, False),
        ({"field": "lottery_failures", "at_least": 2}, 2, True),
        ({"field": "lottery_failures", "at_least": 2}, 1, False),
        ({"field": "household_size", "at_most": 2}, 2, True),
        ({"field": "household_size", "at_most": 2}, 3, False),
        ({"field": "qualified_on", "older_than_months": 36}, date(2023, 6, 1), True),
        ({"field": "qualified_on", "older_than_months": 36}, date(2023, 6, 2), False),
        ({"field": "qualified_on", "older_than_months": 36}, None, False),
        ({"field": "remarks", "equals": None}, None, True),
    ],
)
def test_a_condition_tests_one_field(condition: dict[str, Any], value: Any, met: bool) -> None:
    parsed = Condition.model_validate({"name": "rule", **condition})
    assert parsed.met({"id": 1, condition["field"]: value}, TODAY) is met


@pytest.mark.parametrize(
    "condition",
    [
        {"name": "none", "field": "household_size"},
        {"name": "two", "field": "household_size", "at_least": 1, "at_most": 3},
    ],
)
def test_a_condition_gives_exactly_one_test(condition: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="give exactly one of"):
        Condition.model_validate(condition)


def test_condition_names_are_unique() -> None:
    twice = {"name": "x", "field": "household_size", "at_least": 1}
    with pytest.raises(ValidationError, match="unique: x"):
        Scheme.model_validate({"conditions": [twice, twice], "sort": [{"key": "entry_order"}]})


def test_sort_keys_and_directions_are_data() -> None:
    """Larger families first, then the earliest qualified; no conditions at all."""
    scheme = Scheme.model_validate(
        {
            "name": "large families",
            "sort": [
                {"key": "household_size", "direction": "desc"},
                {"key": "qualified_on"},
            ],
        }
    )
    queue = [
        entry(1, "2025-01-01", household_size=2),
        entry(2, "2025-06-01", household_size=5),
        entry(3, "2024-06-01", household_size=5),
        entry(4, "2023-01-01", household_size=None),  # unknown: last, whatever the direction
    ]
    assert ids(queue, scheme) == [3, 2, 1, 4]
    by_entry = Scheme.model_validate({"sort": [{"key": "entry_order", "direction": "desc"}]})
    assert ids(queue, by_entry) == [4, 3, 2, 1]


def test_groups_met_counts_a_group_once() -> None:
    scheme = Scheme.model_validate(
        {
            "conditions": [
                {"name": "disabled", "field": "has_disabled_member", "equals": True},
                {"name": "elderly", "field": "has_elderly_member", "equals": True},
                {
                    "name": "hardship",
                    "field": "minimum_living_allowance",
                    "equals": True,
                    "group": "poverty",
                },
                {
                    "name": "failures",
                    "field": "lottery_failures",
                    "at_least": 1,
                    "group": "poverty",
                },
            ],
            "sort": [{"key": "groups_met", "direction": "desc"}, {"key": "entry_order"}],
        }
    )
    queue = [
        entry(1, "2025-01-01", minimum_living_allowance=True, lottery_failures=3),  # 1 group
        entry(2, "2025-01-01", has_disabled_member=True, has_elderly_member=True),  # 2 groups
    ]
    assert ids(queue, scheme) == [2, 1]


def hardship_first() -> Scheme:
    changed = dict(PRH_SCHEME, name="hardship first")
    changed["sort"] = [
        {"key": "minimum_living_allowance", "direction": "desc"},
        *PRH_SCHEME["sort"],
    ]
    return Scheme.model_validate(changed)


def test_what_if_moves_the_right_entries() -> None:
    queue = [
        entry(1, "2024-01-01"),
        entry(2, "2024-02-01", has_disabled_member=True),
        entry(3, "2024-03-01"),
        entry(4, "2024-04-01", minimum_living_allowance=True, lottery_failures=2),
        entry(5, "2024-05-01", minimum_living_allowance=True),
    ]
    # PRH today: 4 (hardship, repeated failure), 2 (disabled), 5 (hardship), 1, 3
    simulation = simulate(queue, PRH, hardship_first(), TODAY)
    moves = [(s.id, s.old_position, s.new_position, s.moved_by) for s in simulation.shifts]
    assert moves == [
        (4, 1, 1, 0),
        (5, 3, 2, 1),
        (2, 2, 3, -1),
        (1, 4, 4, 0),
        (3, 5, 5, 0),
    ]
    assert simulation.summary() == {
        "entries": 5,
        "moved_up": 1,
        "moved_down": 1,
        "unchanged": 3,
        "max_move": 1,
        "entering": 0,
        "leaving": 0,
    }
    assert simulation.as_json()["entries"][1] == {
        "id": 5,
        "old_position": 3,
        "new_position": 2,
        "moved_by": 1,
        "rules_met": ["hardship"],
    }


def test_what_if_a_certificate_rule_is_dropped() -> None:
    queue = [
        entry(1, "2024-01-01", qualification_valid_until=date(2026, 1, 1)),
        entry(2, "2024-02-01"),
    ]
    lenient = Scheme.model_validate(dict(PRH_SCHEME, valid_until_field=None))
    simulation = simulate(queue, PRH, lenient, TODAY)
    assert [(s.id, s.old_position, s.new_position) for s in simulation.shifts] == [
        (1, None, 1),
        (2, 1, 2),
    ]
    assert simulation.summary()["entering"] == 1
    assert simulation.summary()["moved_down"] == 1
    back = simulate(queue, lenient, PRH, TODAY)
    assert [(s.id, s.new_position, s.moved_by) for s in back.shifts] == [
        (2, 1, 1),
        (1, None, None),
    ]
    assert back.summary()["leaving"] == 1


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (date(2026, 6, 1), 36, date(2023, 6, 1)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
        (date(2026, 1, 31), -1, date(2026, 2, 28)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected
