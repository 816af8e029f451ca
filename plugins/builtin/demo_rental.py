"""Demo data for `public_rental`: households, members, applications and lease contracts.

Each application rests in a state of `flows/application.yaml` with the fields the flow would
have set on the way there: its pre-review report is the `eligibility` check's decision on the
generated household, by the flow's params, and its publicity, review, announcement and
qualification dates follow the flow's periods on the shipped working-day calendar. Every
person is generated once, so the check's duplicate-case signals find nothing. Once the
organisations and staff exist, an application under review enters its state
(`plugins/builtin/demo_flows.py`): its tasks open and its timers run from the day
`application_entered` gives.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import metadata
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

from engine.expressions.calendar import WorkingCalendar, add_working_days
from engine.expressions.definitions import working_calendar
from engine.flows.checks import Check, CheckInput
from metamodel.models import Calendar
from plugins.builtin.demo_common import (
    ACTIVE_STATES,
    ANNOUNCEMENT_DAYS,
    CENT,
    CENTRE_DAYS,
    CENTRE_REJECTIONS,
    EMPLOYERS,
    ETHNICITIES,
    PUBLICITY_DAYS,
    RENTAL,
    STATE_WEIGHTS,
    STATES,
    STREET_DAYS,
    SUPPLEMENTS,
    TODAY,
    VALIDITY_YEARS,
    Batch,
    District,
    Ids,
    LetUnit,
    Person,
    Row,
    _add_years,
    _pick,
    batched,
    either,
    home_address,
    phone,
)
from plugins.builtin.demo_people import People, earnings, family
from plugins.builtin.eligibility import CHECK
from plugins.builtin.eligibility.gather import HOUSEHOLD, MEMBER


def limits(size: int) -> tuple[int, int]:
    """Highest per-capita annual income and assets with which a household qualifies, by the
    lines the flow publishes."""
    params = flow_params()
    group = "large" if size >= params["large_household"] else "small"
    return int(params[f"income_limit_{group}"]), int(params[f"assets_limit_{group}"])


@dataclass
class Context:
    """What every household draws on: ids, randomness, people, districts and counters."""

    ids: Ids
    rng: random.Random
    people: People
    enterprise_ids: list[int]
    contracts: int = 0


def rental_batches(
    count: int,
    districts: list[District],
    enterprise_ids: list[int],
    let_units: list[LetUnit],
    ids: Ids,
    rng: random.Random,
) -> Iterator[Batch]:
    """Households with members and one application each; the first 60 % lease a let unit."""
    tenants = rng.sample(let_units, min(len(let_units), count * 3 // 5))
    context = Context(ids, rng, People(rng), enterprise_ids)
    weights = tuple(accumulate(d.weight for d in districts))
    tables: dict[str, list[Row]] = {
        "household": [],
        "household_member": [],
        "application": [],
        "lease_contract": [],
    }
    for n in range(count):
        lease = tenants[n] if n < len(tenants) else None
        district = rng.choices(districts, cum_weights=weights)[0]
        if lease and rng.random() < 0.7:
            district = lease.district
        for entity, rows in household_rows(n + 1, district, lease, context).items():
            tables[entity].extend(rows)
    for entity, rows in tables.items():
        yield from batched(RENTAL, entity, rows)


def household_rows(
    seq: int, district: District, lease: LetUnit | None, ctx: Context
) -> dict[str, list[Row]]:
    """One household with its members, its application and, for a tenant, its leases."""
    rng = ctx.rng
    state = "qualified" if lease else rng.choices(STATES, cum_weights=STATE_WEIGHTS)[0]
    pre_review_fails = state == "returned" and rng.random() < 0.6  # else the centre returned it
    size = rng.choices((1, 2, 3, 4, 5), cum_weights=(22, 47, 80, 95, 100))[0]
    members, marital = family(size, district.code, ctx.people)
    work, over = _work_within_limits([earnings(m, rng) for m in members], pre_review_fails, rng)
    household = _household(district, members[0], work, marital, ctx)
    assets = Decimal(rng.randrange(0, limits(size)[1] * 9 // 10, 100))
    household["per_capita_assets"] = assets.quantize(CENT)
    members_rows = [
        _member(household, person, earned, marital, ctx)
        for person, earned in zip(members, work, strict=True)
    ]
    application_id = ctx.ids.take(RENTAL, "application")
    contracts = _contracts(household, application_id, lease, ctx) if lease else []
    case = _case(state, contracts, rng)
    applied = case.submitted or TODAY
    household["marital_status_since"] = _marital_since(marital, members[0], applied, rng)
    if pre_review_fails and not over and case.submitted:  # another reason the check finds
        _fail_pre_review(household, marital, case.submitted, rng)
    household["admission_year"] = case.submitted.year if case.submitted else None
    where = lease.district if lease else district  # tenants applied where they now live
    application = _application(application_id, seq, household, where, state, case, ctx)
    if case.submitted is not None:
        report = _pre_review(application, household, members_rows, case.submitted)
        if not report["passed"] and not contracts:  # a failed pre-review returns the case
            application["state"] = state = "returned"
        reviewer = f"district_{where.code}"  # the district centre's demo account
        _fill_progress(application, state, case, report, household, reviewer, rng)
    if lease:
        application["security_mode"] = "in_kind"
    return {
        "household": [household],
        "household_member": members_rows,
        "application": [application],
        "lease_contract": contracts,
    }


def _work_within_limits(
    work: list[tuple[str, int]], keep: bool, rng: random.Random
) -> tuple[list[tuple[str, int]], bool]:
    """Incomes scaled under the limit unless `keep`; and whether they were over it."""
    income_limit = limits(len(work))[0] * len(work)
    total = sum(income for _, income in work)
    if total <= income_limit or keep:
        return work, total > income_limit
    factor = income_limit / total * rng.uniform(0.55, 0.95)
    return [(employment, int(i * factor) // 100 * 100) for employment, i in work], True


def _fail_pre_review(household: Row, marital: str, submitted: date, rng: random.Random) -> None:
    """Divorced less than three years before the application, or secured before."""
    if marital == "divorced" and rng.random() < 0.5:
        household["marital_status_since"] = submitted - timedelta(days=rng.randint(60, 1000))
    else:
        household["previously_secured"] = True


@dataclass(frozen=True)
class Case:
    """The days an application passed each step on (None for a draft, never submitted)."""

    submitted: date | None
    verified: date | None = None  # street verification done: the publicity starts
    publicity_end: date | None = None
    reviewed: date | None = None  # the centre's decision: the announcement starts
    announcement_end: date | None = None

    @property
    def qualified(self) -> date | None:
        """The announcement's timer fires at midnight after its last day."""
        return self.announcement_end + timedelta(days=1) if self.announcement_end else None


