"""Subsidy tiers: the rows of a district's difference-subsidy table (差额补贴比例, by
people-count range or income band), read from JSON and matched against a household."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Tier:
    """One row of a district's difference-subsidy table: who it is for, and the ratio."""

    ratio: Decimal
    min_persons: int | None = None
    max_persons: int | None = None
    min_income: Decimal | None = None
    max_income: Decimal | None = None
    cap: Decimal | None = None  # CNY a month for the household
    cap_per_person: Decimal | None = None  # CNY a month for each person
    label: str = ""

    def matches(self, persons: int | None, income: Decimal | None) -> bool:
        """Persons within [min, max]; income within [min, max)."""
        if self.min_persons is not None or self.max_persons is not None:
            if persons is None:
                raise ValueError("the tiers are by household size: give the number of persons")
            if not _within(persons, self.min_persons, self.max_persons, inclusive=True):
                return False
        if self.min_income is not None or self.max_income is not None:
            if income is None:
                raise ValueError("the tiers are by income: give the per-capita income")
            if not _within(income, self.min_income, self.max_income, inclusive=False):
                return False
        return True

    def describe(self) -> str:
        """The tier in the ledger's words: `2-3 人`, `人均收入 2000-2800 元`."""
        parts = [self.label] if self.label else []
        if self.min_persons is not None or self.max_persons is not None:
            parts.append(f"{_span(self.min_persons, self.max_persons)} 人")
        if self.min_income is not None or self.max_income is not None:
            parts.append(f"人均收入 {_span(self.min_income, self.max_income)} 元")
        return "，".join(parts) or "全部家庭"

    def as_json(self) -> dict[str, Any]:
        kept = {k: v for k, v in asdict(self).items() if v is not None and v != ""}
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in kept.items()}


def parse_tiers(data: Any) -> list[Tier]:
    """Tiers from JSON text or a list of objects; a mistake names the tier and the key.

    >>> parse_tiers('[{"min_persons": 1, "max_persons": 2, "ratio": "0.9"}]')[0].ratio
    Decimal('0.9')
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the tiers are not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise ValueError("the tiers must be a non-empty list of objects")
    return [_tier(i, item) for i, item in enumerate(data, 1)]


def _tier(index: int, item: Any) -> Tier:
    where = f"tier {index}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be an object, not {item!r}")
    unknown = sorted(set(item) - {f.name for f in fields(Tier)})
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")
    if item.get("ratio") is None:
        raise ValueError(f"{where}: the ratio is missing")
    values: dict[str, Any] = {"label": str(item.get("label") or "")}
    for name in ("ratio", "min_income", "max_income", "cap", "cap_per_person"):
        if item.get(name) is not None:
            values[name] = number(item[name], f"{where}: {name}")
    for name in ("min_persons", "max_persons"):
        if item.get(name) is not None:
            if not isinstance(item[name], int) or isinstance(item[name], bool):
                raise ValueError(f"{where}: {name} must be a whole number")
            values[name] = item[name]
    tier = Tier(**values)
    try:
        fraction(tier.ratio, "the ratio")
        for name in ("min_income", "max_income", "cap", "cap_per_person"):
            if getattr(tier, name) is not None:
                not_negative(getattr(tier, name), name)
    except ValueError as problem:
        raise ValueError(f"{where}: {problem}") from None
    for low, high in (("min_persons", "max_persons"), ("min_income", "max_income")):
        bounds = (getattr(tier, low), getattr(tier, high))
        if None not in bounds and bounds[0] > bounds[1]:
            raise ValueError(f"{where}: {low} is above {high}")
    return tier


def pick_tier(
    tiers: Sequence[Tier], persons: int | None = None, income: Decimal | None = None
) -> Tier:
    """The one tier the household falls in. `LookupError` when none or several do.

    >>> pick_tier(parse_tiers('[{"max_persons": 2, "ratio": 1}, {"min_persons": 3, '
    ...     '"ratio": "0.9"}]'), persons=3).ratio
    Decimal('0.9')
    """
    found = [i for i, tier in enumerate(tiers, 1) if tier.matches(persons, income)]
    who = _household(persons, income)
    if not found:
        raise LookupError(f"no subsidy tier is for {who}")
    if len(found) > 1:
        numbers = " and ".join(str(i) for i in found)
        raise LookupError(f"tiers {numbers} overlap: both are for {who}")
    return tiers[found[0] - 1]


def _within(value: Any, low: Any, high: Any, inclusive: bool) -> bool:
    if low is not None and value < low:
        return False
    if high is None:
        return True
    return bool(value <= high if inclusive else value < high)


def _span(low: Any, high: Any) -> str:
    if low is None:
        return f"≤{high}"
    if high is None:
        return f"≥{low}"
    return f"{low}-{high}"


def _household(persons: int | None, income: Decimal | None) -> str:
    parts = [f"{persons} persons"] if persons is not None else []
    if income is not None:
        parts.append(f"a per-capita income of {income}")
    return " with ".join(parts) or "the household"


def number(value: Any, what: str) -> Decimal:
    """`value` (a number or its text) as a Decimal, or a ValueError naming `what`."""
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        found = Decimal("NaN")
    if isinstance(value, bool) or not found.is_finite():
        raise ValueError(f"{what} must be a number, not {value!r}")
    return found


def not_negative(value: Decimal | int, what: str) -> Decimal:
    if value < 0:
        raise ValueError(f"{what} must not be negative (got {value})")
    return Decimal(value)


def fraction(value: Decimal | int, what: str) -> Decimal:
    """A ratio: between 0 and 1, both included."""
    if not 0 <= value <= 1:
        raise ValueError(f"{what} must be between 0 and 1 (got {value})")
    return Decimal(value)
