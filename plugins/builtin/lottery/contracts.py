"""`lottery.close` (drawn → closed): accepted offers become lease contracts, the rest of the
round is settled.

For each accepted allocation, in sequence order: a `lease_contract` in `draft` (to be
signed) for the household and the unit — monthly rent = `rent.monthly_rent(rent standard,
usable area)`, from the close day for `with.lease_months` months (36 by default), numbered
HT + year + the unit's district code + the next free 6-digit number — the unit `allocated`,
the waitlist entry `allocated` and out of the queue. Units no one accepted go back to
`vacant`; participants who got nothing and did not give an offer up count one more lottery
failure (a priority group of later rounds). Refused while an offer is still open.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.errors import Conflict
from engine.flows.actions_api import ActionContext
from plugins.builtin.lottery.rounds import ALLOCATIONS, ENTRIES, UNITS, WAITING
from plugins.builtin.rent import monthly_rent
from plugins.builtin.waitlist.ordering import months_before

CONTRACTS = "public_rental.lease_contract"
HOUSEHOLDS = "public_rental.household"
REGIONS = "housing_stock.region"
LEASE_MONTHS = 36


def close(context: ActionContext) -> None:
    lottery = context.record
    allocations = context.find(ALLOCATIONS, order_by=("sequence_no",), round=context.record_id)
    still_open = [a["sequence_no"] for a in allocations if a.get("state") == "offered"]
    if still_open:
        numbers = ", ".join(str(n) for n in still_open)
        raise Conflict(f"offers to sequence no. {numbers} are still open: accept or give them up")
    months = int(context.args.get("lease_months") or LEASE_MONTHS)
    accepted = [a for a in allocations if a.get("state") == "accepted"]
    for allocation in accepted:
        contract_id = _contract(context, lottery, allocation, months)
        context.update(ALLOCATIONS, allocation["id"], {"lease_contract": contract_id})
        context.update(UNITS, allocation["housing_unit"], {"status": "allocated"})
        context.update(
            ENTRIES, allocation["waitlist_entry"], {"status": "allocated", "position": None}
        )
    housed = {a["housing_unit"] for a in accepted}
    for unit_id in lottery.get("units") or []:
        unit = context.get(UNITS, unit_id)
        if unit_id not in housed and unit is not None and unit.get("status") == "reserved":
            context.update(UNITS, unit_id, {"status": "vacant"})
    _count_failures(context, lottery, allocations)
    context.set("closed_at", context.now)


def _contract(
    context: ActionContext, lottery: dict[str, Any], allocation: dict[str, Any], months: int
) -> int:
    unit = _required(context, UNITS, allocation["housing_unit"])
    entry = _required(context, ENTRIES, allocation["waitlist_entry"])
    household = _required(context, HOUSEHOLDS, entry["household"])
    start = context.today
    standard, area = Decimal(unit["rent_standard"]), Decimal(unit["usable_area"])
    values = {
        "contract_no": _next_contract_no(context, unit, start.year),
        "contract_type": "new",
        "application": entry.get("application"),
        "household": household["id"],
        "housing_unit": unit["id"],
        "lessee_name": household["applicant_name"],
        "lessee_id_number": household["id_number"],
        "lessee_phone": household.get("phone"),
        "start_date": start,
        "end_date": _lease_end(start, months),
        "term_months": months,
        "building_area": unit.get("building_area"),
        "usable_area": area,
        "rent_standard": standard,
        "monthly_rent": monthly_rent(standard, area),
        "status": "draft",
        "remarks": f"摇号批次 {lottery['round_no']} 顺序号 {allocation['sequence_no']}",
    }
    return context.create(CONTRACTS, values)


def _lease_end(start: date, months: int) -> date:
    """The day before the same day `months` later (1 June + 36 months → 31 May)."""
    return months_before(start, -months) - timedelta(days=1)


def _next_contract_no(context: ActionContext, unit: dict[str, Any], year: int) -> str:
    """HT + year + district code + the next 6-digit number of that year and district."""
    district = context.get(REGIONS, unit["district"]) if unit.get("district") else None
    code = str((district or {}).get("code") or "000000")[:6].ljust(6, "0")
    prefix = f"HT{year}{code}"
    table = context.entity(CONTRACTS).table
    last = context.conn.execute(
        sa.select(sa.func.max(table.c.contract_no)).where(table.c.contract_no.like(f"{prefix}%"))
    ).scalar()
    number = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{number:06d}"


def _count_failures(
    context: ActionContext, lottery: dict[str, Any], allocations: list[dict[str, Any]]
) -> None:
    """One more lottery failure for each participant still waiting who had no offer."""
    had_offer = {a["waitlist_entry"] for a in allocations}
    for participant in lottery.get("participants") or []:
        if participant["id"] in had_offer:
            continue
        entry = context.get(ENTRIES, int(participant["id"]))
        if entry is not None and entry.get("status") == WAITING:
            failures = int(entry.get("lottery_failures") or 0) + 1
            context.update(ENTRIES, entry["id"], {"lottery_failures": failures})


def _required(context: ActionContext, path: str, record_id: int) -> dict[str, Any]:
    found = context.get(path, record_id)
    if found is None:
        raise Conflict(f"{path} {record_id} no longer exists")
    return found
