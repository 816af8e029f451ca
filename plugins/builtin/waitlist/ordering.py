"""Queue order as a pure function: priority conditions given as data, sort keys with
directions, and the what-if comparison of two schemes. Nothing here reads a database.

A scheme (the PRH default is `PRH_SCHEME`):

    {"name": "prh",
     "conditions": [{"name": "disabled", "field": "has_disabled_member", "equals": true},
                    {"name": "long_wait", "field": "qualified_on", "older_than_months": 36},
                    {"name": "repeated_failure", "field": "lottery_failures", "at_least": 2}],
     "sort": [{"key": "rules_met", "direction": "desc"},
              {"key": "qualified_on"},
              {"key": "entry_order"}],
     "valid_until_field": "qualification_valid_until"}

Sort keys are `rules_met` (how many conditions an entry meets), `groups_met` (how many
distinct condition groups), `entry_order` (the entry's id: who came first) or any field of
the entry. Empty values sort last in either direction, and the entry's id breaks any tie,
so an order is always total and repeatable. An entry whose certificate expired before
`today` (the field `valid_until_field`) takes no place.

>>> ordering = order(entries, Scheme.model_validate(PRH_SCHEME), today=date(2026, 6, 1))
>>> [(p.entry["id"], p.position, p.met) for p in ordering.placed]
[(7, 1, ('disabled',)), (3, 2, ()), …]
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cmp_to_key
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Entry = Mapping[str, Any]
TESTS = ("equals", "at_least", "at_most", "older_than_months")
SPECIAL_KEYS = ("rules_met", "groups_met", "entry_order")


class Condition(BaseModel):
    """A priority condition on one field of an entry: exactly one of `equals`, `at_least`,
    `at_most` (numbers) or `older_than_months` (a date at least that many months before
    today). `group` gathers conditions into a priority group (default: its own name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40)
    field: str = Field(min_length=1, max_length=40)
    equals: bool | int | str | None = None
    at_least: int | float | None = None
    at_most: int | float | None = None
    older_than_months: int | None = Field(default=None, ge=0)
    group: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [name for name in TESTS if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(TESTS)} (got {given or 'none'})")
        return self

    @property
    def group_name(self) -> str:
        return self.group or self.name

    def met(self, entry: Entry, today: date) -> bool:
        value = entry.get(self.field)
        if "equals" in self.model_fields_set:
            return bool(value == self.equals)
        if value is None:
            return False
        if self.older_than_months is not None:
            return _as_date(value) <= months_before(today, self.older_than_months)
        number = Decimal(str(value))
        if self.at_least is not None:
            return number >= Decimal(str(self.at_least))
        return self.at_most is not None and number <= Decimal(str(self.at_most))


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=40)
    direction: Literal["asc", "desc"] = "asc"


