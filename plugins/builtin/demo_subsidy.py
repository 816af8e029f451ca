"""Demo rent subsidies: the `subsidy` roster and two years of monthly payments.

A pure generator. Households that qualified for public rental housing and chose the rent
subsidy head the roster (their names, ID numbers and districts copied); further recipients
are generated with unique GB 11643 numbers. Each recipient has a tier by household, a monthly
amount, a start month and, for some, an end. Every month of the last 24 before TODAY's month
within a recipient's term has a payment, due on the 20th: nearly all paid, suspended
recipients' payments stopped, and in one street in twelve the latest one or two months
overdue, so the subsidy alert and the overdue report have something to find.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

from plugins.builtin.demo_bills import periods
from plugins.builtin.demo_common import (
    TODAY,
    Batch,
    District,
    Ids,
    Row,
    batched,
    either,
    phone,
)
from plugins.builtin.demo_people import People

SUBSIDY = "subsidy"

MONTHS = 24

DUE_DAY = 20

MAX_RECIPIENTS = 4_500

TIER_PER_PERSON = {"tier_1": 300, "tier_2": 200, "tier_3": 120}  # CNY a person a month

TIERS = ("tier_1", "tier_2", "tier_3")


def recipient_count(units: int) -> int:
    """How many recipients a demo of `units` housing units has: one per 100 units, 20 at
    least, a few thousand at most."""
    return max(20, min(units // 100, MAX_RECIPIENTS)) if units else 0


def subsidy_batches(
    count: int,
    districts: Sequence[District],
    chosen: Sequence[Row],
    ids: Ids,
    rng: random.Random,
) -> Iterator[Batch]:
    """`count` recipients (first the `chosen` households) and their monthly payments."""
    people = People(rng)
    people.used.update(row["id_number"] for row in chosen)
    by_id = {d.id: d for d in districts}
    weights = tuple(accumulate(d.weight for d in districts))
    recipients = []
    for n in range(count):
        household = chosen[n] if n < len(chosen) else None
        if household is not None:
            district = by_id[household["hukou_district"]]
        else:
            district = rng.choices(districts, cum_weights=weights)[0]
        recipients.append(recipient_row(n + 1, district, household, people, ids, rng))
    yield from batched(SUBSIDY, "subsidy_recipient", recipients)
    months = periods(MONTHS)
    late_streets = {street for d in districts for street, _ in d.streets[5::12]}
    payments = (
        row
        for recipient in recipients
        for row in payment_rows(recipient, months, recipient["street"] in late_streets, ids, rng)
    )
    yield from batched(SUBSIDY, "subsidy_disbursement", payments)


def recipient_row(
    seq: int,
    district: District,
    household: Mapping[str, object] | None,
    people: People,
    ids: Ids,
    rng: random.Random,
) -> Row:
    """One roster entry: a chosen household's applicant, or a new person."""
    if household is not None:
        name, id_number = str(household["applicant_name"]), str(household["id_number"])
        size = int(str(household["household_size"]))
        mobile = str(household["phone"])
        street = household["hukou_street"]
        allowance = bool(household["minimum_living_allowance"])
    else:
        person = people.person(either(rng), rng.randint(24, 70), "self", district.code)
        name, id_number = person.name, person.id_number
        size = rng.choices((1, 2, 3, 4, 5), cum_weights=(25, 50, 80, 95, 100))[0]
        mobile = phone(rng)
        street = rng.choice(district.streets)[0]
        allowance = rng.random() < 0.12
    tier = "tier_1" if allowance else rng.choices(TIERS[1:], cum_weights=(45, 100))[0]
    amount = Decimal(TIER_PER_PERSON[tier] * min(size, 3)).quantize(Decimal("0.01"))
    start = periods(48)[rng.randrange(47)]
    draw = rng.random()
    status, end = "active", None
    if draw < 0.1:
        status = "ended"
        later = [p for p in periods(48) if p > start]
        end = rng.choice(later) if later else start
    elif draw < 0.13:
        status = "suspended"
    return {
        "id": ids.take(SUBSIDY, "subsidy_recipient"),
        "roster_no": f"BT{district.code}{seq:06d}",
        "household": household["id"] if household is not None else None,
        "name": name,
        "id_number": id_number,
        "phone": mobile,
        "household_size": size,
        "district": district.id,
        "street": street,
        "tier": tier,
        "monthly_amount": amount,
        "bank_account": f"6217{rng.randrange(10**15):015d}",
        "start_month": start,
        "end_month": end,
        "status": status,
        "remarks": "家庭收入变化，暂停发放待复核" if status == "suspended" else None,
    }


def payment_rows(
    recipient: Row, months: list[date], late_street: bool, ids: Ids, rng: random.Random
) -> list[Row]:
    """The payments of the months within the recipient's term, oldest first."""
    end = recipient["end_month"]
    due_months = [p for p in months if p >= recipient["start_month"] and (end is None or p <= end)]
    stopped_from = (
        len(due_months) - rng.randint(1, 3) if recipient["status"] == "suspended" else None
    )
    overdue_from = len(due_months) - rng.randint(1, 2) if late_street and end is None else None
    rows = []
    for n, period in enumerate(due_months):
        due = period.replace(day=DUE_DAY)
        paid_on: date | None = due - timedelta(days=rng.randint(0, 4))
        status, reason = "paid", None
        if stopped_from is not None and n >= stopped_from:
            status, paid_on, reason = "stopped", None, "家庭收入变化，暂停发放待复核"
        elif overdue_from is not None and n >= overdue_from:
            status, paid_on, reason = "overdue", None, "街道资金拨付未到位"
        rows.append(
            {
                "id": ids.take(SUBSIDY, "subsidy_disbursement"),
                "recipient": recipient["id"],
                "recipient_name": recipient["name"],
                "district": recipient["district"],
                "street": recipient["street"],
                "period": period,
                "amount": recipient["monthly_amount"],
                "due_date": due,
                "paid_on": min(paid_on, TODAY) if paid_on else None,
                "status": status,
                "shortfall_reason": reason,
            }
        )
    return rows
