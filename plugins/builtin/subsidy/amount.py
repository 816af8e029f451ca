"""The subsidy formula (see the package's docstring) in Python, and in the expression
language with a SQL form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from engine.expressions import Function
from engine.expressions.functions import ArgumentProblem, SqlElement
from engine.expressions.types import decimal
from plugins.builtin.subsidy.tiers import Tier, fraction, not_negative, parse_tiers, pick_tier

if TYPE_CHECKING:
    from engine.expressions.sql import SqlContext
    from engine.expressions.typed import Typed
    from engine.expressions.types import Type

FEN = Decimal("0.01")
Basis = Literal["area", "person"]


def entitled_area(
    persons: int, area_per_person: Decimal, living_area: Decimal = Decimal(0)
) -> Decimal:
    """The area a subsidy is paid on: the household's entitlement less what it lives in now,
    never below nothing. 3 persons × 15 m² − 5 m² = 40 m²."""
    if persons < 1:
        raise ValueError(f"a household has at least one person (got {persons})")
    not_negative(area_per_person, "the area per person")
    not_negative(living_area, "the living area")
    return max(Decimal(0), persons * area_per_person - living_area)


def subsidy_amount(
    standard: Decimal,
    quantity: Decimal,
    ratio: Decimal,
    cap: Decimal | None = None,
    transition_ratio: Decimal | None = None,
) -> Decimal:
    """standard × quantity × ratio, at most `cap`, then × `transition_ratio`, half up to the
    fen. 1,000 × 1 × 0.9 = 900 → 800 with a cap of 800 → 400 with a transition ratio of 0.5."""
    not_negative(standard, "the subsidy standard")
    not_negative(quantity, "the quantity (persons or m²)")
    fraction(ratio, "the ratio")
    amount = Decimal(standard) * Decimal(quantity) * Decimal(ratio)
    if cap is not None:
        amount = min(amount, not_negative(cap, "the cap"))
    if transition_ratio is not None:
        amount *= fraction(transition_ratio, "the transition ratio")
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Subsidy:
    """A computed subsidy with everything that went into it, for the record and an audit."""

    amount: Decimal
    tier: Tier
    basis: Basis
    quantity: Decimal
    standard: Decimal
    cap: Decimal | None
    transition_ratio: Decimal | None

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.standard * self.quantity * self.tier.ratio > self.cap

    def explanation(self) -> str:
        """How the amount came about, in the words of the district's ledger."""
        unit = "元/人·月" if self.basis == "person" else "元/㎡·月"
        what = "人" if self.basis == "person" else "㎡"
        text = (
            f"补贴标准 {self.standard} {unit} × {self.quantity} {what} × 补贴比例 "
            f"{self.tier.ratio}（{self.tier.describe()}）"
        )
        if self.capped:
            text += f"，以上限 {self.cap} 元为准"
        if self.transition_ratio is not None:
            text += f"，过渡期按 {self.transition_ratio} 发放"
        return f"{text}，月补贴 {self.amount} 元"

    def as_json(self) -> dict[str, Any]:
        return {
            "amount": str(self.amount),
            "tier": self.tier.as_json(),
            "basis": self.basis,
            "quantity": str(self.quantity),
            "standard": str(self.standard),
            "cap": None if self.cap is None else str(self.cap),
            "capped": self.capped,
            "transition_ratio": _text(self.transition_ratio),
            "explanation": self.explanation(),
        }


