"""Device commands end to end over HTTP: asking, checking, the device's poll and replies,
retries, timeouts, expiry, cancelling, idempotency and the audit trail. One demo city for
the module; each test registers its own devices and puts the clock back."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa

from engine.audit.trail import audit_table
from engine.principal import SYSTEM
from iot.commands.replies import handle_reply
from iot.commands.service import request_command
from iot.commands.sweep import sweep
from iot.drivers import Outgoing
from iot.mqtt.client import close_publishers
from iot.registry import load_device
from plugins.builtin.device_drivers import BreakerDriver, MeterDriver, SmartLockDriver
from tests.databases import isolated_database
from tests.iot.world import DEMO_MOMENT, Handle, World, device_world

PENDING = "/api/iot/commands/pending"
REPLIES = "/api/iot/commands/replies"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("commands")
    with isolated_database() as url, device_world(folder, url, units=6) as built:
        yield built


@pytest.fixture(autouse=True)
def clock_back(world: World) -> Iterator[None]:
    yield
    world.clock.set(DEMO_MOMENT)


def ask(world: World, device: Handle, command: str, **body: Any) -> Any:
    return world.people["operator"].post(
        f"/api/iot/devices/{device.id}/commands", json={"command": command, **body}
    )


def poll(world: World, device: Handle) -> list[dict[str, Any]]:
    response = world.device_client.get(PENDING, auth=device.auth)
    assert response.status_code == 200, response.text
    return response.json()["commands"]  # type: ignore[no-any-return]


def reply(world: World, device: Handle, body: dict[str, Any]) -> Any:
    return world.device_client.post(REPLIES, json=body, auth=device.auth)


def shown(world: World, command_id: int) -> dict[str, Any]:
    response = world.people["operator"].get(f"/api/iot/commands/{command_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def lock(world: World) -> Handle:
    return world.add_device("smart_lock", world.units()[0]["id"])


def test_a_command_goes_to_the_device_and_its_result_comes_back(world: World) -> None:
    device = lock(world)
    asked = ask(world, device, "read_unlock_log", params={"limit": 5})
    assert asked.status_code == 201, asked.text
    command = asked.json()
    assert command["status"] == "queued" and command["params"] == {"limit": 5}

    (sent,) = poll(world, device)
    assert sent == {"id": command["id"], "command": "read_unlock_log", "params": {"limit": 5}}
    assert poll(world, device) == []  # taken once
    assert shown(world, command["id"])["status"] == "sent"

    assert reply(world, device, {"id": command["id"], "status": "delivered"}).status_code == 200
    entries = [{"at": "2026-03-01T09:58:00+08:00", "method": "password"}]
    done = reply(
        world, device, {"id": command["id"], "status": "succeeded", "result": {"entries": entries}}
    )
    assert done.json()["replies"] == [
        {"id": command["id"], "outcome": "applied", "status": "succeeded"}
    ]

    final = shown(world, command["id"])
    assert final["status"] == "succeeded" and final["result"] == {"entries": entries}
    assert [e["status"] for e in final["events"]] == ["queued", "sent", "delivered", "succeeded"]
    assert final["transport"] == "http" and final["attempts"] == 1


def test_every_step_is_on_the_audit_chain(world: World) -> None:
    device = lock(world)
    command = ask(world, device, "suspend_access").json()
    poll(world, device)
    reply(world, device, {"id": command["id"], "status": "failed", "error": "jammed"})
    with world.runtime.engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_table.c.action)
            .where(audit_table.c.action.startswith("device.command."))
            .where(audit_table.c.record_id == str(device.id))
            .order_by(audit_table.c.seq)
        ).scalars()
        assert list(actions) == [
            "device.command.request",
            "device.command.sent",
            "device.command.failed",
        ]
    assert shown(world, command["id"])["error"] == "jammed"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"command": "self_destruct"}, "command"),
        ({"command": "switch_off"}, "command"),  # a breaker's command, not a lock's
        ({"command": "read_unlock_log", "params": {"limit": 0}}, "params.limit"),
        ({"command": "read_unlock_log", "params": {"colour": "red"}}, "params"),
        ({"command": "issue_credential", "params": {"kind": "card"}}, "params.credential_id"),
        (
            {"command": "unlock", "params": {"hold_seconds": 5}, "reason": "a good long reason"},
            "params.hold_seconds",
        ),
        ({"command": "unlock", "params": {}, "reason": "too short"}, "reason"),
        ({"command": "unlock", "params": {}}, "reason"),
    ],
)
def test_bad_commands_are_refused_with_the_path_and_nothing_is_queued(
    world: World, body: dict[str, Any], path: str
) -> None:
    device = lock(world)
    response = ask(world, device, **body)
    assert response.status_code == 422, response.text
    assert path in [d["path"] for d in response.json()["error"]["details"]]
    listed = world.people["operator"].get(f"/api/iot/devices/{device.id}/commands").json()
    assert listed["items"] == []


def test_an_inactive_device_takes_no_command(world: World) -> None:
    device = world.add_device("smart_breaker", world.units()[1]["id"], status="maintenance")
    response = ask(world, device, "switch_on")
    assert response.status_code == 409
    assert "maintenance" in response.json()["error"]["message"]


def test_who_may_ask_and_read(world: World) -> None:
    device = lock(world)
    auditor = world.people.setdefault("auditor_h2", _person(world, "auditor_h2", "auditor"))
    refused = auditor.post(
        f"/api/iot/devices/{device.id}/commands", json={"command": "suspend_access"}
    )
    assert refused.status_code == 403
    command = ask(world, device, "suspend_access").json()
    assert auditor.get(f"/api/iot/commands/{command['id']}").status_code == 200
    assert auditor.post(f"/api/iot/commands/{command['id']}/cancel").status_code == 403
    assert world.device_client.get(f"/api/iot/commands/{command['id']}").status_code == 401
    assert world.people["operator"].get("/api/iot/commands/999999").status_code == 404


def _person(world: World, username: str, role: str) -> Any:
    from tests.identity import client_as

    return client_as(world.admin, username, role, org_id=min(world.orgs.values()))


def test_the_device_endpoints_take_only_devices(world: World) -> None:
    device = lock(world)
    assert world.people["operator"].get(PENDING).status_code == 401
    assert world.device_client.get(PENDING, auth=(device.code, "wrong")).status_code == 401
    assert (
        world.device_client.post(REPLIES, json={"id": 1, "status": "succeeded"}).status_code == 401
    )


def test_replies_for_other_devices_or_unreadable_ones_are_refused(world: World) -> None:
    device, other = lock(world), lock(world)
    theirs = ask(world, other, "suspend_access").json()
    poll(world, other)
    response = reply(world, device, {"id": theirs["id"], "status": "succeeded"})
    assert response.status_code == 422
    assert shown(world, theirs["id"])["status"] == "sent"
    assert reply(world, device, {"status": "succeeded"}).status_code == 422
    mine = ask(world, device, "restore_access").json()
    poll(world, device)
    batch = reply(
        world,
        device,
        {"replies": [{"id": mine["id"], "status": "succeeded"}, {"id": "x", "status": "done"}]},
    )
    assert batch.status_code == 200
    assert batch.json()["accepted"] == 1
    assert batch.json()["rejected"][0]["index"] == 1


def test_a_late_or_duplicate_reply_is_kept_but_changes_nothing(world: World) -> None:
    device = lock(world)
    command = ask(world, device, "suspend_access").json()
    poll(world, device)
    reply(world, device, {"id": command["id"], "status": "succeeded"})
    again = reply(world, device, {"id": command["id"], "status": "failed", "error": "late"})
    assert again.json()["replies"][0]["outcome"] == "ignored"
    final = shown(world, command["id"])
    assert final["status"] == "succeeded" and final["error"] is None
    assert final["events"][-1]["status"] == "failed"
    assert "ignored" in final["events"][-1]["detail"]


def test_a_silent_device_is_asked_again_then_the_command_times_out(world: World) -> None:
    device = lock(world)
    command = ask(world, device, "suspend_access").json()
    for attempt in (1, 2, 3):
        (sent,) = poll(world, device)
        assert sent["id"] == command["id"]
        assert shown(world, command["id"])["attempts"] == attempt
        assert poll(world, device) == []  # not again before the acknowledgement is due
        world.clock.advance(seconds=31)
    sweep(world.runtime, world.catalog)
    final = shown(world, command["id"])
    assert final["status"] == "timeout" and final["error"] == "no acknowledgement in time"


def test_a_delivered_command_without_result_times_out(world: World) -> None:
    device = lock(world)
    command = ask(world, device, "suspend_access").json()
    poll(world, device)
    reply(world, device, {"id": command["id"], "status": "delivered"})
    world.clock.advance(seconds=100)
    sweep(world.runtime, world.catalog)
    assert shown(world, command["id"])["status"] == "delivered"
    world.clock.advance(seconds=30)
    sweep(world.runtime, world.catalog)
    final = shown(world, command["id"])
    assert final["status"] == "timeout" and final["error"] == "no result in time"


def test_a_command_for_an_offline_device_expires(world: World) -> None:
    device = lock(world)
    command = ask(world, device, "suspend_access").json()
    world.clock.advance(hours=1, seconds=1)
    sweep(world.runtime, world.catalog)
    assert poll(world, device) == []
    assert shown(world, command["id"])["status"] == "expired"


def test_a_queued_command_can_be_cancelled_but_not_a_sent_one(world: World) -> None:
    device = lock(world)
    first = ask(world, device, "suspend_access").json()
    cancelled = world.people["operator"].post(f"/api/iot/commands/{first['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert poll(world, device) == []
    second = ask(world, device, "restore_access").json()
    poll(world, device)
    refused = world.people["operator"].post(f"/api/iot/commands/{second['id']}/cancel")
    assert refused.status_code == 409


def test_asking_twice_with_one_key_gives_one_command(world: World) -> None:
    device = lock(world)
    first = ask(world, device, "suspend_access", key="arrears-17").json()
    again = ask(world, device, "suspend_access", key="arrears-17").json()
    assert first["id"] == again["id"]
    with world.runtime.engine.begin() as conn:
        found = load_device(conn, world.catalog, device.id)
        by_rule = request_command(
            conn,
            world.runtime,
            world.catalog,
            SYSTEM,
            found,
            "restore_access",
            {},
            source="linkage",
            source_ref="arrears:lease:17",
            key="restore-17",
        )
        twice = request_command(
            conn,
            world.runtime,
            world.catalog,
            SYSTEM,
            found,
            "restore_access",
            {},
            source="linkage",
            source_ref="arrears:lease:17",
            key="restore-17",
        )
    assert by_rule["id"] == twice["id"] and by_rule["source"] == "linkage"
    assert len(poll(world, device)) == 2


def test_the_history_lists_newest_first_with_events(world: World) -> None:
    device = lock(world)
    ids = [ask(world, device, name).json()["id"] for name in ("suspend_access", "restore_access")]
    listed = world.people["operator"].get(f"/api/iot/devices/{device.id}/commands?limit=1")
    body = listed.json()
    assert [c["id"] for c in body["items"]] == ids[-1:]
    assert body["items"][0]["events"][0]["status"] == "queued"
    rest = world.people["operator"].get(
        f"/api/iot/devices/{device.id}/commands?before={body['next_cursor']}"
    )
    assert [c["id"] for c in rest.json()["items"]] == ids[:1]


def test_over_mqtt_a_command_is_published_and_sent_again_until_answered(
    tmp_path: Path, mqtt_url: str
) -> None:
    with device_world(tmp_path, None, units=2, mqtt_url=mqtt_url) as world:
        device = lock(world)
        received: queue.Queue[dict[str, Any]] = queue.Queue()
        listener = _subscriber(mqtt_url, f"anju/{device.code}/commands", received)
        try:
            command = ask(world, device, "read_unlock_log", params={"limit": 2}).json()
            world.runtime.jobs.run_pending()
            first = received.get(timeout=5)
            assert first == {
                "id": command["id"],
                "command": "read_unlock_log",
                "params": {"limit": 2},
            }
            assert shown(world, command["id"])["transport"] == "mqtt"
            assert poll(world, device) == []  # pushed, not left for the poll

            world.clock.advance(seconds=31)
            assert sweep(world.runtime, world.catalog)["resent"] == 1
            assert received.get(timeout=5)["id"] == command["id"]
            assert shown(world, command["id"])["attempts"] == 2

            with world.runtime.engine.connect() as conn:
                found = load_device(conn, world.catalog, device.id)
            answer = {"id": command["id"], "status": "succeeded", "result": {"entries": []}}
            outcome = handle_reply(world.runtime, world.catalog, found, answer, "mqtt")
            assert outcome.outcome == "applied"
            assert shown(world, command["id"])["status"] == "succeeded"
        finally:
            listener.loop_stop()
            listener.disconnect()
            close_publishers()


def _subscriber(url: str, topic: str, into: queue.Queue[dict[str, Any]]) -> mqtt.Client:
    """A device's side of the broker: every message on `topic`, decoded, into `into`."""
    address = urlparse(url)
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{topic}")
    client.on_message = lambda _c, _u, message: into.put(json.loads(message.payload))
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect(address.hostname or "127.0.0.1", address.port or 1883)
    client.loop_start()
    client.subscribe(topic, qos=1)
    assert subscribed.wait(5), "the test subscriber could not subscribe"
    return client


