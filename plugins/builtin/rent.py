"""Public rental rent: monthly rent = rent standard (CNY/m² a month) × usable area, to the fen.

The public rental deck's contract form and rent account (seed 002, T2 and T5; DOMAIN.md)
show a unit of 43.0 m² usable area at a rent standard of 2.6 CNY/m² with a monthly rent of
111.8: 2.6 × 43.0 = 111.80. The product is rounded once, half up, to the fen (0.01 CNY).

The documents give no discount or surcharge on public rental rent itself: the talent
apartments' "70%-90% of market rent" is another product's price, and "market rent charged
back" after false declarations is a recovery, not a factor of this rent. So there is none.

Two forms, one rule:

- `monthly_rent(standard, area)` in Python, for other plugins (the lottery prices the units
  it offers with it); a negative input is a `ValueError`.
- `monthly_rent(standard, area)` in the expression language, with a SQL form, so that a
  computed field (`computed: monthly_rent(rent_standard, usable_area)`), a virtual field, a
  filter or a report computes it alike in Python, SQLite and PostgreSQL. There a negative
  input gives null rather than an error, as the database cannot raise one.

>>> monthly_rent(Decimal("2.6"), Decimal("43.0"))
Decimal('111.80')
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.expressions import Function
from engine.expressions.functions import DECIMALS, ArgumentProblem, SqlElement
from engine.expressions.types import Type, decimal
from plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from engine.expressions.sql import SqlContext
    from engine.expressions.typed import Typed
    from engine.settings import Settings

FEN = Decimal("0.01")


def monthly_rent(standard: Decimal, area: Decimal) -> Decimal:
    """Rent standard (CNY/m² a month) × usable area (m²), rounded half up to the fen."""
    if standard < 0:
        raise ValueError(f"the rent standard must not be negative (got {standard} CNY/m²)")
    if area < 0:
        raise ValueError(f"the usable area must not be negative (got {area} m²)")
    return (Decimal(standard) * Decimal(area)).quantize(
        FEN, rounding=ROUND_HALF_UP, context=DECIMALS
    )


def _rent_or_null(standard: Decimal | int, area: Decimal | int) -> Decimal | None:
    """The expression language's form: null, not an error, for a negative input."""
    if standard < 0 or area < 0:
        return None
    return monthly_rent(Decimal(standard), Decimal(area))


def _returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    for index, kind in enumerate(types):
        if kind.kind not in ("integer", "decimal", "null"):
            what = ("the rent standard", "the usable area")[index]
            raise ArgumentProblem(index, f"{what} must be a number, not {kind}")
    return decimal(2, nullable=True)


def _sql(ctx: SqlContext, args: list[SqlElement], types: list[Type]) -> SqlElement:
    standard, area = args
    product = standard * area
    if ctx.sqlite:
        # doubles: back to the exact product's places first, then half up to the fen
        places = sum(t.scale for t in types)
        rent = sa.func.anju_round(sa.func.round(product, places), 2)
    else:
        rent = sa.func.round(sa.cast(product, sa.Numeric), 2)
    return sa.case((sa.or_(standard < 0, area < 0), sa.null()), else_=rent)


MONTHLY_RENT = Function(
    "monthly_rent",
    (2, 2),
    _returns,
    _rent_or_null,
    _sql,
    "rent standard (CNY/m² a month) × usable area, rounded half up to the fen; "
    "null if either is negative",
)


@hookimpl
def anju_functions(settings: Settings) -> list[Function]:
    return [MONTHLY_RENT]