def plan_case(submitted: date) -> Case:
    """The steps of a case submitted on a day, as the flow's periods and calendar place them."""
    verified = _working_days(submitted, STREET_DAYS)
    publicity_end = _working_days(verified, PUBLICITY_DAYS)
    reviewed = _working_days(publicity_end + timedelta(days=1), CENTRE_DAYS)
    announcement_end = _working_days(reviewed, ANNOUNCEMENT_DAYS)
    return Case(submitted, verified, publicity_end, reviewed, announcement_end)


def _in_state(case: Case, state: str) -> bool:
    """Whether a case stands in an active `state` today."""
    assert case.submitted and case.verified and case.publicity_end and case.reviewed
    assert case.announcement_end
    return {
        "street_review": case.submitted <= TODAY < case.verified,
        "street_publicity": case.verified <= TODAY <= case.publicity_end,
        "district_review": case.publicity_end < TODAY < case.reviewed,
        "announcement": case.reviewed <= TODAY <= case.announcement_end,
    }[state]


def application_entered(application: Mapping[str, Any]) -> datetime | None:
    """When a demo application entered the state it rests in (09:00 in Beijing on the day
    its step began, or its submission): None for a state it did not reach by a day of its."""
    state = application["state"]
    if state == "street_review":
        moment: datetime | None = application["submitted_at"]
        return moment
    day = {
        "street_publicity": application["publicity_start"],
        "district_review": _day_after(application["publicity_end"]),
        "announcement": application["announcement_start"],
    }.get(state)
    return datetime.combine(day, time(1, 0), UTC) if day is not None else None


def _day_after(day: date | None) -> date | None:
    return day + timedelta(days=1) if day is not None else None