class Scheme(BaseModel):
    """Priority conditions, sort keys in order, and the certificate-validity field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="scheme", max_length=60)
    conditions: list[Condition] = []
    sort: list[SortKey] = Field(min_length=1)
    valid_until_field: str | None = "qualification_valid_until"

    @model_validator(mode="after")
    def _names_unique(self) -> Scheme:
        names = [condition.name for condition in self.conditions]
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise ValueError(f"condition names must be unique: {', '.join(doubled)}")
        return self


PRH_SCHEME: dict[str, Any] = {
    "name": "prh",
    "conditions": [
        {"name": "disabled", "field": "has_disabled_member", "equals": True},
        {"name": "elderly", "field": "has_elderly_member", "equals": True},
        {"name": "hardship", "field": "minimum_living_allowance", "equals": True},
        {"name": "long_wait", "field": "qualified_on", "older_than_months": 36},
        {"name": "repeated_failure", "field": "lottery_failures", "at_least": 2},
    ],
    "sort": [
        {"key": "rules_met", "direction": "desc"},
        {"key": "qualified_on", "direction": "asc"},
        {"key": "entry_order", "direction": "asc"},
    ],
    "valid_until_field": "qualification_valid_until",
}


@dataclass(frozen=True)
class Placed:
    """An entry with its place in the queue (1 is the front) and the conditions it met."""

    entry: Entry
    position: int
    met: tuple[str, ...]


@dataclass(frozen=True)
class LeftOut:
    entry: Entry
    reason: str


@dataclass(frozen=True)
class Ordering:
    placed: list[Placed]
    left_out: list[LeftOut] = field(default_factory=list)

    def positions(self) -> dict[int, int]:
        return {placed.entry["id"]: placed.position for placed in self.placed}


def order(entries: Sequence[Entry], scheme: Scheme, today: date) -> Ordering:
    """The entries in queue order under `scheme` on `today`; each needs an `id`."""
    valid: list[Entry] = []
    left_out: list[LeftOut] = []
    for entry in entries:
        until = entry.get(scheme.valid_until_field) if scheme.valid_until_field else None
        if until is not None and _as_date(until) < today:
            left_out.append(LeftOut(entry, f"certificate expired on {_as_date(until)}"))
        else:
            valid.append(entry)
    met = {entry["id"]: _met(entry, scheme, today) for entry in valid}
    values = {entry["id"]: _sort_values(entry, scheme, met[entry["id"]]) for entry in valid}
    directions = [str(key.direction) for key in scheme.sort] + ["asc"]

    def compare(a: Entry, b: Entry) -> int:
        return _compare(values[a["id"]], values[b["id"]], directions)

    ranked = sorted(valid, key=cmp_to_key(compare))
    placed = [
        Placed(entry, position, tuple(c.name for c in met[entry["id"]]))
        for position, entry in enumerate(ranked, 1)
    ]
    return Ordering(placed, left_out)


def _met(entry: Entry, scheme: Scheme, today: date) -> list[Condition]:
    return [condition for condition in scheme.conditions if condition.met(entry, today)]


def _sort_values(entry: Entry, scheme: Scheme, met: list[Condition]) -> list[Any]:
    values: list[Any] = []
    for key in scheme.sort:
        if key.key == "rules_met":
            values.append(len(met))
        elif key.key == "groups_met":
            values.append(len({condition.group_name for condition in met}))
        elif key.key == "entry_order":
            values.append(entry["id"])
        else:
            values.append(entry.get(key.key))
    return values + [entry["id"]]


def _compare(left: list[Any], right: list[Any], directions: list[str]) -> int:
    """Key by key; an empty value after any other, whatever the direction."""
    for x, y, direction in zip(left, right, directions, strict=True):
        if x == y:
            continue
        if x is None or y is None:
            return 1 if x is None else -1
        result = -1 if x < y else 1
        return result if direction == "asc" else -result
    return 0


@dataclass(frozen=True)
class Shift:
    """One entry under two schemes; `moved_by` > 0 is closer to the front."""

    id: int
    old_position: int | None
    new_position: int | None
    met: tuple[str, ...]

    @property
    def moved_by(self) -> int | None:
        if self.old_position is None or self.new_position is None:
            return None
        return self.old_position - self.new_position

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "old_position": self.old_position,
            "new_position": self.new_position,
            "moved_by": self.moved_by,
            "rules_met": list(self.met),
        }


@dataclass(frozen=True)
class Simulation:
    shifts: list[Shift]

    def summary(self) -> dict[str, int]:
        moves = [s.moved_by for s in self.shifts if s.moved_by is not None]
        return {
            "entries": len(self.shifts),
            "moved_up": sum(1 for m in moves if m > 0),
            "moved_down": sum(1 for m in moves if m < 0),
            "unchanged": sum(1 for m in moves if m == 0),
            "max_move": max((abs(m) for m in moves), default=0),
            "entering": sum(1 for s in self.shifts if s.old_position is None and s.new_position),
            "leaving": sum(1 for s in self.shifts if s.new_position is None and s.old_position),
        }

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "entries": [s.as_json() for s in self.shifts]}


def simulate(entries: Sequence[Entry], current: Scheme, changed: Scheme, today: date) -> Simulation:
    """What `changed` would do to the queue `current` gives: every entry's old and new
    position, in the new order (entries without a new place last, by id)."""
    before = order(entries, current, today).positions()
    after = order(entries, changed, today)
    shifts = [
        Shift(p.entry["id"], before.get(p.entry["id"]), p.position, p.met) for p in after.placed
    ]
    shifts += [
        Shift(out.entry["id"], before.get(out.entry["id"]), None, ())
        for out in sorted(after.left_out, key=lambda out: out.entry["id"])
    ]
    return Simulation(shifts)


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, or the month's last day if it has no such day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
