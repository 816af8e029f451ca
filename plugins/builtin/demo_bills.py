"""Demo rent bills: one `rent_bill` per lease contract and month of the last twelve.

A pure generator over the lease rows `demo_rental` made: every contract gets a bill for each
of the twelve months before TODAY's month that its term touches, for its monthly rent, due on
the 10th. Most bills are paid (a few late, a few waived); one active lease in six is behind,
its latest one, two or three to six bills unpaid (the oldest of them sometimes partly paid),
so the arrears reports and the one- and two-month arrears alerts have something to find.
Bills of the current month are not issued yet, so no bill falls due after TODAY.

    >>> from datetime import date
    >>> periods()[0], periods()[-1]
    (datetime.date(2025, 3, 1), datetime.date(2026, 2, 1))
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from plugins.builtin.demo_common import (
    CENT,
    RENTAL,
    TODAY,
    Batch,
    Ids,
    Row,
    batched,
)

MONTHS = 12

DUE_DAY = 10

# Months in arrears of an active lease, with cumulative percentages: 84 % are paid up.
ARREARS_MONTHS = (0, 1, 2, 3, 4, 5, 6)

ARREARS_CUMULATIVE = (84, 92, 96, 97.5, 98.5, 99.3, 100)

Months = list[tuple[date, date]]  # the first and last day of each month billed

WAIVED_SHARE = 0.01  # hardship reductions (减免)

LATE_SHARE = 0.1  # paid, but after the due date


def periods(months: int = MONTHS, today: date = TODAY) -> list[date]:
    """The first days of the `months` whole months before `today`'s month, oldest first."""
    first = today.replace(day=1)
    found = []
    for back in range(months, 0, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        found.append(date(year, month + 1, 1))
    return found


def month_end(period: date) -> date:
    """The last day of the month `period` starts."""
    following = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def bill_batches(contracts: Iterable[Row], ids: Ids, rng: random.Random) -> Iterator[Batch]:
    """The bills of every contract, in batches; ids taken in contract and period order."""
    months = [(first, month_end(first)) for first in periods()]
    yield from batched(RENTAL, "rent_bill", _all_bills(contracts, months, ids, rng))


def _all_bills(
    contracts: Iterable[Row], months: Months, ids: Ids, rng: random.Random
) -> Iterator[Row]:
    for contract in contracts:
        yield from contract_bills(contract, months, ids, rng)


def contract_bills(contract: Row, months: Months, ids: Ids, rng: random.Random) -> list[Row]:
    """The bills of one contract for the `months` (first and last days) its term touches;
    the latest few unpaid for some active leases."""
    start, end = contract["start_date"], contract["end_date"]
    covered = [first for first, last in months if start <= last and end >= first]
    behind = 0
    if contract["status"] == "active":
        draw = rng.random() * 100
        behind = next(
            m for m, c in zip(ARREARS_MONTHS, ARREARS_CUMULATIVE, strict=True) if draw < c
        )
    behind = min(behind, len(covered))
    bills = []
    for n, period in enumerate(covered):
        unpaid = n >= len(covered) - behind
        partial = unpaid and n == len(covered) - behind and behind > 1 and rng.random() < 0.3
        bills.append(_bill(contract, period, ids, rng, unpaid, partial))
    return bills


def _bill(
    contract: Row, period: date, ids: Ids, rng: random.Random, unpaid: bool, partial: bool
) -> Row:
    due = period.replace(day=DUE_DAY)
    amount = contract["monthly_rent"]
    paid_on: date | None = None
    channel = None
    if partial:
        status = "partial"
        paid = (amount * Decimal(rng.randint(20, 80)) / 100).quantize(CENT, ROUND_HALF_UP)
        paid_on, channel = due - timedelta(days=rng.randint(0, 5)), "counter"
    elif unpaid:
        status, paid = "unpaid", Decimal("0.00")
    elif rng.random() < WAIVED_SHARE:
        status, paid = "waived", Decimal("0.00")
    else:
        status, paid = "paid", amount
        late = rng.random() < LATE_SHARE
        paid_on = (
            due + timedelta(days=rng.randint(1, 25))
            if late
            else due - timedelta(days=rng.randint(0, 9))
        )
        paid_on = min(paid_on, TODAY)
        channel = contract["payment_method"]
    arrears = amount - paid if status in ("unpaid", "partial") else Decimal("0.00")
    return {
        "id": ids.take(RENTAL, "rent_bill"),
        "bill_no": f"ZD{period.year}{period.month:02d}-{contract['contract_no']}",
        "contract": contract["id"],
        "housing_unit": contract["housing_unit"],
        "household": contract["household"],
        "lessee_name": contract["lessee_name"],
        "period": period,
        "amount_due": amount,
        "amount_paid": paid,
        "due_date": due,
        "paid_on": paid_on,
        "status": status,
        "arrears": arrears,
        "payment_channel": channel,
        "remarks": "困难家庭租金减免" if status == "waived" else None,
    }
