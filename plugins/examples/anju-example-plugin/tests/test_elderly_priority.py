"""The `elderly_priority` check: `gather` reads the household's members, `decide` judges
their dates of birth on the day given. Both are pure, so no database is needed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from anju_example.plugin import ELDERLY_PRIORITY, age_on, decide_priority, gather_members

from engine.flows.checks import CheckInput, rerun

TODAY = date(2026, 3, 2)


def members(*born: str | None) -> dict[str, Any]:
    rows = [{"member": 10 + i, "birth_date": b} for i, b in enumerate(born)]
    return {"household": 7, "members": rows}


@pytest.mark.parametrize(
    ("born", "params", "reasons"),
    [
        (("1966-03-02",), {}, ["家庭成员 #10 年满 60 周岁（60 岁），享受老年人优先"]),
        (("1966-03-03",), {}, []),  # 60 tomorrow
        (("1990-01-01", "1950-07-01"), {}, ["家庭成员 #11 年满 60 周岁（75 岁），享受老年人优先"]),
        (("1990-01-01", "2020-05-05"), {}, []),
        (
            ("1956-03-02",),
            {"elderly_age": 70},
            ["家庭成员 #10 年满 70 周岁（70 岁），享受老年人优先"],
        ),
        (("1960-01-01",), {"elderly_age": 70}, []),
        (("1950-01-01", None), {}, ["家庭成员 #10 年满 60 周岁（76 岁），享受老年人优先"]),
        ((None,), {}, []),  # no date of birth: nothing to judge
        ((), {}, []),  # no members registered
    ],
)
def test_a_member_of_elderly_age_gives_priority_and_no_one_else_does(
    born: tuple[str | None, ...], params: dict[str, Any], reasons: list[str]
) -> None:
    result = decide_priority(members(*born), params, TODAY)

    assert (result.passed, result.level, result.reasons) == (True, "green", reasons)


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(1966, 3, 2), date(2026, 3, 2), 60),
        (date(1966, 3, 2), date(2026, 3, 1), 59),
        (date(1964, 2, 29), date(2024, 2, 29), 60),
        (date(1964, 2, 29), date(2025, 2, 28), 60),
        (date(1965, 2, 28), date(2025, 2, 28), 60),
        (date(1964, 2, 29), date(2026, 2, 28), 61),
        (date(1966, 2, 28), date(2026, 2, 28), 60),
    ],
)
def test_age_counts_whole_years(born: date, today: date, age: int) -> None:
    assert age_on(born, today) == age


def test_gather_reads_the_members_of_the_applications_household() -> None:
    asked: list[tuple[str, str, int]] = []

    def related(path: str, field: str, record_id: int) -> list[dict[str, Any]]:
        asked.append((path, field, record_id))
        return [{"id": 3, "birth_date": date(1950, 5, 1)}, {"id": 4, "birth_date": None}]

    application = {"id": 1, "household": 7}
    inputs = gather_members(CheckInput(application, _no_lookup, related, {}, TODAY))

    assert asked == [("public_rental.household_member", "household", 7)]
    assert inputs == {
        "household": 7,
        "members": [{"member": 3, "birth_date": "1950-05-01"}, {"member": 4, "birth_date": None}],
    }


def test_gather_on_a_household_reads_its_own_members_from_the_entity_in_params() -> None:
    asked: list[tuple[str, str, int]] = []

    def related(path: str, field: str, record_id: int) -> list[dict[str, Any]]:
        asked.append((path, field, record_id))
        return []

    params = {"elderly_members": "centre.member"}
    inputs = gather_members(CheckInput({"id": 9, "name": "王"}, _no_lookup, related, params, TODAY))

    assert asked == [("centre.member", "household", 9)]
    assert inputs == {"household": 9, "members": []}


def test_an_application_without_a_household_has_no_members_to_read() -> None:
    def related(path: str, field: str, record_id: int) -> list[dict[str, Any]]:
        raise AssertionError("nothing to read")

    inputs = gather_members(
        CheckInput({"id": 1, "household": None}, _no_lookup, related, {}, TODAY)
    )

    assert inputs == {"household": None, "members": []}


def test_a_stored_decision_reruns_to_the_same_verdict() -> None:
    def related(path: str, field: str, record_id: int) -> list[dict[str, Any]]:
        return [{"id": 3, "birth_date": date(1950, 5, 1)}]

    params = {"elderly_age": 65}
    result = ELDERLY_PRIORITY.run(CheckInput({"household": 7}, _no_lookup, related, params, TODAY))
    stored = ELDERLY_PRIORITY.decision(result, params, TODAY, definitions=4)

    assert rerun(ELDERLY_PRIORITY, stored).same
    younger = {**stored, "params": {"elderly_age": 80}}
    assert not rerun(ELDERLY_PRIORITY, younger).same


def _no_lookup(path: str, record_id: int) -> dict[str, Any] | None:
    raise AssertionError("the check reads members only")