def _case(state: str, contracts: list[Row], rng: random.Random) -> Case:
    """When a case sitting in `state` today was submitted, and the days of its steps."""
    if state == "draft":
        return Case(None)
    if contracts:  # qualified months before the first lease
        return plan_case(contracts[0]["start_date"] - timedelta(days=rng.randint(90, 240)))
    if state in ACTIVE_STATES:
        days = list(range(45))
        rng.shuffle(days)
        for back in days:
            case = plan_case(TODAY - timedelta(days=back))
            if _in_state(case, state):
                return case
        raise AssertionError(f"no day of submission puts a case in {state}")  # pragma: no cover
    ages = {"qualified": (60, 700), "rejected": (45, 900), "withdrawn": (5, 600)}
    return plan_case(TODAY - timedelta(days=rng.randint(*ages.get(state, (45, 400)))))


APP_FOLDER = Path(__file__).resolve().parents[2] / "apps_config" / RENTAL


@cache
def _calendar() -> WorkingCalendar:
    """The shipped public rental working-day calendar, which the flow's timers use."""
    path = APP_FOLDER / "calendars" / "default.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    return working_calendar(Calendar.model_validate({"name": "default", **content}))


@cache
def flow_params() -> dict[str, Any]:
    """The shipped qualification flow's params: the lines and switches its check reads."""
    path = APP_FOLDER / "flows" / "application.yaml"
    params: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["params"]
    return params


def _working_days(start: date, days: int) -> date:
    found = add_working_days(_calendar(), start, days)
    assert found is not None, "the demo's dates are near the calendar's year"
    return found


def _household(
    district: District, applicant: Person, work: list[tuple[str, int]], marital: str, ctx: Context
) -> Row:
    rng = ctx.rng
    size = len(work)
    total = sum(income for _, income in work)
    situation = rng.choices(
        ("no_housing", "renting", "lodging", "below_standard", "dormitory", "shanty"),
        cum_weights=(45, 70, 82, 90, 96, 100),
    )[0]
    crowded = situation in ("below_standard", "shanty")
    floor_area = Decimal(rng.uniform(5, 12) * size if crowded else 0).quantize(CENT)
    allowance = rng.random() < 0.12
    agent = None
    if rng.random() < 0.08:
        agent = ctx.people.person(either(rng), rng.randint(30, 60), "other", district.code)
    return {
        "id": ctx.ids.take(RENTAL, "household"),
        "applicant_name": applicant.name,
        "id_type": "resident_id",
        "id_number": applicant.id_number,
        "phone": phone(rng),
        "agent_name": agent.name if agent else None,
        "agent_id_number": agent.id_number if agent else None,
        "agent_phone": phone(rng) if agent else None,
        "hukou_district": district.id,
        "hukou_street": rng.choice(district.streets)[0],
        "hukou_address": home_address(district, rng),
        "current_address": home_address(district, rng),
        "employer": rng.choice(EMPLOYERS) if work[0][0] in ("employed", "flexible") else None,
        "household_size": size,
        "marital_status": marital,
        "marital_status_since": None,  # set once the day of application is known
        "annual_income": Decimal(total).quantize(CENT),
        # as the expression `annual_income / household_size` computes it: 6 places, then cents
        "per_capita_income": (Decimal(total) / size)
        .quantize(Decimal("0.000001"), ROUND_HALF_UP)
        .quantize(CENT, ROUND_HALF_UP),
        "per_capita_assets": None,
        "total_floor_area": floor_area,
        "per_capita_floor_area": (floor_area / size).quantize(CENT, ROUND_HALF_UP),
        "housing_situation": situation,
        "low_income": allowance or total / size < 24_000,
        "minimum_living_allowance": allowance,
        "allowance_certificate_no": f"DB{district.code}{rng.randrange(10**6):06d}"
        if allowance
        else None,
        "allowance_months": rng.randint(6, 60) if allowance else None,
        "previously_secured": False,
        "admission_year": None,
        "remarks": None,
    }


def _marital_since(
    marital: str, applicant: Person, applied: date, rng: random.Random
) -> date | None:
    """When the applicant married, divorced or was widowed, long enough before applying."""
    age = applied.year - applicant.birth.year
    years = {"married": (5, max(6, age - 22)), "divorced": (4, 15), "widowed": (1, 15)}.get(marital)
    return applied - timedelta(days=rng.randint(years[0] * 365, years[1] * 365)) if years else None


