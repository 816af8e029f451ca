"""Demo data for the shipped apps: Changsha estates, units, households, leases, rent bills
and rent subsidies (`demo_rental`, `demo_bills` and `demo_subsidy` make the later parts).

A pure generator with no database: `generate(units, start_ids)` yields `(app, entity, rows)`
batches in dependency order. Each row maps field names to Python values plus an explicit `id`;
reference fields hold the id of a row yielded earlier. The same seed gives the same rows.

    >>> [entity for _, entity, _ in generate(200, {})][:4]
    ['region', 'enterprise', 'project', 'unit_type']

Codes: house `430104-0012-003-02-0501` (district-project-building-stairwell-floor and room),
building `430104-0012-003`, project `XM4301040012`, application `SQ2025430104000123`,
contract `HT2025430104000088`. ID numbers (GB 11643) and credit codes (GB 32100) have valid
check characters.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate, islice, product

from plugins.builtin.demo_bills import bill_batches
from plugins.builtin.demo_common import (
    BRANDS,
    CENT,
    COMMUNITIES,
    DISTRICTS_TEXT,
    ESTATE_WORDS,
    FIRM_KINDS,
    FLOORS,
    HOUSING_TYPES,
    HOUSING_WEIGHTS,
    LEASED_TYPES,
    MAX_HOUSEHOLDS,
    MICRO,
    NAME_SUFFIX,
    OPERATING_YEARS,
    ORIENTATIONS,
    PUBLIC_RENT_CENTS,
    RENT_CENTS,
    SLOW_STATUS_CUMULATIVE,
    STATUS_CUMULATIVE,
    STATUSES,
    STOCK,
    TODAY,
    UNIT_TYPES,
    Batch,
    Building,
    District,
    Ids,
    LetUnit,
    Project,
    Row,
    UnitType,
    _add_years,
    _words,
    batched,
    org_check_char,
    person_name,
    phone,
    street_address,
)
from plugins.builtin.demo_rental import rental_batches
from plugins.builtin.demo_subsidy import recipient_count, subsidy_batches
from plugins.builtin.demo_suppliers import supplier_batches
from plugins.builtin.demo_waitlist import waitlist_batches
from plugins.builtin.identity_numbers import USCC_CHARS, uscc_check_digit


def generate(
    units: int, start_ids: Mapping[tuple[str, str], int], seed: int = 2026
) -> Iterator[Batch]:
    """Yield (app, entity, rows) batches in dependency order; rows carry explicit integer `id`s."""
    rng = random.Random(seed)
    ids = Ids(start_ids)
    districts, regions = region_rows(ids, rng)
    yield from batched(STOCK, "region", regions)
    projects = plan_projects(units, districts, ids, rng)
    enterprises = enterprise_rows(max(2, -(-len(projects) // 8)), districts, ids, rng)
    yield from batched(STOCK, "enterprise", enterprises)
    enterprise_ids = [row["id"] for row in enterprises]
    yield from batched(STOCK, "project", [project_row(p, enterprise_ids, rng) for p in projects])
    yield from batched(STOCK, "unit_type", [r for p in projects for r in unit_type_rows(p)])
    yield from batched(STOCK, "building", [r for p in projects for r in building_rows(p, rng)])
    let_units: list[LetUnit] = []
    yield from batched(STOCK, "housing_unit", unit_rows(projects, let_units, ids, rng))
    households: dict[int, Row] = {}
    members: dict[int, list[Row]] = {}
    applications: list[Row] = []
    contracts: list[Row] = []
    count = min(units // 10, MAX_HOUSEHOLDS)
    for batch in rental_batches(count, districts, enterprise_ids, let_units, ids, rng):
        _, entity, rows = batch
        if entity == "household":
            households.update((row["id"], row) for row in rows)
        elif entity == "household_member":
            for row in rows:
                members.setdefault(row["household"], []).append(row)
        elif entity == "application":
            applications.extend(rows)
        elif entity == "lease_contract":
            contracts.extend(rows)
        yield batch
    tenants = {row["household"] for row in contracts}
    yield from waitlist_batches(
        applications, households, members, tenants, ids, random.Random(f"{seed}-waitlist")
    )
    yield from bill_batches(contracts, ids, random.Random(f"{seed}-bills"))
    subsidised = [row["household"] for row in applications if _chose_subsidy(row)]
    recipients = recipient_count(units)
    chosen = [households[h] for h in subsidised[:recipients]]
    yield from subsidy_batches(recipients, districts, chosen, ids, random.Random(f"{seed}-subsidy"))
    yield from supplier_batches(ids, districts, enterprise_ids, random.Random(f"{seed}-suppliers"))


def _chose_subsidy(application: Row) -> bool:
    return application["state"] == "qualified" and application["security_mode"] == "rent_subsidy"


def region_rows(ids: Ids, rng: random.Random) -> tuple[list[District], list[Row]]:
    """Changsha with its districts, their streets and two communities per street."""
    city = ids.take(STOCK, "region")
    rows = [_region(city, "长沙市", "430100", "city", None, 0)]
    districts = []
    for order, paragraph in enumerate(DISTRICTS_TEXT.strip().split("\n\n"), 1):
        heading, roads, streets = paragraph.splitlines()
        name, code, lng, lat, weight = heading.split()
        district = ids.take(STOCK, "region")
        rows.append(_region(district, name, code, "district", city, order))
        street_ids = []
        for s, street in enumerate(_words(streets), 1):
            street_name = street if street.endswith("镇") else f"{street}街道"
            street_id = ids.take(STOCK, "region")
            street_ids.append((street_id, street_name))
            rows.append(_region(street_id, street_name, f"{code}{s:03d}", "street", district, s))
            rows.extend(_communities(street_id, f"{code}{s:03d}", ids, rng))
        centre = (float(lng), float(lat))
        found = District(
            district, name, code, centre, int(weight), _words(roads), tuple(street_ids)
        )
        districts.append(found)
    return districts, rows


def _communities(street_id: int, street_code: str, ids: Ids, rng: random.Random) -> list[Row]:
    """Two communities of a street, coded with three more digits."""
    return [
        _region(
            ids.take(STOCK, "region"),
            f"{name}社区",
            f"{street_code}{c:03d}",
            "community",
            street_id,
            c,
        )
        for c, name in enumerate(rng.sample(COMMUNITIES, 2), 1)
    ]


def _region(id_: int, name: str, code: str, level: str, parent: int | None, order: int) -> Row:
    return {
        "id": id_,
        "name": name,
        "code": code,
        "level": level,
        "parent": parent,
        "sort_order": order,
    }


def enterprise_rows(
    count: int, districts: list[District], ids: Ids, rng: random.Random
) -> list[Row]:
    """Operating enterprises with valid unified social credit codes."""
    kinds = list(FIRM_KINDS)
    rows = []
    for n in range(count):
        district = rng.choice(districts)
        kind = kinds[n % len(kinds)]
        brand = BRANDS[n % len(BRANDS)]
        name = f"长沙{brand}{kind}" if n < len(BRANDS) * len(kinds) else f"长沙{brand}第{n}{kind}"
        rows.append(
            {
                "id": ids.take(STOCK, "enterprise"),
                "name": name,
                "short_name": name.removeprefix("长沙").removesuffix("有限公司")[:30],
                "uscc": uscc(district.code, rng),
                "enterprise_type": FIRM_KINDS[kind],
                "legal_representative": person_name(rng.choice(("male", "female")), rng),
                "contact": person_name(rng.choice(("male", "female")), rng),
                "phone": phone(rng),
                "email": f"service{n + 1:03d}@cs-anju.cn",
                "district": district.id,
                "registered_address": street_address(district, rng),
                "office_address": street_address(district, rng),
                "registered_capital": Decimal(rng.randrange(1_000, 50_000, 100)).quantize(CENT),
                "founded_on": date(rng.randint(1998, 2021), rng.randint(1, 12), rng.randint(1, 28)),
                "business_scope": "住房租赁；物业管理；房地产经纪；停车场服务；家政服务。",
                "credit_score": rng.randint(72, 100) - (30 if n % 9 == 4 else 0),  # a few low
                "status": "active",
            }
        )
    return rows


def uscc(district_code: str, rng: random.Random) -> str:
    """A unified social credit code for an enterprise registered in `district_code`."""
    org_body = "MA4" + "".join(rng.choices(USCC_CHARS, k=5))
    body = f"91{district_code}{org_body}{org_check_char(org_body)}"
    return body + uscc_check_digit(body)


def plan_projects(
    units: int, districts: list[District], ids: Ids, rng: random.Random
) -> list[Project]:
    """Projects and their buildings, the last building cut short so that exactly `units` exist."""
    weights = tuple(accumulate(d.weight for d in districts))
    kinds = tuple(accumulate(HOUSING_WEIGHTS))
    seqs: dict[str, int] = {}
    names: set[str] = set()
    projects: list[Project] = []
    remaining = units
    while remaining > 0:
        district = rng.choices(districts, cum_weights=weights)[0]
        seqs[district.code] = seqs.get(district.code, 0) + 1
        kind = rng.choices(HOUSING_TYPES, cum_weights=kinds)[0] if projects else "public_rental"
        street = rng.choice(district.streets)
        project = Project(
            id=ids.take(STOCK, "project"),
            seq=seqs[district.code],
            name=_project_name(street[1], kind, names, rng),
            district=district,
            street=street,
            address=street_address(district, rng),
            housing_type=kind,
            completed_on=date(rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28)),
        )
        project.unit_types = _plan_unit_types(kind, ids, rng)
        for number in range(1, rng.randint(3, 14) + 1):
            if remaining <= 0:
                break
            project.buildings.append(_plan_building(number, remaining, ids, rng))
            remaining -= project.buildings[-1].units
        projects.append(project)
    return projects


def _project_name(street: str, kind: str, taken: set[str], rng: random.Random) -> str:
    place = street.removesuffix("街道").removesuffix("镇")
    name = f"{place}{rng.choice(ESTATE_WORDS)}{NAME_SUFFIX[kind]}"
    phase = 1
    while name in taken:
        phase += 1
        name = f"{place}{rng.choice(ESTATE_WORDS)}{NAME_SUFFIX[kind]}（{phase}期）"
    taken.add(name)
    return name


def _plan_unit_types(kind: str, ids: Ids, rng: random.Random) -> list[UnitType]:
    """Two to four neighbouring unit types sharing the project's rent standard."""
    cents = RENT_CENTS.get(kind)
    rent_standard = Decimal(rng.randint(*cents) if cents else rng.choice(PUBLIC_RENT_CENTS))
    rent_standard = rent_standard.scaleb(-2)
    first = rng.randint(0, 2)
    chosen = UNIT_TYPES[first : first + rng.randint(2, 4 - first)]
    types = []
    for code, (layout, _name, _bedrooms, _living, low, high) in zip("ABCD", chosen, strict=False):
        usable = Decimal(rng.randint(low * 10, high * 10)).scaleb(-1).quantize(CENT)
        building_area = (usable / Decimal(rng.uniform(0.72, 0.8))).quantize(CENT)
        unit_type = UnitType(
            id=ids.take(STOCK, "unit_type"),
            code=code,
            layout=layout,
            building_area=building_area,
            inner_area=((usable + building_area) / 2).quantize(CENT),
            usable_area=usable,
            rent_standard=rent_standard,
            monthly_rent=(rent_standard * usable).quantize(CENT, ROUND_HALF_UP),
        )
        types.append(unit_type)
    return types


