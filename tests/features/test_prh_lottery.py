"""From qualification to a lease by lottery, over HTTP with the shipped `apps_config/`: the
waitlist, a round published with its seed hash, drawn, an offer given up and passed on, the
round closed into lease contracts, and the public page that lets anyone re-run the draw.

The people and the clock are those of `test_prh_flow.py` (`chen` and `lin` review for the
Yuelu district centre and run its lotteries; `jiang` and `wu` are street officers).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
from starlette.testclient import TestClient

from plugins.builtin.lottery.draw import draw
from tests.features import test_prh_flow
from tests.features.test_prh_flow import APPLICATIONS, World, apply, local, moved, take
from tests.identity import anonymous

world = test_prh_flow.world  # the fixture: the people, regions and clock of the PRH flow tests

ENTRIES = "/api/public_rental/waitlist_entry"
ROUNDS = "/api/public_rental/lottery_round"
ALLOCATIONS = "/api/public_rental/allocation"
CONTRACTS = "/api/public_rental/lease_contract"
UNITS = "/api/housing_stock/housing_unit"
LOTTERY_DAY = date(2026, 6, 1)  # a Monday, after the families qualified on 23 May


def qualify(
    world: World, count: int, subsidy: tuple[int, ...] = (), disabled: tuple[int, ...] = ()
):
    """`count` families applying on 27 April and qualified together on 23 May; those in
    `subsidy` ask for a rent subsidy, those in `disabled` have a disabled child."""
    applications = []
    for n in range(count):
        application = apply(world)
        if n in subsidy:
            changed = world.applicant.patch(
                f"{APPLICATIONS}/{application['id']}", json={"security_mode": "rent_subsidy"}
            )
            assert changed.status_code == 200, changed.text
        if n in disabled:
            members = world.admin.get(
                "/api/public_rental/household_member",
                params={"household": application["household"], "relation": "child"},
            ).json()["items"]
            patched = world.admin.patch(
                f"/api/public_rental/household_member/{members[0]['id']}",
                json={"disability_grade": "grade_2"},
            )
            assert patched.status_code == 200, patched.text
        assert moved(world.applicant, application, "submit")["state"] == "street_review"
        applications.append(application)
    world.at(local(date(2026, 4, 29)))
    for application in applications:
        moved(world.jiang, application, "street_approve")
    world.at(local(date(2026, 5, 13), 0, 0, 1))
    world.sweep()
    world.at(local(date(2026, 5, 13)))
    for application in applications:
        moved(world.chen, application, "district_approve")
        moved(world.lin, application, "district_approve")
    world.at(local(date(2026, 5, 23), 0, 0, 1))
    world.sweep()
    for application in applications:
        found = world.chen.get(f"{APPLICATIONS}/{application['id']}").json()
        assert found["state"] == "qualified", found
    world.at(local(LOTTERY_DAY))
    return applications


def entries_of(client: TestClient, applications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The waitlist entries of `applications`, in the same order."""
    found = {
        e["application"]: e for e in client.get(ENTRIES, params={"limit": 100}).json()["items"]
    }
    return [found[a["id"]] for a in applications]


def housing_units(world: World) -> list[dict[str, Any]]:
    """Two vacant public rental units in 橘子洲街道 and one already let."""
    admin, district, street = world.admin, world.regions["430104"], world.regions["430104001"]
    project = admin.post(
        "/api/housing_stock/project",
        json={
            "name": "洋湖公租房小区",
            "code": "XM4301040001",
            "housing_type": "public_rental",
            "district": district,
            "street": street,
            "address": "长沙市岳麓区洋湖大道 88 号",
        },
    )
    assert project.status_code == 201, project.text
    building = admin.post(
        "/api/housing_stock/building",
        json={
            "project": project.json()["id"],
            "code": "430104-0001-001",
            "building_no": "1",
            "name": "1 栋",
            "floors_above_ground": 18,
        },
    )
    assert building.status_code == 201, building.text
    units = []
    for room, usable, standard, status in (
        ("0501", "43.00", "2.60", "vacant"),  # 2.6 × 43.0 = 111.80
        ("0802", "51.25", "2.80", "vacant"),  # 2.8 × 51.25 = 143.50
        ("1103", "43.00", "2.60", "let"),
    ):
        unit = admin.post(
            UNITS,
            json={
                "code": f"430104-0001-001-01-{room}",
                "project": project.json()["id"],
                "building": building.json()["id"],
                "district": district,
                "street": street,
                "floor": int(room[:2]),
                "room_no": room,
                "building_area": "60.00",
                "usable_area": usable,
                "housing_type": "public_rental",
                "rent_standard": standard,
                "status": status,
                "address": f"长沙市岳麓区洋湖大道 88 号 1 栋 {room}",
            },
        )
        assert unit.status_code == 201, unit.text
        units.append(unit.json())
    return units


