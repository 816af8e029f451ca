"""The `update` action and `create`'s `when`: ending a tenancy frees its unit (and, told so,
renames the unit's building and records an inspection) in the same transaction, as the
system acting for the manager who ended it — who may not change units at all themselves."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.errors import ValidationFailed
from engine.runtime import Runtime
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import build_definitions, read_folder
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import Folder, estate, write_folder
from tests.flows import START
from tests.identity import authorize, client_as

TENANCY_FLOW: dict[str, Any] = {
    "entity": "tenancy",
    "initial": "active",
    "states": {"active": {"editable": "all"}, "ended": {"category": "done"}},
    "transitions": {
        "end": {
            "from": "active",
            "to": "ended",
            "roles": ["manager"],
            "fields": ["moved_out_on", "note"],
            "actions": [
                {
                    "update": "unit",
                    "values": {"status": '"vacant"', "let_on": "null", "checked_at": "now"},
                },
                {"update": "unit.building", "when": "note != null", "values": {"code": "note"}},
                {
                    "create": "inspection",
                    "when": "note != null",
                    "values": {"unit": "unit", "remark": 'concat("moved out: ", note)'},
                },
            ],
        }
    },
}


def tenancy_folder() -> Folder:
    folder = estate()
    folder["estate/entities/tenancy.yaml"] = {
        "fields": {
            "unit": {"type": "reference", "entity": "unit"},
            "moved_out_on": {"type": "date"},
            "note": {"type": "string", "max_length": 40},
        },
        "permissions": {"manager": {"actions": ["read", "create", "update"], "scope": "all"}},
    }
    folder["estate/flows/tenancy.yaml"] = copy.deepcopy(TENANCY_FLOW)
    folder["estate/entities/unit.yaml"]["permissions"] = {
        "manager": {"actions": ["read"], "scope": "all"}
    }
    return folder


@pytest.fixture
def people(tmp_path: Path, database_url: str | None) -> Iterator[dict[str, TestClient]]:
    settings = estate_settings(tmp_path, database_url)
    write_folder(settings.apps_config, tenancy_folder())
    runtime = Runtime.create(settings, FixedClock(START))
    with TestClient(create_app(runtime=runtime)) as admin:
        authorize(admin)
        yield {"admin": admin, "manager": client_as(admin, "wang", "manager")}


def let_unit(admin: TestClient, code: str = "A-1") -> dict[str, Any]:
    building = admin.post("/api/estate/building", json={"name": "1 栋", "code": "B-1"})
    assert building.status_code == 201, building.text
    unit = admin.post(
        "/api/estate/unit",
        json={
            "code": code,
            "building": building.json()["id"],
            "status": "let",
            "let_on": "2025-01-01",
        },
    )
    assert unit.status_code == 201, unit.text
    return dict(unit.json())


def tenancy(client: TestClient, unit: dict[str, Any] | None) -> int:
    created = client.post("/api/estate/tenancy", json={"unit": unit["id"] if unit else None})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def end(client: TestClient, tenancy_id: int, **body: Any) -> Any:
    return client.post(f"/api/estate/tenancy/{tenancy_id}/transitions/end", json=body)


def test_ending_a_tenancy_frees_its_unit_as_the_system(people: dict[str, TestClient]) -> None:
    admin, manager = people["admin"], people["manager"]
    unit = let_unit(admin)
    assert manager.patch(f"/api/estate/unit/{unit['id']}", json={}).status_code == 403
    tenancy_id = tenancy(manager, unit)

    ended = end(manager, tenancy_id, moved_out_on="2026-03-02", note="B-2")

    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "ended"
    freed = admin.get(f"/api/estate/unit/{unit['id']}").json()
    assert (freed["status"], freed["let_on"]) == ("vacant", None)
    assert freed["checked_at"].startswith("2026-03-02T02:00")  # the move's moment
    assert (freed["row_version"], freed["updated_by"]) == (unit["row_version"] + 1, "wang")
    building = admin.get(f"/api/estate/building/{unit['building']}").json()
    assert building["code"] == "B-2"  # through the chain unit.building
    [inspection] = admin.get("/api/estate/inspection").json()["items"]
    assert (inspection["unit"], inspection["remark"]) == (unit["id"], "moved out: B-2")
    audit = admin.get("/api/audit", params={"action": "record.update"}).json()["items"]
    [entry] = [e for e in audit if e["target"] == "estate.unit"]
    assert entry["record_id"] == str(unit["id"])
    assert set(entry["detail"]["changes"]) == {"status", "let_on", "checked_at"}
    assert admin.get("/api/audit/verify").json()["ok"] is True


def test_an_action_whose_condition_fails_is_skipped(people: dict[str, TestClient]) -> None:
    admin, manager = people["admin"], people["manager"]
    unit = let_unit(admin)

    ended = end(manager, tenancy(manager, unit), moved_out_on="2026-03-02")

    assert ended.status_code == 200, ended.text
    assert admin.get(f"/api/estate/unit/{unit['id']}").json()["status"] == "vacant"
    assert admin.get(f"/api/estate/building/{unit['building']}").json()["code"] == "B-1"
    assert admin.get("/api/estate/inspection").json()["items"] == []


def test_an_empty_reference_refuses_the_move(people: dict[str, TestClient]) -> None:
    manager = people["manager"]
    tenancy_id = tenancy(manager, None)

    refused = end(manager, tenancy_id, note="B-2")

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert "has no unit" in error["message"]
    assert error["details"] == [{"path": "unit", "message": "is empty"}]
    assert manager.get(f"/api/estate/tenancy/{tenancy_id}").json()["state"] == "active"


def test_a_value_the_target_refuses_rolls_the_move_back(people: dict[str, TestClient]) -> None:
    admin, manager = people["admin"], people["manager"]
    unit = let_unit(admin)
    tenancy_id = tenancy(manager, unit)

    refused = end(manager, tenancy_id, note="B-" + "9" * 30)  # the building code takes 20

    assert refused.status_code == 422
    error = refused.json()["error"]
    assert f"estate.building {unit['building']}" in error["message"]
    assert [d["path"] for d in error["details"]] == ["code"]
    assert admin.get(f"/api/estate/unit/{unit['id']}").json()["status"] == "let"
    assert manager.get(f"/api/estate/tenancy/{tenancy_id}").json()["state"] == "active"


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        (
            {"update": "moved_out_on", "values": {"status": '"vacant"'}},
            "transitions.end.actions[0].update",
            "'moved_out_on' is not a reference field of 'tenancy'",
        ),
        (
            {"update": "unit.code", "values": {"status": '"vacant"'}},
            "transitions.end.actions[0].update",
            "'code' is not a reference field of 'unit'",
        ),
        (
            {"update": "unit.building", "values": {"floor": "1"}},
            "transitions.end.actions[0].values.floor",
            "'building' has no field 'floor'",
        ),
    ],
)
def test_a_wrong_update_is_refused_at_load(
    tmp_path: Path, action: dict[str, Any], path: str, message: str
) -> None:
    folder = tenancy_folder()
    folder["estate/flows/tenancy.yaml"]["transitions"]["end"]["actions"] = [action]

    with pytest.raises(DefinitionsInvalid) as raised:
        build_definitions(read_folder(write_folder(tmp_path, folder)))

    [error] = raised.value.errors
    assert (error.file, error.path, error.message) == ("estate/flows/tenancy.yaml", path, message)


def test_a_value_of_the_wrong_type_is_refused_when_compiled(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = estate_settings(tmp_path, database_url)
    folder = tenancy_folder()
    folder["estate/flows/tenancy.yaml"]["transitions"]["end"]["actions"] = [
        {"update": "unit", "when": "note", "values": {"status": "moved_out_on"}}
    ]
    write_folder(settings.apps_config, folder)
    runtime = Runtime.create(settings)
    try:
        with pytest.raises(ValidationFailed) as raised:
            runtime.start()
    finally:
        runtime.dispose()

    assert [(d["path"], d["message"]) for d in raised.value.details] == [
        (
            "transitions.end.actions[0].when",
            "must be a condition (true or false), but this gives a string (column 1)",
        ),
        (
            "transitions.end.actions[0].values.status",
            "gives a date, but the field is a string (column 1)",
        ),
    ]