def _plan_building(number: int, remaining: int, ids: Ids, rng: random.Random) -> Building:
    floors = rng.choice(FLOORS)
    stairwells = rng.randint(1, 2) if floors > 12 else rng.randint(2, 3)
    per_floor = rng.randint(2, 6)
    units = min(remaining, floors * stairwells * per_floor)
    return Building(ids.take(STOCK, "building"), number, floors, stairwells, per_floor, units)


def _unit_type_at(project: Project, position: int) -> UnitType:
    """Position p on a floor (0-based) always holds the same unit type."""
    return project.unit_types[position % len(project.unit_types)]


def _position_counts(building: Building) -> list[int]:
    """How many units of the building sit at each position on a floor."""
    full, part = divmod(building.units, building.per_floor)
    return [full + (position < part) for position in range(building.per_floor)]


def _floor_area(project: Project, building: Building) -> Decimal:
    counts = _position_counts(building)
    areas = (_unit_type_at(project, p).building_area * n for p, n in enumerate(counts))
    return sum(areas, Decimal("0.00"))


def project_row(project: Project, enterprise_ids: list[int], rng: random.Random) -> Row:
    """The `project` row of a planned project."""
    lng, lat = project.district.centre
    floor_area = sum((_floor_area(project, b) for b in project.buildings), Decimal("0.00"))
    row: Row = {
        "id": project.id,
        "name": project.name,
        "code": f"XM{project.district.code}{project.seq:04d}",
        "housing_type": project.housing_type,
        "supply_target": "directed" if rng.random() < 0.15 else "non_directed",
        "funding_source": rng.choice(("city", "district", "district", "enterprise")),
        "district": project.district.id,
        "street": project.street[0],
        "address": project.address,
        "enterprise": rng.choice(enterprise_ids),
        "responsible_person": person_name(rng.choice(("male", "female")), rng),
        "phone": phone(rng),
        "building_count": len(project.buildings),
        "total_units": sum(b.units for b in project.buildings),
        "land_area": (floor_area / Decimal(rng.uniform(2.0, 3.2))).quantize(CENT),
        "floor_area": floor_area,
        "total_investment": (floor_area * rng.randint(3000, 4500) / 10_000).quantize(CENT),
        "started_on": project.completed_on - timedelta(days=rng.randint(540, 1100)),
        "completed_on": project.completed_on,
        "opened_on": project.completed_on + timedelta(days=rng.randint(60, 270)),
        "status": "operating",
        "longitude": Decimal(lng + rng.uniform(-0.06, 0.06)).quantize(MICRO),
        "latitude": Decimal(lat + rng.uniform(-0.05, 0.05)).quantize(MICRO),
        "description": f"{project.name}位于{project.district.name}{project.street[1]}，"
        f"共{len(project.buildings)}栋，由运营企业统一运营管理。",
    }
    row["operating_term_end"] = _add_years(row["opened_on"], OPERATING_YEARS)
    return row