def new_round(world: World, **values: Any) -> dict[str, Any]:
    body = {
        "round_no": "YH2026430104-01",
        "title": "2026 年第一批岳麓区公租房摇号配租",
        "district": world.regions["430104"],
        "mode": "one_of_two",
        **values,
    }
    response = world.chen.post(ROUNDS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["state"] == "draft"
    return created


def allocations(client: TestClient, lottery: dict[str, Any]) -> list[dict[str, Any]]:
    params = {"round": lottery["id"], "sort": "sequence_no"}
    items: list[dict[str, Any]] = client.get(ALLOCATIONS, params=params).json()["items"]
    return items


def unit_status(world: World, unit: dict[str, Any]) -> str:
    status: str = world.admin.get(f"{UNITS}/{unit['id']}").json()["status"]
    return status


def test_qualified_families_enter_the_waitlist_in_order(world: World) -> None:
    applications = qualify(world, 4, subsidy=(3,), disabled=(2,))
    first, second, disabled, subsidy = entries_of(world.chen, applications)
    assert [e["status"] for e in (first, second, disabled, subsidy)] == [
        "waiting",
        "waiting",
        "waiting",
        "subsidy",
    ]
    assert (disabled["has_disabled_member"], first["has_disabled_member"]) == (True, False)
    assert first["qualified_on"] == "2026-05-23"
    assert first["qualification_valid_until"] == "2028-05-23"
    assert first["confirmation_no"].startswith("ZG2026")
    # the disabled family first, then by qualification date and order of entry
    positions = [e["position"] for e in (disabled, first, second, subsidy)]
    assert positions == [1, 2, 3, None]

    assert len(world.jiang.get(ENTRIES).json()["items"]) == 4  # the street's own
    assert world.wu.get(ENTRIES).json()["items"] == []  # another street's officer
    changed = world.chen.patch(f"{ENTRIES}/{first['id']}", json={"position": 1})
    assert changed.status_code == 403  # positions are the waitlist's

    scheme = {"name": "by entry", "sort": [{"key": "entry_order"}]}
    simulated = world.chen.post("/api/plugins/waitlist/simulate", json={"scheme": scheme})
    assert simulated.status_code == 200, simulated.text
    answer = simulated.json()
    assert (answer["current"], answer["changed"], answer["today"]) == (
        "prh",
        "by entry",
        "2026-06-01",
    )
    moves = [
        (e["id"], e["old_position"], e["new_position"], e["moved_by"]) for e in answer["entries"]
    ]
    assert moves == [(first["id"], 2, 1, 1), (second["id"], 3, 2, 1), (disabled["id"], 1, 3, -2)]
    assert answer["summary"]["max_move"] == 2
    other_street = world.wu.post("/api/plugins/waitlist/simulate", json={"scheme": scheme})
    assert other_street.json()["entries"] == []  # counted, not shown
    assert other_street.json()["summary"]["entries"] == 3
    unknown_key = world.chen.post(
        "/api/plugins/waitlist/simulate", json={"scheme": {"sort": [{"key": "x", "way": 1}]}}
    )
    assert unknown_key.status_code == 422
    assert anonymous(world.admin).post("/api/plugins/waitlist/simulate", json={}).status_code == 401


def test_a_round_from_publication_to_lease_contracts(world: World) -> None:
    applications = qualify(world, 4, disabled=(2,))
    first, second, disabled, fourth = entries_of(world.chen, applications)
    units = housing_units(world)
    lottery = new_round(world)
    public = anonymous(world.admin)
    assert public.get(f"/public/lottery/{lottery['id']}").status_code == 404  # not published

    # Published: families and units frozen, the seed committed to by its hash only ----------
    published = moved(world.chen, lottery, "publish", ROUNDS)
    assert published["state"] == "published"
    assert len(published["seed_hash"]) == 64 and published["seed"] is None
    assert "sealed_seed" not in published
    assert published["participants"] == [
        {"id": disabled["id"], "groups": ["disabled"]},
        {"id": first["id"], "groups": []},
        {"id": second["id"], "groups": []},
        {"id": fourth["id"], "groups": []},
    ]
    assert (published["participant_count"], published["unit_count"]) == (4, 2)
    assert published["units"] == [units[0]["id"], units[1]["id"]]  # not the let one
    assert [unit_status(world, u) for u in units] == ["reserved", "reserved", "let"]
    before_draw = [
        world.admin.get(f"{ROUNDS}/{lottery['id']}").text,
        world.chen.get(f"{ROUNDS}/{lottery['id']}").text,
        world.jiang.get(f"{ROUNDS}/{lottery['id']}").text,
        public.get(f"/public/lottery/{lottery['id']}").text,
        world.admin.get("/api/audit", params={"limit": 200}).text,
    ]
    page = public.get(f"/public/lottery/{lottery['id']}").json()
    assert (page["seed_hash"], page["seed"], page["result"]) == (
        published["seed_hash"],
        None,
        None,
    )
    assert page["participant_digest"] == published["participant_digest"]
    assert page["participants"] == published["participants"]
    tampered = world.admin.patch(
        f"{ROUNDS}/{lottery['id']}", json={"seed_hash": "0" * 64, "mode": "direct"}
    )
    assert tampered.status_code == 409  # frozen once published, even for an administrator
    assert world.chen.patch(f"{ROUNDS}/{lottery['id']}", json={"seed": "0"}).status_code == 403

    # Drawn: the seed revealed with the result, the units offered in sequence order ----------
    drawn = moved(world.chen, lottery, "draw", ROUNDS)
    seed = drawn["seed"]
    assert hashlib.sha256(seed.encode()).hexdigest() == published["seed_hash"]
    assert [seed in text for text in before_draw] == [False] * 5  # nobody saw it before
    result = drawn["result"]
    sequence = [d["id"] for d in result["sequence"]]
    assert sequence[0] == disabled["id"]  # the priority group is drawn first
    assert result["sequence"][0]["group"] == "disabled"
    assert (result["mode"], result["slots"], result["called"]) == ("one_of_two", 2, 4)
    offers = allocations(world.chen, lottery)
    assert [
        (a["sequence_no"], a["waitlist_entry"], a["housing_unit"], a["state"]) for a in offers
    ] == [
        (1, sequence[0], units[0]["id"], "offered"),
        (2, sequence[1], units[1]["id"], "offered"),
    ]

    # The first family gives its unit up: it passes to the third in sequence ---------------
    no_reason = take(world.chen, offers[0], "give_up", ALLOCATIONS)
    assert no_reason.status_code == 422
    moved(
        world.chen,
        offers[0],
        "give_up",
        ALLOCATIONS,
        comment="家庭书面放弃",
        give_up_reason="距离工作地点太远",
    )
    offers = allocations(world.chen, lottery)
    assert [(a["sequence_no"], a["housing_unit"], a["state"]) for a in offers] == [
        (1, units[0]["id"], "given_up"),
        (2, units[1]["id"], "offered"),
        (3, units[0]["id"], "offered"),
    ]
    assert offers[2]["waitlist_entry"] == sequence[2]
    early = take(world.chen, lottery, "close", ROUNDS)
    assert early.status_code == 409
    assert "sequence no. 2, 3 are still open" in early.json()["error"]["message"]
    for offer in offers[1:]:
        assert moved(world.chen, offer, "accept", ALLOCATIONS)["state"] == "accepted"

    # Closed: lease contracts at rent standard × usable area, the queue moves on ------------
    closed = moved(world.chen, lottery, "close", ROUNDS)
    assert closed["state"] == "closed"
    contracts = world.chen.get(CONTRACTS, params={"sort": "contract_no"}).json()["items"]
    assert [
        (
            c["contract_no"],
            c["housing_unit"],
            c["rent_standard"],
            c["usable_area"],
            c["monthly_rent"],
        )
        for c in contracts
    ] == [
        ("HT2026430104000001", units[1]["id"], "2.80", "51.25", "143.50"),
        ("HT2026430104000002", units[0]["id"], "2.60", "43.00", "111.80"),
    ]
    assert {(c["status"], c["start_date"], c["end_date"], c["term_months"]) for c in contracts} == {
        ("draft", "2026-06-01", "2029-05-31", 36)
    }
    assert [a["lease_contract"] for a in allocations(world.chen, lottery)] == [
        None,
        contracts[0]["id"],
        contracts[1]["id"],
    ]
    assert [unit_status(world, u) for u in units] == ["allocated", "allocated", "let"]
    after = {e["id"]: e for e in entries_of(world.chen, applications)}
    housed = {sequence[1], sequence[2]}
    assert {i for i, e in after.items() if e["status"] == "allocated"} == housed
    still_waiting = sorted(
        (e["position"], e["id"], e["lottery_failures"])
        for e in after.values()
        if e["status"] == "waiting"
    )
    assert [entry_id for _, entry_id, _ in still_waiting] == [sequence[0], sequence[3]]
    assert [position for position, _, _ in still_waiting] == [1, 2]
    failures = {entry_id: count for _, entry_id, count in still_waiting}
    assert failures == {sequence[0]: 0, sequence[3]: 1}  # gave up: no failure; never offered: one

    # Anyone re-runs the draw from the public page ------------------------------------------
    page = public.get(f"/public/lottery/{lottery['id']}").json()
    assert (page["state"], page["seed"], page["result"]) == ("closed", seed, result)
    assert page["groups_order"][0] == "disabled"
    rerun = draw(
        page["seed"], page["participants"], page["groups_order"], page["units"], page["mode"]
    )
    assert rerun.model_dump() == page["result"]
    body = {
        "seed": page["seed"],
        "seed_hash": page["seed_hash"],
        "participants": page["participants"],
        "result": page["result"],
    }
    assert public.post("/api/plugins/lottery/verify", json=body).status_code == 401
    report = world.jiang.post("/api/plugins/lottery/verify", json=body)
    assert report.status_code == 200, report.text
    assert report.json()["verified"] is True
    dropped = dict(body, participants=page["participants"][1:])
    report = world.jiang.post("/api/plugins/lottery/verify", json=dropped).json()
    assert report["verified"] is False
    assert report["changes"]["removed"] == [page["participants"][0]["id"]]


def test_a_round_is_published_only_with_vacant_units(world: World) -> None:
    qualify(world, 1)
    lottery = new_round(world)
    refused = take(world.chen, lottery, "publish", ROUNDS)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"path": "units", "message": "no vacant public rental unit matches the round"}
    ]
    assert world.chen.get(f"{ROUNDS}/{lottery['id']}").json()["state"] == "draft"

    vacant, _, let = housing_units(world)
    path = f"{ROUNDS}/{lottery['id']}"
    assert world.chen.patch(path, json={"units": [let["id"]]}).status_code == 200
    refused = take(world.chen, lottery, "publish", ROUNDS)
    assert refused.json()["error"]["details"] == [
        {"path": "units", "message": "unit 430104-0001-001-01-1103 is not vacant"}
    ]
    assert world.chen.patch(path, json={"units": [vacant["id"]]}).status_code == 200
    published = moved(world.chen, lottery, "publish", ROUNDS)
    assert (published["units"], published["unit_count"]) == ([vacant["id"]], 1)
    assert unit_status(world, vacant) == "reserved"


def test_a_cancelled_round_releases_its_units(world: World) -> None:
    qualify(world, 1)
    units = housing_units(world)
    lottery = new_round(world, mode="direct")
    published = moved(world.chen, lottery, "publish", ROUNDS)
    assert [unit_status(world, u) for u in units[:2]] == ["reserved", "reserved"]
    cancelled = moved(world.chen, lottery, "cancel", ROUNDS, comment="房源调整，取消本批次")
    assert cancelled["state"] == "cancelled"
    assert [unit_status(world, u) for u in units[:2]] == ["vacant", "vacant"]
    assert hashlib.sha256(cancelled["seed"].encode()).hexdigest() == published["seed_hash"]
    assert world.jiang.get(ALLOCATIONS).json()["items"] == []


@pytest.mark.parametrize("client, status", [("jiang", 403), ("applicant", 404)])
def test_only_the_centre_runs_a_lottery(world: World, client: str, status: int) -> None:
    """A street officer sees rounds but may not publish one; a family does not see it."""
    lottery = new_round(world)
    assert take(getattr(world, client), lottery, "publish", ROUNDS).status_code == status
    assert world.chen.get(f"{ROUNDS}/{lottery['id']}").json()["state"] == "draft"