def test_the_lock_driver_carries_the_credential_id_and_checks_the_unlock_log(
    world: World,
) -> None:
    device = lock(world)
    params = {"kind": "card", "credential_id": "card-0042"}
    issued = ask(world, device, "issue_credential", params=params).json()
    (sent,) = poll(world, device)
    assert sent["credential_id"] == "card-0042" and sent["params"] == params

    log_command = ask(world, device, "read_unlock_log").json()
    poll(world, device)
    bad = {"id": log_command["id"], "status": "succeeded", "result": {"entries": [{"at": ""}]}}
    refused = reply(world, device, bad)
    assert refused.status_code == 422
    assert "unlock log" in refused.json()["error"]["details"][0]["message"]
    assert shown(world, log_command["id"])["status"] == "sent"
    assert reply(world, device, {"id": issued["id"], "status": "succeeded"}).status_code == 200


@pytest.mark.parametrize(
    ("driver", "offers", "lacks"),
    [
        (SmartLockDriver(), "unlock", "switch_off"),
        (BreakerDriver(), "switch_off", "unlock"),
        (MeterDriver(), "close_valve", "unlock"),
    ],
)
def test_each_driver_names_its_commands(driver: Any, offers: str, lacks: str) -> None:
    assert offers in driver.commands and lacks not in driver.commands
    message = driver.encode(Outgoing(7, offers, {}, "DEV-1"))
    assert message["id"] == 7 and message["command"] == offers