def unit_type_rows(project: Project) -> list[Row]:
    """The unit types of one project, each with its number of units."""
    counts = dict.fromkeys((t.id for t in project.unit_types), 0)
    for building in project.buildings:
        for position, count in enumerate(_position_counts(building)):
            counts[_unit_type_at(project, position).id] += count
    layouts = {entry[0]: entry for entry in UNIT_TYPES}
    return [
        {
            "id": t.id,
            "project": project.id,
            "code": t.code,
            "name": f"{t.code}户型 {layouts[t.layout][1]}",
            "layout": t.layout,
            "bedrooms": layouts[t.layout][2],
            "living_rooms": layouts[t.layout][3],
            "bathrooms": 1,
            "building_area": t.building_area,
            "usable_area": t.usable_area,
            "unit_count": counts[t.id],
            "floor_plan": None,
            "description": None,
        }
        for t in project.unit_types
    ]


def building_rows(project: Project, rng: random.Random) -> list[Row]:
    """The buildings of one project."""
    prefix = f"{project.district.code}-{project.seq:04d}"
    return [
        {
            "id": b.id,
            "project": project.id,
            "code": f"{prefix}-{b.number:03d}",
            "building_no": f"{b.number:02d}",
            "name": f"{b.number:02d}号楼",
            "floors_above_ground": b.floors,
            "floors_below_ground": 1 if b.floors > 12 else 0,
            "stairwells": b.stairwells,
            "units_per_floor": b.per_floor,
            "total_units": b.units,
            "elevator": b.floors > 7,
            "structure": "reinforced_concrete"
            if b.floors > 7
            else rng.choice(("mixed", "brick_wood")),
            "floor_area": _floor_area(project, b),
            "completed_on": project.completed_on,
            "supply_status": "supplied",
        }
        for b in project.buildings
    ]


