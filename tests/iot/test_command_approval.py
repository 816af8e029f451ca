"""High-risk commands wait for a reason and a second person: the `devices.command_request`
record, its task in the supervisors' inboxes, approval releasing the command, rejection,
the two-person rule, expiry and cancelling while it waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.principal import SYSTEM
from iot.commands.service import request_command
from iot.commands.sweep import sweep
from iot.registry import load_device
from tests.databases import isolated_database
from tests.iot.world import DEMO_MOMENT, Handle, World, device_world

PENDING = "/api/iot/commands/pending"
REQUESTS = "/api/devices/command_request"
REASON = "tenant locked out; identity checked by phone"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("approval")
    with isolated_database() as url, device_world(folder, url, units=6) as built:
        yield built


@pytest.fixture(autouse=True)
def clock_back(world: World) -> Iterator[None]:
    yield
    world.clock.set(DEMO_MOMENT)


def unlock(world: World, who: str, device: Handle, reason: str | None = REASON) -> Any:
    body = {"command": "unlock", "params": {"hold_seconds": 3}, "reason": reason}
    return world.people[who].post(f"/api/iot/devices/{device.id}/commands", json=body)


def take(client: TestClient, request_id: int, name: str, **body: Any) -> Any:
    return client.post(f"{REQUESTS}/{request_id}/transitions/{name}", json=body)


def inbox(client: TestClient) -> list[dict[str, Any]]:
    items = client.get("/api/inbox?app=devices&entity=command_request").json()["items"]
    return items  # type: ignore[no-any-return]


def status(world: World, command_id: int) -> str:
    return world.people["operator"].get(f"/api/iot/commands/{command_id}").json()["status"]  # type: ignore[no-any-return]


def lock(world: World) -> Handle:
    return world.add_device("smart_lock", world.units()[0]["id"])


def test_a_high_risk_command_waits_for_a_supervisor_then_goes_out(world: World) -> None:
    device = lock(world)
    asked = unlock(world, "operator", device)
    assert asked.status_code == 201, asked.text
    command = asked.json()
    assert command["status"] == "awaiting_approval" and command["approval_id"]
    assert world.device_client.get(PENDING, auth=device.auth).json()["commands"] == []

    request = world.admin.get(f"{REQUESTS}/{command['approval_id']}").json()
    assert request["state"] == "submitted"
    assert request["reason"] == REASON and request["requested_by"] == "operator"
    assert request["device"] == device.id and request["command_id"] == command["id"]
    (task,) = [t for t in inbox(world.people["approver"]) if t["record_id"] == request["id"]]
    assert task["title"] == f"{device.code} · 远程开锁"

    approved = take(world.people["approver"], request["id"], "approve", comment="checked")
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    shown = world.people["operator"].get(f"/api/iot/commands/{command['id']}").json()
    assert shown["status"] == "queued" and shown["approved_by"] == "approver"
    assert [e["status"] for e in shown["events"]] == ["awaiting_approval", "queued"]
    (sent,) = world.device_client.get(PENDING, auth=device.auth).json()["commands"]
    assert sent["command"] == "unlock" and sent["params"] == {"hold_seconds": 3}


def test_the_requester_never_approves_their_own_command(world: World) -> None:
    device = lock(world)
    command = unlock(world, "approver", device).json()  # a supervisor asking
    request_id = command["approval_id"]
    assert request_id not in [t["record_id"] for t in inbox(world.people["approver"])]
    refused = take(world.people["approver"], request_id, "approve")
    assert refused.status_code == 403
    assert (
        take(world.people["approver"], request_id, "reject", reject_reason="no").status_code == 403
    )
    assert status(world, command["id"]) == "awaiting_approval"

    assert request_id in [t["record_id"] for t in inbox(world.people["approver2"])]
    assert take(world.people["approver2"], request_id, "approve").status_code == 200
    assert status(world, command["id"]) == "queued"


def test_a_rejected_command_never_goes_out(world: World) -> None:
    device = lock(world)
    command = unlock(world, "operator", device).json()
    rejected = take(
        world.people["approver"],
        command["approval_id"],
        "reject",
        reject_reason="the tenant was not reached",
    )
    assert rejected.status_code == 200, rejected.text
    shown = world.people["operator"].get(f"/api/iot/commands/{command['id']}").json()
    assert shown["status"] == "rejected" and shown["error"] == "the tenant was not reached"
    assert world.device_client.get(PENDING, auth=device.auth).json()["commands"] == []


def test_a_reason_is_required(world: World) -> None:
    device = lock(world)
    for reason in (None, "   ", "short"):
        response = unlock(world, "operator", device, reason)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["path"] == "reason"


def test_a_command_that_waits_too_long_expires_and_leaves_the_inbox(world: World) -> None:
    device = lock(world)
    command = unlock(world, "operator", device).json()
    world.clock.advance(minutes=15, seconds=1)
    late = take(world.people["approver"], command["approval_id"], "approve")
    assert late.status_code == 409  # expired, though the sweep has not run yet
    sweep(world.runtime, world.catalog)
    assert status(world, command["id"]) == "expired"
    assert world.admin.get(f"{REQUESTS}/{command['approval_id']}").json()["state"] == "withdrawn"
    assert command["approval_id"] not in [t["record_id"] for t in inbox(world.people["approver"])]


def test_cancelling_a_waiting_command_withdraws_its_request(world: World) -> None:
    device = lock(world)
    command = unlock(world, "operator", device).json()
    cancelled = world.people["operator"].post(f"/api/iot/commands/{command['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert world.admin.get(f"{REQUESTS}/{command['approval_id']}").json()["state"] == "withdrawn"
    assert take(world.people["approver"], command["approval_id"], "approve").status_code == 409


def test_a_rule_asking_for_a_high_risk_command_waits_too(world: World) -> None:
    breaker = world.add_device("smart_breaker", world.units()[1]["id"])
    with world.runtime.engine.begin() as conn:
        device = load_device(conn, world.catalog, breaker.id)
        command = request_command(
            conn,
            world.runtime,
            world.catalog,
            SYSTEM,
            device,
            "switch_off",
            {},
            reason="temperature above 70 °C for 3 readings",
            source="rule",
            source_ref="devices.breaker_overheat",
            key="rule:breaker_overheat:1",
        )
    assert command["status"] == "awaiting_approval"
    assert take(world.people["approver"], command["approval_id"], "approve").status_code == 200
    assert status(world, command["id"]) == "queued"