def compute_subsidy(
    standard: Decimal,
    persons: int,
    tiers: Sequence[Tier],
    basis: Basis = "area",
    area_per_person: Decimal | None = None,
    living_area: Decimal = Decimal(0),
    income: Decimal | None = None,
    transition: bool = False,
    transition_ratio: Decimal | None = None,
) -> Subsidy:
    """Pick the household's tier, work out the quantity and the cap, and compute the amount."""
    tier = pick_tier(tiers, persons=persons, income=income)
    if basis == "person":
        quantity = Decimal(persons)
    elif basis == "area":
        if area_per_person is None:
            raise ValueError("an area-based subsidy needs the area entitlement per person")
        quantity = entitled_area(persons, area_per_person, living_area)
    else:
        raise ValueError(f"the basis is 'area' or 'person', not {basis!r}")
    caps = [tier.cap] if tier.cap is not None else []
    if tier.cap_per_person is not None:
        caps.append(tier.cap_per_person * persons)
    cap = min(caps) if caps else None
    if transition and transition_ratio is None:
        raise ValueError("a family in transition needs the transition ratio")
    reduction = transition_ratio if transition else None
    amount = subsidy_amount(standard, quantity, tier.ratio, cap, reduction)
    return Subsidy(amount, tier, basis, quantity, Decimal(standard), cap, reduction)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _maybe(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _amount_or_null(*args: Decimal | int | None) -> Decimal | None:
    standard, quantity, ratio, *rest = args
    if standard is None or quantity is None or ratio is None:
        return None
    cap, transition_ratio = (_maybe(v) for v in [*rest, None, None][:2])
    try:
        return subsidy_amount(
            Decimal(standard), Decimal(quantity), Decimal(ratio), cap, transition_ratio
        )
    except ValueError:  # the database cannot raise: a number out of range gives null there too
        return None


def _amount_returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    names = ("the standard", "the quantity", "the ratio", "the cap", "the transition ratio")
    for index, kind in enumerate(types):
        if kind.kind not in ("integer", "decimal", "null"):
            raise ArgumentProblem(index, f"{names[index]} must be a number, not {kind}")
    return decimal(2, nullable=True)


def _amount_sql(ctx: SqlContext, args: list[SqlElement], types: list[Type]) -> SqlElement:
    """The same steps in SQL; on SQLite each product goes back to its exact places first, as
    the engine's own arithmetic does, before `anju_round` rounds half up."""
    standard, quantity, ratio, *rest = args
    places = sum(t.scale for t in types[:3])
    amount = _exact(ctx, standard * quantity * ratio, places)
    checks = [standard < 0, quantity < 0, ratio < 0, ratio > 1]
    if rest:
        cap = rest[0]
        checks.append(cap < 0)
        amount = sa.case((cap.is_(None), amount), (amount > cap, cap), else_=amount)
        places = max(places, types[3].scale)
    if len(rest) > 1:
        reduction = rest[1]
        checks += [reduction < 0, reduction > 1]
        reduced = _exact(ctx, amount * reduction, places + types[4].scale)
        amount = sa.case((reduction.is_(None), amount), else_=reduced)
    if ctx.sqlite:
        rounded = sa.func.anju_round(amount, 2)
    else:
        rounded = sa.func.round(sa.cast(amount, sa.Numeric), 2)
    return sa.case((sa.or_(*checks), sa.null()), else_=rounded)


def _exact(ctx: SqlContext, product: SqlElement, places: int) -> SqlElement:
    return sa.func.round(product, places) if ctx.sqlite else product


def _ratio_returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    if types[0].kind not in ("json", "string", "null"):
        raise ArgumentProblem(0, f"the tiers must be a json field or text, not {types[0]}")
    if types[1].kind not in ("integer", "null"):
        raise ArgumentProblem(1, f"the number of persons must be a whole number, not {types[1]}")
    return decimal(4, nullable=True)


def _ratio_of(tiers: Any, persons: int) -> Decimal | None:
    """The ratio of the tier for `persons`, or null when no tier is for them."""
    try:
        return pick_tier(parse_tiers(tiers), persons=persons).ratio
    except LookupError:
        return None


SUBSIDY_AMOUNT = Function(
    "subsidy_amount",
    (3, 5),
    _amount_returns,
    _amount_or_null,
    _amount_sql,
    "standard × quantity × ratio, at most cap, then × transition ratio, half up to the fen; "
    "a null cap or transition ratio is none",
    propagate_nulls=False,
)
SUBSIDY_RATIO = Function(
    "subsidy_ratio",
    (2, 2),
    _ratio_returns,
    _ratio_of,
    None,
    "the ratio of the subsidy tier (json list) that a household of n persons falls in",
)