def unit_rows(
    projects: list[Project], let_units: list[LetUnit], ids: Ids, rng: random.Random
) -> Iterator[Row]:
    """Every housing unit in code order; let public-rental units are noted in `let_units`."""
    random_ = rng.random
    total = sum(b.units for p in projects for b in p.buildings)
    first_id = ids.take(STOCK, "housing_unit", total)
    unit_ids = iter(range(first_id, first_id + total))
    for project in projects:
        district = project.district
        leased = project.housing_type in LEASED_TYPES
        # one project in eleven lets slowly, so some projects' vacancy rate is too high
        slow = project.seq % 11 == 5
        cumulative = SLOW_STATUS_CUMULATIVE if slow else STATUS_CUMULATIVE
        decoration = rng.choice(("simple", "simple", "fine", "bare"))
        for building in project.buildings:
            code = f"{district.code}-{project.seq:04d}-{building.number:03d}-"
            estate = f"{district.code}{project.seq:06d}GB{project.seq:05d}F{building.number:04d}"
            address = f"{project.address}{project.name}{building.number:02d}号楼"
            places = product(
                range(1, building.stairwells + 1),
                range(1, building.floors + 1),
                range(building.per_floor),
            )
            for index, (stairwell, floor, position) in enumerate(islice(places, building.units), 1):
                unit_type = _unit_type_at(project, position)
                status = STATUSES[bisect(cumulative, random_())]
                room = f"{floor:02d}{position + 1:02d}"
                unit_id = next(unit_ids)
                if leased and status == "let":
                    let_units.append(LetUnit(unit_id, unit_type, district))
                vacant_days = rng.randint(3, 540) if status == "vacant" else None
                yield {
                    "id": unit_id,
                    "code": f"{code}{stairwell:02d}-{room}",
                    "real_estate_unit_code": f"{estate}{index:04d}",
                    "project": project.id,
                    "building": building.id,
                    "district": district.id,
                    "street": project.street[0],
                    "stairwell": f"{stairwell:02d}",
                    "floor": floor,
                    "room_no": room,
                    "unit_type": unit_type.id,
                    "layout": unit_type.layout,
                    "building_area": unit_type.building_area,
                    "inner_area": unit_type.inner_area,
                    "usable_area": unit_type.usable_area,
                    "orientation": ORIENTATIONS[position % len(ORIENTATIONS)],
                    "decoration": decoration,
                    "housing_type": project.housing_type,
                    "rent_standard": unit_type.rent_standard,
                    "monthly_rent": unit_type.monthly_rent,
                    "status": status,
                    "vacant_since": TODAY - timedelta(days=vacant_days) if vacant_days else None,
                    "address": f"{address}{stairwell:02d}单元{room}室",
                    "remarks": None,
                }
