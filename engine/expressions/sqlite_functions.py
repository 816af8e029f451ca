"""Functions registered on every SQLite connection so SQL results match the closures exactly.

SQLite stores decimals as doubles whose shortest form is the exact decimal (see
engine/types.py), so each function reads that form, computes in `Decimal`, and hands back a
double again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from engine.expressions.builtins import add_months, local_date, lower, upper
from engine.expressions.functions import DECIMALS
from engine.expressions.types import DIVISION_SCALE

QUANTUM = Decimal(1).scaleb(-DIVISION_SCALE)


def _exact(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def anju_divide(a: Any, b: Any) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return float(DECIMALS.divide(_exact(a), _exact(b)).quantize(QUANTUM, context=DECIMALS))


def anju_round(value: Any, digits: Any) -> float | None:
    if value is None or digits is None:
        return None
    return float(_exact(value).quantize(Decimal(1).scaleb(-int(digits)), context=DECIMALS))


def anju_add_months(day: Any, months: Any) -> str | None:
    if day is None or months is None:
        return None
    result = add_months(date.fromisoformat(str(day)[:10]), int(months))
    return result.isoformat() if result else None


def anju_local_date(moment: Any, zone: Any) -> str | None:
    """`moment` as SQLite stores a UTC datetime ('2026-03-01 01:30:00.000000')."""
    if moment is None or zone is None:
        return None
    utc = datetime.fromisoformat(str(moment)).replace(tzinfo=UTC)
    return local_date(str(zone), utc).isoformat()


def anju_upper(text: Any) -> str | None:
    return None if text is None else upper(str(text))


def anju_lower(text: Any) -> str | None:
    return None if text is None else lower(str(text))


SQLITE_FUNCTIONS = {
    "anju_divide": (2, anju_divide),
    "anju_round": (2, anju_round),
    "anju_add_months": (2, anju_add_months),
    "anju_local_date": (2, anju_local_date),
    "anju_upper": (1, anju_upper),
    "anju_lower": (1, anju_lower),
}
