"""Demo waitlist (轮候库): the entry the qualification flow makes for each qualified case.

A pure generator over the application, household and member rows `demo_rental` made. As the
flow's `qualified` state does (`flows/application.yaml`), every qualified application gets a
`waitlist_entry` copying its numbers and dates: in-kind families wait (or, once they lease a
unit, are allocated; a few withdrew or lapsed), rent-subsidy families are recorded as not
queued. Flags follow the `waitlist.assess` action (a disabled member, a member aged 60 or
more on TODAY) and positions the `waitlist.reorder` action (`ordering.PRH_SCHEME`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from plugins.builtin.demo_common import RENTAL, TODAY, Batch, Ids, Row, batched
from plugins.builtin.waitlist.actions import ELDERLY_AGE, WAITING, age
from plugins.builtin.waitlist.ordering import PRH_SCHEME, Scheme, order


def waitlist_batches(
    applications: Iterable[Row],
    households: Mapping[int, Row],
    members: Mapping[int, Sequence[Row]],
    tenants: set[int],
    ids: Ids,
    rng: random.Random,
) -> Iterator[Batch]:
    """One entry per qualified application; `tenants` are the households with a lease."""
    entries = [
        entry_row(application, households[application["household"]], members, tenants, ids, rng)
        for application in applications
        if application["state"] == "qualified"
    ]
    waiting = [entry for entry in entries if entry["status"] == WAITING]
    positions = order(waiting, Scheme.model_validate(PRH_SCHEME), TODAY).positions()
    for entry in entries:
        entry["position"] = positions.get(entry["id"])
    yield from batched(RENTAL, "waitlist_entry", entries)


def entry_row(
    application: Row,
    household: Row,
    members: Mapping[int, Sequence[Row]],
    tenants: set[int],
    ids: Ids,
    rng: random.Random,
) -> Row:
    """The entry the flow creates on qualification, in the status it has reached by TODAY."""
    family = members.get(household["id"], ())
    if application["security_mode"] == "rent_subsidy":
        status = "subsidy"
    elif household["id"] in tenants:
        status = "allocated"
    else:
        draw = rng.random()
        status = "withdrawn" if draw < 0.03 else "timed_out" if draw < 0.05 else WAITING
    failures = rng.choices((0, 1, 2, 3), cum_weights=(55, 80, 94, 100))[0]
    return {
        "id": ids.take(RENTAL, "waitlist_entry"),
        "application": application["id"],
        "household": household["id"],
        "applicant_name": application["applicant_name"],
        "confirmation_no": application["confirmation_no"],
        "qualified_on": application["qualified_on"],
        "qualification_valid_until": application["qualification_valid_until"],
        "requested_district": application["applied_district"],
        "street": application["applied_street"],
        "requested_layout": application["requested_layout"],
        "household_size": application["household_size"],
        "has_disabled_member": any(_disabled(m) for m in family),
        "has_elderly_member": any(age(m["birth_date"], TODAY) >= ELDERLY_AGE for m in family),
        "minimum_living_allowance": household["minimum_living_allowance"],
        "lottery_failures": failures if status == WAITING else 0,
        "status": status,
        "position": None,  # set for waiting entries once all are known
        "round": None,
        "remarks": None,
    }


def _disabled(member: Mapping[str, Any]) -> bool:
    return member.get("disability_grade") not in (None, "none")
