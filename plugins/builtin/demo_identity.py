"""Demo organisations and staff accounts built from the demo regions and enterprises.

Pure data, no database: `organisations(regions, enterprises)` turns the `region` and
`enterprise` rows of `demo_housing.generate` into the organisation tree that scopes such as
`org_subtree` walk (city centre → district centres → street offices → community offices, and
the operating enterprises under the district they are registered in); `users(orgs, seed)`
gives each office its staff account. The caller gives every account the same demo password.

    >>> regions = [
    ...     {"id": 1, "name": "长沙市", "code": "430100", "level": "city", "parent": None},
    ...     {"id": 2, "name": "岳麓区", "code": "430104", "level": "district", "parent": 1},
    ...     {"id": 3, "name": "望岳街道", "code": "430104002", "level": "street", "parent": 2},
    ... ]
    >>> [(o["code"], o["name"], o["parent_code"]) for o in organisations(regions, [])]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('430100', '长沙市住房保障服务中心', None),
     ('430104', '岳麓区住房保障服务中心', '430100'),
     ('430104002', '岳麓区望岳街道办事处', '430104')]
    >>> [u["username"] for u in users(organisations(regions, []), seed=1)][:3]
    ['city_430100', 'district_430104', 'street_430104002']
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict

import sqlalchemy as sa

from engine.auth.imports import import_identity
from engine.auth.realm import Realm
from engine.catalog import Catalog
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.records.orgs import assign_all_orgs
from plugins.builtin.demo_common import either, person_name
from plugins.builtin.demo_flows import enter_states

Row = dict[str, Any]

OrgKind = Literal["city", "district", "street", "community", "enterprise"]


class Organisation(TypedDict):
    code: str  # division code for offices, unified social credit code for enterprises
    name: str
    kind: OrgKind
    parent_code: str | None


class DemoUser(TypedDict):
    username: str
    display_name: str
    org_code: str | None  # None for applicants, who act for themselves
    roles: list[str]


APPLICANTS = 5

# The account of each kind of office: username prefix and role.
STAFF: dict[str, tuple[str, str]] = {
    "city": ("city", "city_centre"),
    "district": ("district", "district_centre"),
    "street": ("street", "street_officer"),
    "enterprise": ("enterprise", "enterprise"),
}


def organisations(
    regions: Iterable[Mapping[str, Any]], enterprises: Iterable[Mapping[str, Any]] = ()
) -> list[Organisation]:
    """The organisation tree, parents before children: one office per region, then the
    enterprises, each under the district it is registered in (or the city)."""
    by_id = {region["id"]: region for region in regions}
    city_code: str | None = None
    orgs: list[Organisation] = []
    for region in by_id.values():
        parent = by_id.get(region["parent"])
        if region["level"] == "city":
            city_code = region["code"]
        orgs.append(
            {
                "code": region["code"],
                "name": _office_name(region, parent),
                "kind": region["level"],
                "parent_code": parent["code"] if parent else None,
            }
        )
    for enterprise in enterprises:
        district = by_id.get(enterprise.get("district"))
        orgs.append(
            {
                "code": enterprise["uscc"],
                "name": enterprise["name"],
                "kind": "enterprise",
                "parent_code": district["code"] if district else city_code,
            }
        )
    return orgs


def _office_name(region: Mapping[str, Any], parent: Mapping[str, Any] | None) -> str:
    """长沙市住房保障服务中心, 岳麓区望岳街道办事处, 铜官镇人民政府, 桃花岭社区居民委员会."""
    name = region["name"]
    match region["level"]:
        case "city" | "district":
            return f"{name}住房保障服务中心"
        case "street" if name.endswith("镇"):
            return f"{parent['name'] if parent else ''}{name}人民政府"
        case "street":
            return f"{parent['name'] if parent else ''}{name}办事处"
        case _:
            return f"{parent['name'] if parent else ''}{name}居民委员会"


def users(orgs: Iterable[Organisation], seed: int = 2026) -> list[DemoUser]:
    """One account per city, district and street office and per enterprise, a few
    applicants, an auditor, a configurator, supervisors (one for the city, one per
    district), a device operator and two device supervisors (a high-risk command needs a
    second person); the same seed gives the same names."""
    rng = random.Random(seed)
    found: list[DemoUser] = []
    city_code: str | None = None
    for org in orgs:
        if org["kind"] == "city":
            city_code = org["code"]
        staff = STAFF.get(org["kind"])
        if staff is None:
            continue  # community offices work through their street's officer
        prefix, role = staff
        found.append(
            {
                "username": f"{prefix}_{org['code'].lower()}",
                "display_name": person_name(either(rng), rng),
                "org_code": org["code"],
                "roles": [role],
            }
        )
    for n in range(1, APPLICANTS + 1):
        found.append(_user(f"applicant{n:02d}", rng, None, "applicant"))
    found.append(_user("auditor", rng, city_code, "auditor"))
    found.append(_user("configurator", rng, city_code, "configurator"))
    found.append(_user("supervisor", rng, city_code, "supervisor"))  # the whole city
    for org in orgs:
        if org["kind"] == "district":  # and one supervisor per district centre
            found.append(_user(f"supervisor_{org['code']}", rng, org["code"], "supervisor"))
    found.append(_user("device_operator", rng, city_code, "device_operator"))  # sends commands
    found.append(_user("device_supervisor", rng, city_code, "device_supervisor"))  # approves
    found.append(_user("device_supervisor2", rng, city_code, "device_supervisor"))
    return found


def _user(username: str, rng: random.Random, org_code: str | None, role: str) -> DemoUser:
    return {
        "username": username,
        "display_name": person_name(either(rng), rng),
        "org_code": org_code,
        "roles": [role],
    }


def load(
    realm: Realm, catalog: Catalog, regions: list[Row], enterprises: list[Row], password: str
) -> tuple[int, int]:
    """Store the demo organisations and accounts, place every demo record in its organisation,
    give each demo applicant one of the demo households (with its members, application and
    leases) as its own, and open the tasks and timers of the records waiting in a flow (now
    that their organisations and submitters are settled). Returns the organisations and
    accounts added."""
    orgs = organisations(regions, enterprises)
    accounts = users(orgs)
    added = import_identity(realm, orgs, accounts, password, SYSTEM)
    applicants = [a["username"] for a in accounts if a["roles"] == ["applicant"]]
    with write_transaction(realm.engine) as conn:
        _give_households(conn, catalog, applicants)
        assign_all_orgs(conn, catalog)
    enter_states(realm.engine, catalog)
    return added


def _give_households(conn: sa.Connection, catalog: Catalog, usernames: list[str]) -> None:
    household = catalog.entity("public_rental", "household")
    if household is None:
        return
    first = conn.execute(
        sa.select(household.table.c.id).order_by(household.table.c.id).limit(len(usernames))
    ).scalars()
    owned = dict(zip(first, usernames, strict=False))
    for household_id, username in owned.items():
        conn.execute(
            household.table.update()
            .where(household.table.c.id == household_id)
            .values(created_by=username)
        )
        for referrer in household.referrers:
            table = referrer.entity.table
            conn.execute(
                table.update()
                .where(table.c[referrer.field] == household_id)
                .values(created_by=username)
            )
