"""What the eligibility check reads: the application's household, its members, and the other
applications and leases of the same people, as plain JSON (dates ISO, money as text).

ID numbers are compared in the database (through their blind index) and never copied into
the inputs: a match names the household's own member (name and relation), so the stored
report says who, without another family's personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.flows.checks import CheckInput

APPLICATION = "public_rental.application"
HOUSEHOLD = "public_rental.household"
MEMBER = "public_rental.household_member"
LEASE = "public_rental.lease_contract"
CENT = Decimal("0.01")

Row = Mapping[str, Any]


def gather(given: CheckInput) -> dict[str, Any]:
    """The inputs of `decide`: the household's figures, then `cases` and `leases`."""
    household_id = given.record.get("household")
    inputs: dict[str, Any] = {
        "application": given.record.get("id"),
        "business_type": given.record.get("business_type"),
        "household": household_id,
    }
    if household_id is None:
        return inputs
    household = given.lookup(HOUSEHOLD, household_id)
    if household is None:
        return inputs
    members = given.related(MEMBER, "household", household_id)
    inputs |= household_figures(household, members, given.params)
    people = _people(household, members)
    inputs["cases"] = _cases(given, household_id, people)
    inputs["leases"] = _leases(given, people)
    return inputs


def household_figures(
    household: Row, members: list[Row], params: Mapping[str, Any]
) -> dict[str, Any]:
    """Size, members, per-capita income and assets, marriage, allowance, earlier security."""
    size = household.get("household_size") or 0
    total = household.get("annual_income")
    source: str | None = "household"
    if total is None:  # not declared for the household: the members' incomes, if given
        incomes = [m["annual_income"] for m in members if m.get("annual_income") is not None]
        total, source = (sum(incomes, Decimal(0)), "members") if incomes else (None, None)
    per_capita = None
    if total is not None and size > 0:
        per_capita = (Decimal(total) / size).quantize(CENT, ROUND_HALF_UP)
    applicant = household.get("id_number")
    flag = params.get("illness_poor_field") or ""
    return {
        "household_size": size,
        "members_registered": len(members),
        "applicant_registered": any(
            m.get("relation") == "self" and m.get("id_number") == applicant for m in members
        ),
        "annual_income": _money(total),
        "income_source": source,
        "per_capita_income": _money(per_capita),
        "per_capita_assets": _money(household.get("per_capita_assets")),
        "illness_poor": bool(household.get(flag)) if flag else False,
        "marital_status": household.get("marital_status"),
        "marital_status_since": _day(household.get("marital_status_since")),
        "previously_secured": bool(household.get("previously_secured")),
        "minimum_living_allowance": bool(household.get("minimum_living_allowance")),
        "allowance_months": household.get("allowance_months"),
    }


def _people(household: Row, members: list[Row]) -> dict[str, tuple[str, str]]:
    """ID number → (name, relation) of everyone the case is about, the applicant first."""
    people: dict[str, tuple[str, str]] = {}
    if household.get("id_number"):
        people[household["id_number"]] = (str(household.get("applicant_name") or ""), "self")
    for member in members:
        number = member.get("id_number")
        if number and number not in people:
            people[number] = (str(member.get("name") or ""), str(member.get("relation") or ""))
    return people


def _cases(
    given: CheckInput, household_id: int, people: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """Other applications whose applicant is one of `people` (or whose household is this
    one), then those of other households where one of `people` is registered: one entry per
    application and person."""
    numbers = list(people)
    if not numbers:
        return []
    found: dict[tuple[Any, str], dict[str, Any]] = {}

    def add(case: Row, name: str, relation: str, role: str) -> None:
        found.setdefault((case["id"], name), _case(case, name, relation, role))

    for case in given.find(APPLICATION, "applicant_id_number", numbers):
        add(case, *people[case["applicant_id_number"]], "applicant")
    for case in given.related(APPLICATION, "household", household_id):
        add(case, *people[numbers[0]], "applicant")
    for row in given.find(MEMBER, "id_number", numbers):
        if row["household"] == household_id:
            continue
        role = "applicant" if row.get("relation") == "self" else "member"
        for case in given.related(APPLICATION, "household", row["household"]):
            add(case, *people[row["id_number"]], role)
    own = given.record.get("id")
    matches = [case for (key, _), case in found.items() if key != own]
    return sorted(matches, key=lambda case: case["application"])


def _case(case: Row, name: str, relation: str, role: str) -> dict[str, Any]:
    return {
        "application": case["id"],
        "application_no": case.get("application_no"),
        "state": case.get("state"),
        "pre_review": case.get("pre_review_result"),
        "qualification_valid_until": _day(case.get("qualification_valid_until")),
        "person": name,
        "relation": relation,
        "role": role,
    }


def _leases(given: CheckInput, people: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Leases whose lessee is one of `people`."""
    if not people:
        return []
    leases = []
    for lease in given.find(LEASE, "lessee_id_number", list(people)):
        name, relation = people[lease["lessee_id_number"]]
        leases.append(
            {
                "contract_no": lease.get("contract_no"),
                "status": lease.get("status"),
                "end_date": _day(lease.get("end_date")),
                "person": name,
                "relation": relation,
            }
        )
    return leases


def _money(value: Any) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(CENT, ROUND_HALF_UP)}"


def _day(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value)
