"""Row scopes and field rules, for every role in and out of scope, through every read and write
path of `engine.records`: list, search, sort, counts, cursors, get, create, update, delete.

The estate app gets an organisation tree (a city, two districts, three streets and an
enterprise) and buildings in each street; each role's view is compared with the buildings it
should see.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from engine import records
from engine.audit.trail import audit_table
from engine.catalog import CompiledEntity
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.permissions.explain import explain_access
from engine.permissions.organisations import org_table
from engine.principal import SYSTEM, Assignment, Principal
from engine.records.cursor import encode_cursor
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import started_runtime
from tests.definitions import entity, estate, write_folder

ORGS = [  # id, code, name, kind, parent id, path
    (1, "430100", "city centre", "city", None, "/1/"),
    (2, "430102", "district A", "district", 1, "/1/2/"),
    (3, "430102001", "street A1", "street", 2, "/1/2/3/"),
    (4, "430102002", "street A2", "street", 2, "/1/2/4/"),
    (5, "430103", "district B", "district", 1, "/1/5/"),
    (6, "430103001", "street B1", "street", 5, "/1/5/6/"),
    (7, "E91430100", "enterprise E", "enterprise", 1, "/1/7/"),
]
BUILDINGS = [  # name, code, street (org code), owner id number, phone
    ("A1-north", "A1N", "430102001", "110105199001011234", "13812345678"),
    ("A1-south", "A1S", "430102001", "110105199202022345", "13912345678"),
    ("A2-east", "A2E", "430102002", "110105199303033456", "13712345678"),
    ("B1-west", "E91430100-W", "430103001", "110105199404044567", "13612345678"),
    ("B1-hill", "B1H", "430103001", "11010519950505567X", "13512345678"),
]
ROLES = {
    "city_officer": {"actions": ["read", "create", "update", "delete", "unmask"], "scope": "all"},
    "district_officer": {
        "actions": ["read", "create", "update"],
        "scope": "org_subtree",
        "fields": {"code": "readonly"},
    },
    "street_officer": {
        "actions": ["read", "update"],
        "scope": "org_subtree",
        "fields": {"notes": "hidden", "name": "readonly"},
    },
    "tenant": {"actions": ["read", "create"], "scope": "own"},
    "enterprise": {"actions": ["read"], "scope": "startswith(code, concat(user.org_code, '-'))"},
    "auditor": {"actions": ["read"], "scope": "all", "fields": {"owner_id": "hidden"}},
}
HOLDERS = {  # role → the organisation it is held in
    "city_officer": 1,
    "district_officer": 2,
    "street_officer": 3,
    "tenant": None,
    "enterprise": 7,
    "auditor": 1,
}
EXPECTED = {  # role → the buildings it sees
    "city_officer": {"A1-north", "A1-south", "A2-east", "B1-west", "B1-hill"},
    "district_officer": {"A1-north", "A1-south", "A2-east"},
    "street_officer": {"A1-north", "A1-south"},
    "tenant": set(),
    "enterprise": {"B1-west"},
    "auditor": {"A1-north", "A1-south", "A2-east", "B1-west", "B1-hill"},
}


def secured_folder() -> dict[str, Any]:
    folder = estate()
    folder["estate/roles.yaml"]["roles"].update(
        {role: {"label": {"en": role}} for role in ROLES if role != "auditor"}
    )
    building = entity(folder, "building")
    building["fields"].update(
        {
            "street_code": {"type": "string", "max_length": 12},
            "owner_id": {"type": "string", "sensitive": True, "mask": "6*4", "index": True},
            "phone": {"type": "string", "sensitive": True, "mask": "3*4"},
            "notes": {"type": "text"},
        }
    )
    building["org"] = "street_code"
    building["permissions"] = ROLES
    building["search_fields"] = ["name", "code", "notes"]
    unit = entity(folder, "unit")
    unit["org"] = "building.street_code"
    unit["permissions"] = {
        "district_officer": {"actions": ["read", "create", "update"], "scope": "org_subtree"},
    }
    return folder


@pytest.fixture
def secured(settings: Settings) -> Iterator[Runtime]:
    write_folder(settings.apps_config, secured_folder())
    with started_runtime(settings) as runtime:
        with runtime.engine.begin() as conn:
            now = datetime.now(UTC)
            for id_, code, name, kind, parent, path in ORGS:
                conn.execute(
                    org_table.insert().values(
                        id=id_,
                        code=code,
                        name=name,
                        kind=kind,
                        parent_id=parent,
                        path=path,
                        active=True,
                        created_at=now,
                    )
                )
        for name, code, street, owner, phone in BUILDINGS:
            body = {"name": name, "code": code, "street_code": street}
            records.create_record(
                runtime.engine,
                building(runtime),
                {**body, "owner_id": owner, "phone": phone},
                SYSTEM,
            )
        yield runtime


def building(runtime: Runtime) -> CompiledEntity:
    found = runtime.require_catalog().entity("estate", "building")
    assert found is not None
    return found


def unit(runtime: Runtime) -> CompiledEntity:
    found = runtime.require_catalog().entity("estate", "unit")
    assert found is not None
    return found


def holder(role: str, username: str | None = None) -> Principal:
    org_id = HOLDERS[role]
    org = next((o for o in ORGS if o[0] == org_id), None)
    code, path = (org[1], org[5]) if org else (None, None)
    return Principal(
        username or f"{role}_user",
        roles=(role,),
        org_id=org_id,
        user_id=100,
        org_code=code,
        org_path=path,
        assignments=(Assignment(role, org_id, path, code),),
    )


def listed(runtime: Runtime, principal: Principal, params: dict[str, str] | None = None) -> Any:
    entity = building(runtime)
    query = records.parse_list_query(entity, params or {}, 50, 500)
    with runtime.engine.begin() as conn:
        return records.list_records(conn, entity, query, principal)


def ids_by_name(runtime: Runtime) -> dict[str, int]:
    page = listed(runtime, SYSTEM)
    return {item["name"]: item["id"] for item in page.items}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_lists_and_counts_exactly_its_scope(secured: Runtime, role: str) -> None:
    page = listed(secured, holder(role))
    assert {item["name"] for item in page.items} == EXPECTED[role]
    assert page.count == len(EXPECTED[role])


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_reads_in_scope_records_and_gets_404_outside(secured: Runtime, role: str) -> None:
    entity = building(secured)
    for name, record_id in ids_by_name(secured).items():
        with secured.engine.begin() as conn:
            if name in EXPECTED[role]:
                assert records.get_record(conn, entity, record_id, holder(role))["name"] == name
            else:
                with pytest.raises(NotFound):
                    records.get_record(conn, entity, record_id, holder(role))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_search_filters_and_paging_never_reach_beyond_the_scope(
    secured: Runtime, role: str
) -> None:
    principal = holder(role)
    searched = listed(secured, principal, {"q": "1"})
    assert {i["name"] for i in searched.items} <= EXPECTED[role]
    filtered = listed(secured, principal, {"name__startswith": "B1"})
    assert {i["name"] for i in filtered.items} == {n for n in EXPECTED[role] if n.startswith("B1")}
    assert filtered.count == len(filtered.items)
    seen: list[str] = []
    params = {"limit": "1", "sort": "name"}
    page = listed(secured, principal, params)
    while True:
        seen.extend(item["name"] for item in page.items)
        if page.next_cursor is None:
            break
        page = listed(secured, principal, {**params, "cursor": page.next_cursor})
    assert seen == sorted(EXPECTED[role])


def test_a_forged_cursor_cannot_widen_the_scope(secured: Runtime) -> None:
    cursor = encode_cursor("name,id", ["", 0])  # "after nothing": every row, were it not scoped
    page = listed(secured, holder("street_officer"), {"sort": "name", "cursor": cursor})
    assert {item["name"] for item in page.items} == EXPECTED["street_officer"]


def test_hidden_fields_are_neither_shown_nor_searchable_nor_sortable(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    records.update_record(
        secured.engine, building(secured), ids["A1-north"], {"notes": "zebra"}, SYSTEM
    )
    street = holder("street_officer")
    page = listed(secured, street)
    assert all("notes" not in item for item in page.items)
    assert listed(secured, street, {"q": "zebra"}).items == []
    assert [i["name"] for i in listed(secured, holder("city_officer"), {"q": "zebra"}).items] == [
        "A1-north"
    ]
    for params in ({"notes": "zebra"}, {"sort": "notes"}, {"notes__contains": "z"}):
        with pytest.raises(ValidationFailed):
            listed(secured, street, params)


def test_sensitive_values_are_masked_without_unmask_and_clear_with_it(secured: Runtime) -> None:
    street = listed(secured, holder("street_officer"), {"name": "A1-north"}).items[0]
    assert street["owner_id"] == "110105********1234"
    assert street["phone"] == "138****5678"
    city = listed(secured, holder("city_officer"), {"name": "A1-north"}).items[0]
    assert city["owner_id"] == "110105199001011234"
    auditor = listed(secured, holder("auditor"), {"name": "A1-north"}).items[0]
    assert "owner_id" not in auditor
    assert auditor["phone"] == "138****5678"


def test_every_clear_read_of_a_sensitive_value_is_audited(secured: Runtime) -> None:
    listed(secured, holder("city_officer"), {"name": "A1-north"})
    listed(secured, holder("street_officer"), {"name": "A1-north"})
    with secured.engine.connect() as conn:
        entries = conn.execute(
            sa.select(audit_table.c.actor, audit_table.c.detail).where(
                audit_table.c.action == "record.unmask"
            )
        ).all()
    assert [actor for actor, _ in entries] == ["city_officer_user"]
    assert '"owner_id"' in entries[0].detail and '"phone"' in entries[0].detail


def test_sensitive_values_are_ciphertext_in_the_table(secured: Runtime) -> None:
    table = building(secured).table
    with secured.engine.connect() as conn:
        stored = conn.execute(sa.select(table.c.owner_id, table.c.phone)).all()
    plain = {value for row in BUILDINGS for value in row[3:]}
    assert len(stored) == len(BUILDINGS)
    for owner_id, phone in stored:
        assert not any(value in owner_id or value in phone for value in plain)


def test_exact_match_finds_a_sensitive_value_through_the_blind_index(secured: Runtime) -> None:
    street = holder("street_officer")
    found = listed(secured, street, {"owner_id": "110105199202022345"})
    assert [item["name"] for item in found.items] == ["A1-south"]
    assert listed(secured, street, {"owner_id": "11010519950505567x"}).items == []  # out of scope
    city = listed(secured, holder("city_officer"), {"owner_id": "11010519950505567x"})
    assert [item["name"] for item in city.items] == ["B1-hill"]  # x matches X
    for params in ({"owner_id__startswith": "110"}, {"sort": "phone"}, {"phone__gt": "1"}):
        with pytest.raises(ValidationFailed):
            listed(secured, street, params)


def test_updates_respect_scope_read_only_fields_and_the_action(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    entity = building(secured)
    street = holder("street_officer")
    updated = records.update_record(
        secured.engine, entity, ids["A1-north"], {"code": "A1X"}, street
    )
    assert updated["code"] == "A1X"
    with pytest.raises(Forbidden) as refused:
        records.update_record(secured.engine, entity, ids["A1-north"], {"name": "renamed"}, street)
    assert refused.value.details[0]["path"] == "name"
    with pytest.raises(NotFound):
        records.update_record(secured.engine, entity, ids["A2-east"], {"code": "A2X"}, street)
    with pytest.raises(Forbidden):  # the enterprise sees B1-west but may not change it
        records.update_record(
            secured.engine, entity, ids["B1-west"], {"code": "E91430100-X"}, holder("enterprise")
        )


def test_a_write_may_not_move_a_record_out_of_the_writers_scope(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    entity = building(secured)
    street = holder("street_officer")
    with pytest.raises(Forbidden):
        records.update_record(
            secured.engine, entity, ids["A1-north"], {"street_code": "430102002"}, street
        )
    with secured.engine.begin() as conn:
        assert (
            records.get_record(conn, entity, ids["A1-north"], street)["street_code"] == "430102001"
        )
    district = holder("district_officer")
    moved = records.update_record(
        secured.engine, entity, ids["A1-north"], {"street_code": "430102002"}, district
    )
    assert moved["org_id"] == 4  # the organisation follows the org expression


def test_creation_is_checked_against_the_creators_scope(secured: Runtime) -> None:
    entity = building(secured)
    district = holder("district_officer")
    created = records.create_record(
        secured.engine, entity, {"name": "A2-new", "street_code": "430102002"}, district
    )
    assert created["org_id"] == 4
    with pytest.raises(Forbidden):
        records.create_record(
            secured.engine, entity, {"name": "B1-new", "street_code": "430103001"}, district
        )
    assert "B1-new" not in ids_by_name(secured)  # nothing half-written
    with pytest.raises(Forbidden):  # code is read-only for district officers
        records.create_record(
            secured.engine,
            entity,
            {"name": "A2-x", "code": "X", "street_code": "430102002"},
            district,
        )


def test_own_scope_sees_only_what_the_user_created(secured: Runtime) -> None:
    entity = building(secured)
    ann, bob = holder("tenant", "ann"), holder("tenant", "bob")
    records.create_record(secured.engine, entity, {"name": "ann's"}, ann)
    assert [i["name"] for i in listed(secured, ann).items] == ["ann's"]
    assert listed(secured, bob).items == []


def test_deleting_needs_the_delete_action_and_the_record_in_scope(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    entity = building(secured)
    with pytest.raises(Forbidden):
        records.delete_record(secured.engine, entity, ids["A1-north"], holder("district_officer"))
    with pytest.raises(NotFound):
        records.delete_record(secured.engine, entity, ids["B1-hill"], holder("street_officer"))
    records.delete_record(secured.engine, entity, ids["B1-hill"], holder("city_officer"))
    assert "B1-hill" not in ids_by_name(secured)


def test_an_entity_without_a_grant_is_closed_to_the_role(secured: Runtime) -> None:
    query = records.parse_list_query(unit(secured), {}, 50, 500)
    with secured.engine.begin() as conn, pytest.raises(Forbidden):
        records.list_records(conn, unit(secured), query, holder("street_officer"))
    with secured.engine.begin() as conn, pytest.raises(Forbidden):
        records.list_records(conn, unit(secured), query, Principal("anonymous"))


def test_a_reference_to_a_record_out_of_scope_is_refused_like_a_missing_one(
    secured: Runtime,
) -> None:
    ids = ids_by_name(secured)
    district = holder("district_officer")
    created = records.create_record(
        secured.engine, unit(secured), {"code": "A-1", "building": ids["A1-north"]}, district
    )
    assert created["org_id"] == 3  # through the building's street
    with pytest.raises(ValidationFailed) as refused:
        records.create_record(
            secured.engine, unit(secured), {"code": "B-1", "building": ids["B1-hill"]}, district
        )
    assert refused.value.details == [
        {"path": "building", "message": f"no estate.building with id {ids['B1-hill']}"}
    ]


def test_denials_are_on_the_audit_trail(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    with secured.engine.begin() as conn, pytest.raises(NotFound):
        records.get_record(conn, building(secured), ids["B1-hill"], holder("street_officer"))
    with pytest.raises(Forbidden):
        records.update_record(
            secured.engine,
            building(secured),
            ids["A1-north"],
            {"name": "x"},
            holder("street_officer"),
        )
    with secured.engine.connect() as conn:
        denied = conn.execute(
            sa.select(audit_table.c.record_id, audit_table.c.outcome).where(
                audit_table.c.action == "permission.denied"
            )
        ).all()
    assert [(r, o) for r, o in denied] == [
        (str(ids["B1-hill"]), "denied"),
        (str(ids["A1-north"]), "denied"),
    ]


def test_changes_are_audited_with_a_diff_that_hides_sensitive_values(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    records.update_record(
        secured.engine,
        building(secured),
        ids["A1-north"],
        {"code": "A1Z", "phone": "13000000000"},
        holder("city_officer"),
    )
    with secured.engine.connect() as conn:
        detail = conn.execute(
            sa.select(audit_table.c.detail).where(audit_table.c.action == "record.update")
        ).scalar_one()
    assert '"code": ["A1N", "A1Z"]' in detail.replace('":[', '": [').replace('","', '", "')
    assert "13000000000" not in detail and "13812345678" not in detail


def test_explaining_access_names_the_role_and_scope(secured: Runtime) -> None:
    ids = ids_by_name(secured)
    with secured.engine.connect() as conn:
        inside = explain_access(conn, building(secured), ids["A1-north"], holder("street_officer"))
        outside = explain_access(conn, building(secured), ids["A2-east"], holder("street_officer"))
    assert inside["actions"]["read"] == {
        "allowed": True,
        "reason": "granted by street_officer (org_subtree)",
    }
    assert inside["actions"]["delete"]["allowed"] is False
    assert inside["fields"]["notes"] == "hidden"
    assert inside["fields"]["owner_id"] == "masked"
    assert "name" not in inside["writable"] and "code" in inside["writable"]
    assert outside["actions"]["read"]["allowed"] is False
    assert "outside the scope" in outside["actions"]["read"]["reason"]