def _member(
    household: Row, person: Person, work: tuple[str, int], marital: str, ctx: Context
) -> Row:
    rng = ctx.rng
    age = TODAY.year - person.birth.year
    adult = age >= 18
    employment, income = work
    statuses = {"self": marital, "spouse": "married", "parent": rng.choice(("married", "widowed"))}
    working = employment in ("employed", "flexible")
    return {
        "id": ctx.ids.take(RENTAL, "household_member"),
        "household": household["id"],
        "name": person.name,
        "relation": person.relation,
        "id_number": person.id_number,
        "gender": person.gender,
        "birth_date": person.birth,
        "ethnicity": rng.choice(ETHNICITIES),
        "phone": household["phone"] if person.relation == "self" else phone(rng) if adult else None,
        "hukou_nature": rng.choices(("urban", "resident", "rural"), cum_weights=(50, 85, 100))[0],
        "hukou_years": rng.randint(min(age, 1), max(age, 1)),
        "is_resident": True,
        "employment": employment,
        "employer": rng.choice(EMPLOYERS) if working else None,
        "education": rng.choice(("junior_high", "senior_high", "college", "bachelor"))
        if adult
        else None,
        "marital_status": statuses.get(person.relation, "unmarried" if adult else None),
        "annual_income": Decimal(income).quantize(CENT),
        "disability_grade": "none" if rng.random() < 0.94 else rng.choice(("grade_3", "grade_4")),
        "is_co_applicant": True,
        "lives_together": person.relation != "parent" or rng.random() < 0.9,
        "is_migrant_worker": adult and rng.random() < 0.15,
        "is_imported_talent": adult and rng.random() < 0.03,
        "has_provident_fund": employment == "employed" and rng.random() < 0.6,
        "had_welfare_housing": person.relation == "parent" and rng.random() < 0.1,
    }


def _application(
    id_: int,
    seq: int,
    household: Row,
    district: District,
    state: str,
    case: Case,
    ctx: Context,
) -> Row:
    """An application as filed; `_fill_progress` adds what its flow has set since."""
    rng = ctx.rng
    directed = rng.random() < 0.1
    size = household["household_size"]
    layouts = ("studio", "one_bedroom", "two_bedroom", "three_bedroom")[min(size, 3) - 1 :][:2]
    channels = ("mini_program", "web", "terminal", "street_window")
    submitted = None
    if case.submitted is not None:
        moment = datetime.combine(case.submitted, datetime.min.time(), UTC)
        submitted = moment + timedelta(minutes=rng.randint(60, 540))  # 09:00-17:00 in Beijing
    year = case.submitted.year if case.submitted else TODAY.year
    return {
        "id": id_,
        "application_no": f"SQ{year}{district.code}{seq:06d}",
        "household": household["id"],
        "applicant_name": None,
        "applicant_id_number": None,
        "household_size": None,
        "security_mode": "in_kind" if rng.random() < 0.8 else "rent_subsidy",
        "application_category": "directed" if directed else "non_directed",
        "business_type": "renewal" if rng.random() < 0.05 else "new",
        "sponsor_enterprise": rng.choice(ctx.enterprise_ids) if directed else None,
        "applied_district": district.id,
        "applied_street": rng.choice(district.streets)[0],
        "channel": "enterprise"
        if directed
        else rng.choices(channels, cum_weights=(40, 60, 75, 100))[0],
        "submitted_at": submitted,
        "admission_year": case.submitted.year if case.submitted else None,
        "requested_layout": "any" if rng.random() < 0.2 else rng.choice(layouts),
        "state": state,
        "flow_version": None,  # unknown to a generator: the newest flow (engine/flows/versions.py)
        "pre_review_result": "pending",
        "pre_review_report": None,
        "publicity_start": None,
        "publicity_end": None,
        "announcement_start": None,
        "announcement_end": None,
        "reviewer": None,
        "reviewed_on": None,
        "review_opinion": None,
        "reject_reason": None,
        "confirmation_no": None,
        "qualified_on": None,
        "qualification_valid_until": None,
        "qualification_certificate": None,  # the demo renders no documents
        "remarks": "申请人主动撤回申请" if state == "withdrawn" else None,
    }


def _pre_review(
    application: Row, household: Row, members: list[Row], submitted: date
) -> dict[str, Any]:
    """The decision the flow stores: the `eligibility` check run on the generated rows with
    the flow's params, on the day of submission."""

    def lookup(path: str, record_id: int) -> Row | None:
        return household if (path, record_id) == (HOUSEHOLD, household["id"]) else None

    def related(path: str, field: str, record_id: int) -> list[Mapping[str, Any]]:
        return list(members) if (path, field) == (MEMBER, "household") else []

    params, check = flow_params(), _registered_check()
    result = check.run(CheckInput(application, lookup, related, params, submitted))
    return check.decision(result, params, submitted, definitions=0)  # unknown to a generator


