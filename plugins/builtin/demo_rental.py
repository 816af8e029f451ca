"""Demo data for `public_rental`: households, members, applications and lease contracts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from plugins.builtin.demo_common import (
    CENT,
    DIVORCED_RECENTLY,
    EMPLOYERS,
    ETHNICITIES,
    INCOME_TOO_HIGH,
    OTHER_REASONS,
    PASSED_PRE_REVIEW,
    PRE_REVIEW_REASONS,
    RENTAL,
    SECURED_BEFORE,
    STAGE_DAYS,
    STAGE_WEIGHTS,
    STAGES,
    SURNAMES,
    TODAY,
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
    id_check_char,
    person_name,
    phone,
)


class People:
    """People whose resident ID numbers are unique across the whole run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(
        self, gender: str, age: int, relation: str, area: str, surname: str | None = None
    ) -> Person:
        rng = self.rng
        surname = surname or rng.choice(SURNAMES)
        birth = date(TODAY.year - age, rng.randint(1, 12), rng.randint(1, 28))
        name = person_name(gender, rng, surname)
        return Person(surname, name, gender, birth, self.id_number(area, birth, gender), relation)

    def id_number(self, area: str, birth: date, gender: str) -> str:
        """A GB 11643 number: area, birth date, serial (odd for men) and check character."""
        while True:
            serial = int(self.rng.random() * 500) * 2 + (gender == "male")
            body = f"{area}{birth.year}{birth.month:02d}{birth.day:02d}{serial:03d}"
            number = body + id_check_char(body)
            if number not in self.used:
                self.used.add(number)
                return number


def family(size: int, area: str, people: People) -> tuple[list[Person], str]:
    """The members of a household, applicant first, and the applicant's marital status."""
    rng = people.rng
    gender = either(rng)
    couple = size >= 2 and rng.random() < (0.65 if size == 2 else 0.85)
    age = rng.randint(22, 60) if size == 1 else rng.randint(28, 55)
    members = [people.person(gender, age, "self", area)]
    if couple:
        spouse = "female" if gender == "male" else "male"
        members.append(people.person(spouse, max(22, age + rng.randint(-5, 5)), "spouse", area))
    father = members[1] if couple and gender == "female" else members[0]
    with_parent = size >= 4 and rng.random() < 0.5
    for _ in range(size - len(members) - with_parent):
        child_age = rng.randint(0, min(age - 23, 25))
        members.append(people.person(either(rng), child_age, "child", area, father.surname))
    if with_parent:
        members.append(
            people.person(either(rng), min(age + rng.randint(22, 32), 90), "parent", area)
        )
    if couple:
        return members, "married"
    singles = ("unmarried", "divorced", "widowed") if size == 1 else ("divorced", "widowed")
    return members, rng.choice(singles)


def earnings(person: Person, rng: random.Random) -> tuple[str, int]:
    """Employment and annual income (CNY) of one member, by age."""
    age = TODAY.year - person.birth.year
    if age < 6:
        return "preschool", 0
    if person.relation == "child" and age <= 22:
        return "student", 0
    if age >= 60:
        return "retired", rng.randrange(18_000, 42_000, 100)
    draw = rng.random()
    if draw < 0.1:
        return "unemployed", 0
    if draw < 0.4:
        return "flexible", rng.randrange(12_000, 42_000, 100)
    return "employed", rng.randrange(30_000, 72_000, 100)


def limits(size: int) -> tuple[int, int]:
    """Highest per-capita annual income and assets with which a household qualifies."""
    return (39_600, 120_000) if size >= 3 else (43_560, 132_000)


@dataclass
class Context:
    """What every household draws on: ids, randomness, people, districts and counters."""

    ids: Ids
    rng: random.Random
    people: People
    enterprise_ids: list[int]
    reviewers: list[str]
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
    reviewers = [person_name(either(rng), rng) for _ in range(12)]
    context = Context(ids, rng, People(rng), enterprise_ids, reviewers)
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
    stage = "qualified" if lease else rng.choices(STAGES, cum_weights=STAGE_WEIGHTS)[0]
    size = rng.choices((1, 2, 3, 4, 5), cum_weights=(22, 47, 80, 95, 100))[0]
    members, marital = family(size, district.code, ctx.people)
    work, over = _work_within_limits([earnings(m, rng) for m in members], stage, rng)
    reason = _reject_reason(over, marital, rng) if stage == "rejected" else None
    household = _household(district, members[0], work, marital, ctx)
    assets = Decimal(rng.randrange(0, limits(size)[1] * 9 // 10, 100))
    household["per_capita_assets"] = assets.quantize(CENT)
    household["previously_secured"] = reason == SECURED_BEFORE
    if reason == DIVORCED_RECENTLY:
        household["marital_status_since"] = TODAY - timedelta(days=rng.randint(200, 1000))
    members_rows = [
        _member(household, person, earned, marital, ctx)
        for person, earned in zip(members, work, strict=True)
    ]
    application_id = ctx.ids.take(RENTAL, "application")
    contracts = _contracts(household, application_id, lease, ctx) if lease else []
    submitted = _submitted_at(stage, contracts, rng)
    household["admission_year"] = submitted.year
    applied = lease.district if lease else district  # tenants applied where they now live
    application = _application(application_id, seq, household, applied, stage, submitted, ctx)
    application["reject_reason"] = reason
    _fill_progress(application, stage, reason, ctx)
    if lease:
        application["security_mode"] = "in_kind"
    return {
        "household": [household],
        "household_member": members_rows,
        "application": [application],
        "lease_contract": contracts,
    }


def _work_within_limits(
    work: list[tuple[str, int]], stage: str, rng: random.Random
) -> tuple[list[tuple[str, int]], bool]:
    """Incomes scaled under the limit unless the case is rejected; and whether they were over."""
    income_limit = limits(len(work))[0] * len(work)
    total = sum(income for _, income in work)
    if total <= income_limit or stage == "rejected":
        return work, total > income_limit
    factor = income_limit / total * rng.uniform(0.55, 0.95)
    return [(employment, int(i * factor) // 100 * 100) for employment, i in work], True


def _submitted_at(stage: str, contracts: list[Row], rng: random.Random) -> datetime:
    """When an application was filed: months before the first lease, or by its stage today."""
    if contracts:
        day = contracts[0]["start_date"] - timedelta(days=rng.randint(90, 240))
    else:
        day = TODAY - timedelta(days=_days_since_submission(stage, rng))
    moment = datetime.combine(day, datetime.min.time(), UTC)
    return moment + timedelta(minutes=rng.randint(60, 540))  # 09:00-17:00 Beijing time


def _reject_reason(over: bool, marital: str, rng: random.Random) -> str:
    if over:
        return INCOME_TOO_HIGH
    reasons = (SECURED_BEFORE, *OTHER_REASONS)
    return rng.choice((DIVORCED_RECENTLY, *reasons) if marital == "divorced" else reasons)


def _days_since_submission(stage: str, rng: random.Random) -> int:
    """Days since submission for a case that sits in `stage` today."""
    if stage in STAGE_DAYS:
        return rng.randrange(*STAGE_DAYS[stage])
    if stage == "qualified":
        return rng.randint(47, 700)
    if stage == "rejected":
        return rng.randint(31, 900)
    return rng.randint(3, 600)


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
        "marital_status_since": _marital_since(marital, applicant, rng),
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


def _marital_since(marital: str, applicant: Person, rng: random.Random) -> date | None:
    """When the applicant married, divorced or was widowed, long enough ago to qualify."""
    age = TODAY.year - applicant.birth.year
    years = {"married": (5, max(6, age - 22)), "divorced": (4, 15), "widowed": (1, 15)}.get(marital)
    return TODAY - timedelta(days=rng.randint(years[0] * 365, years[1] * 365)) if years else None


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
    stage: str,
    submitted: datetime,
    ctx: Context,
) -> Row:
    """An application as filed; `_fill_progress` adds what its stage has reached."""
    rng = ctx.rng
    directed = rng.random() < 0.1
    size = household["household_size"]
    layouts = ("studio", "one_bedroom", "two_bedroom", "three_bedroom")[min(size, 3) - 1 :][:2]
    channels = ("mini_program", "web", "terminal", "street_window")
    return {
        "id": id_,
        "application_no": f"SQ{submitted.year}{district.code}{seq:06d}",
        "household": household["id"],
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
        "admission_year": submitted.year,
        "requested_layout": "any" if rng.random() < 0.2 else rng.choice(layouts),
        "stage": stage,
        "pre_review_result": "pending",
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
        "remarks": "申请人主动撤回申请" if stage == "withdrawn" else None,
    }


def _fill_progress(application: Row, stage: str, reason: str | None, ctx: Context) -> None:
    """Dates and results of the steps an application has passed: publicity is day 10-17."""
    day0 = application["submitted_at"].date()
    pre_failed = reason in PRE_REVIEW_REASONS
    if stage in PASSED_PRE_REVIEW or (stage == "rejected" and not pre_failed):
        application["pre_review_result"] = "passed"
        application["publicity_start"] = day0 + timedelta(days=10)
        application["publicity_end"] = day0 + timedelta(days=17)
    if stage in ("announcement", "qualified", "rejected"):
        application["pre_review_result"] = "failed" if pre_failed else "passed"
        application["reviewer"] = ctx.rng.choice(ctx.reviewers)
        application["reviewed_on"] = day0 + timedelta(days=8 if pre_failed else 30)
        outcome = f"不符合公租房保障条件：{reason}" if reason else "符合公租房保障条件"
        application["review_opinion"] = f"经审核，{outcome}"
    if stage in ("announcement", "qualified"):
        application["announcement_start"] = day0 + timedelta(days=37)
        application["announcement_end"] = day0 + timedelta(days=44)
    if stage == "qualified":
        qualified_on = day0 + timedelta(days=47)
        application["qualified_on"] = qualified_on
        application["qualification_valid_until"] = _add_years(qualified_on, 2)
        application["confirmation_no"] = f"ZG{qualified_on.year}{application['id']:08d}"


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