@cache
def _registered_check() -> Check:
    """The check as the plugin manager registers it, stamped with its plugin and version."""
    try:
        version = metadata.version("anju")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return replace(CHECK, plugin="eligibility", plugin_version=version)


def _fill_progress(
    application: Row,
    state: str,
    case: Case,
    report: dict[str, Any],
    household: Row,
    reviewer: str,
    rng: random.Random,
) -> None:
    """What the flow set on the way to `state`: copies and the pre-review on submission, the
    publicity, the centre's decision, the announcement and the qualification."""
    application |= {
        "applicant_name": household["applicant_name"],
        "applicant_id_number": household["id_number"],
        "household_size": household["household_size"],
        "pre_review_report": report,
        "pre_review_result": "passed" if report["passed"] else "failed",
    }
    if not report["passed"] or state == "street_review":
        return  # returned by the pre-review, or waiting for its street
    if state == "withdrawn":
        return  # withdrawn while its street verified it
    application["publicity_start"] = case.verified
    application["publicity_end"] = case.publicity_end
    if state in ("street_publicity", "district_review"):
        return
    application |= {"reviewer": reviewer, "reviewed_on": case.reviewed}
    if state == "returned":
        application["review_opinion"] = rng.choice(SUPPLEMENTS)
    elif state == "rejected":
        application["reject_reason"] = rng.choice(CENTRE_REJECTIONS)
        application["review_opinion"] = (
            f"经审核，不符合公租房保障条件：{application['reject_reason']}"
        )
    else:
        application["review_opinion"] = "经审核，符合公租房保障条件"
        application["announcement_start"] = case.reviewed
        application["announcement_end"] = case.announcement_end
    if state == "qualified":
        assert case.qualified is not None
        application |= {
            "qualified_on": case.qualified,
            "qualification_valid_until": _add_years(case.qualified, VALIDITY_YEARS),
            "confirmation_no": f"ZG{case.qualified.year}{application['application_no'][6:]}",
        }


def _contracts(household: Row, application_id: int, lease: LetUnit, ctx: Context) -> list[Row]:
    """The active lease of a tenant; one tenant in four renewed after a first, expired term."""
    start = TODAY - timedelta(days=ctx.rng.randint(20, 1080))
    starts = [_add_years(start, -3), start] if ctx.rng.random() < 0.25 else [start]
    rows: list[Row] = []
    for term_start in starts:
        previous = rows[-1]["id"] if rows else None
        rows.append(_contract(household, application_id, lease, term_start, previous, ctx))
    return rows


def _contract(
    household: Row,
    application_id: int,
    lease: LetUnit,
    start: date,
    previous: int | None,
    ctx: Context,
) -> Row:
    rng = ctx.rng
    ctx.contracts += 1
    end = _add_years(start, 3) - timedelta(days=1)
    unit_type = lease.unit_type
    signed = datetime.combine(start - timedelta(days=rng.randint(1, 10)), datetime.min.time(), UTC)
    return {
        "id": ctx.ids.take(RENTAL, "lease_contract"),
        "contract_no": f"HT{start.year}{lease.district.code}{ctx.contracts:06d}",
        "contract_type": "renewal" if previous else "new",
        "application": application_id,
        "household": household["id"],
        "housing_unit": lease.id,
        "lessee_name": household["applicant_name"],
        "lessee_id_number": household["id_number"],
        "lessee_phone": household["phone"],
        "employer": household["employer"],
        "agent_name": None,
        "agent_id_number": None,
        "start_date": start,
        "end_date": end,
        "term_months": 36,
        "building_area": unit_type.building_area,
        "usable_area": unit_type.usable_area,
        "rent_standard": unit_type.rent_standard,
        "monthly_rent": unit_type.monthly_rent,
        "deposit": unit_type.monthly_rent * 2,
        "payment_cycle": _pick(
            rng, ("monthly", "quarterly", "half_yearly", "yearly"), (70, 90, 95)
        ),
        "payment_method": _pick(rng, ("bank_deduction", "online", "counter"), (60, 90)),
        "status": "active" if end >= TODAY else "expired",
        "signed_at": signed + timedelta(minutes=rng.randint(60, 540)),
        "auto_renew": False,
        "previous_contract": previous,
        "terminated_on": None,
        "termination_reason": None,
        "remarks": None,
    }
