"""Simulated devices against the real app: their telemetry arrives over HTTP and MQTT, their
bad payloads are refused and counted, and every command path — succeeded, failed, a silent
device timing out after its retries, a slow one, one expiring while the device is offline —
comes out as the device's behaviour has it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from iot.commands.sweep import sweep
from iot.registry import authenticate, device_type
from iot.simulator.cli import deal, fleet, parse_mix
from iot.simulator.device import Behaviour, Credential, SimulatedDevice
from iot.simulator.fleet import run_http
from iot.simulator.http import HttpLink
from iot.simulator.mqtt import MqttLink
from iot.simulator.provision import provision, read_credentials, write_credentials
from iot.tables import device_states, telemetry
from tests.databases import isolated_database
from tests.iot.world import World, device_world

WAIT_SECONDS = 15.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Devices over HTTP only: commands wait for the device's poll."""
    with isolated_database() as url, device_world(tmp_path_factory.mktemp("http"), url) as made:
        yield made


@pytest.fixture(scope="module")
def mqtt_world(tmp_path_factory: pytest.TempPathFactory, mqtt_url: str) -> Iterator[World]:
    """A platform with a broker: the bridge runs, commands are published. The topic prefix is
    this world's own, so other tests on the same broker never see its messages."""
    prefix = f"sim{uuid.uuid4().hex[:8]}"
    with (
        isolated_database() as url,
        device_world(
            tmp_path_factory.mktemp("mqtt"), url, mqtt_url=mqtt_url, mqtt_topic_prefix=prefix
        ) as made,
    ):
        made.runtime.start_services()
        yield made


def simulated(world: World, type_name: str, behaviour: Behaviour = "normal") -> SimulatedDevice:
    handle = world.add_device(type_name, world.units()[0]["id"])
    credential = Credential(handle.code, handle.secret, type_name, handle.id)
    return SimulatedDevice(
        credential, device_type(world.catalog, type_name), behaviour, slow_seconds=60
    )


def now_ms(world: World) -> int:
    return int(world.clock.now().timestamp() * 1000)


def state(world: World, device: SimulatedDevice) -> dict[str, Any]:
    with world.runtime.engine.connect() as conn:
        query = sa.select(device_states).where(
            device_states.c.device_id == device.credential.device_id
        )
        return dict(conn.execute(query).mappings().one())


def points(world: World, device: SimulatedDevice) -> int:
    with world.runtime.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(
            telemetry.c.device_id == device.credential.device_id
        )
        return int(conn.execute(query).scalar() or 0)


def command(world: World, device: SimulatedDevice, name: str, **params: Any) -> dict[str, Any]:
    url = f"/api/iot/devices/{device.credential.device_id}/commands"
    response = world.people["operator"].post(url, json={"command": name, "params": params})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def shown(world: World, command_id: int) -> dict[str, Any]:
    response = world.people["operator"].get(f"/api/iot/commands/{command_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")
        time.sleep(0.05)


# telemetry


def test_devices_of_every_type_report_over_http_and_their_values_are_stored(world: World) -> None:
    link = HttpLink(world.device_client)
    devices = [
        simulated(world, name)
        for name in ("smart_lock", "smart_breaker", "water_meter", "env_monitor")
    ]
    for device in devices:
        for _ in range(3):
            assert link.send(device, [device.report(now_ms(world))]) == {
                "accepted": 1,
                "rejected": [],
            }
            world.clock.advance(minutes=1)
        batch = [device.report(now_ms(world) - 1000 * second) for second in range(1, 6)]
        assert link.send(device, batch)["accepted"] == 5
    for device in devices:
        fields = len(device.device_type.telemetry)
        assert points(world, device) == 8 * fields
        assert state(world, device)["messages"] == 8
        assert state(world, device)["online"] is True


def test_bad_payloads_are_refused_with_a_path_and_counted_on_the_device(world: World) -> None:
    link = HttpLink(world.device_client)
    device = simulated(world, "smart_lock", "bad_payloads")
    base = now_ms(world)
    answer = link.send(device, [device.report(base - 1000 * (40 - n)) for n in range(40)])
    bad = device.tally.bad_reports
    assert 0 < bad < 40
    refused = {problem["index"] for problem in answer["rejected"]}
    assert answer["accepted"] == 40 - bad and len(refused) == bad
    assert all(
        problem["path"].startswith(f"messages[{problem['index']}]")
        for problem in answer["rejected"]
    )
    assert state(world, device)["rejected"] == bad


def test_a_fleet_run_provisioned_from_a_credentials_file_delivers_its_reports(
    world: World, tmp_path: Path
) -> None:
    credentials = provision(world.runtime, 6, ["water_meter", "env_monitor"], prefix="FLEET")
    path = tmp_path / "credentials.json"
    write_credentials(
        path,
        credentials,
        {n: device_type(world.catalog, n) for n in ("water_meter", "env_monitor")},
    )
    assert path.stat().st_mode & 0o077 == 0
    devices = fleet(path, 6, parse_mix("normal:100"))
    stats = run_http(
        devices,
        HttpLink(world.device_client),
        40,
        1.0,
        batch=2,
        threads=1,
        poll_seconds=0,
        clock=partial(now_ms, world),  # the platform's clock, not the wall's
    )
    assert stats.errors == 0, stats.first_error
    assert stats.reports > 0 and stats.accepted == stats.reports and stats.rejected == 0
    assert sum(state(world, device)["messages"] for device in devices) == stats.reports


def test_provisioning_again_keeps_the_devices_and_replaces_their_secrets(
    world: World, tmp_path: Path
) -> None:
    first = provision(world.runtime, 3, ["smart_lock"], prefix="AGAIN")
    again = provision(world.runtime, 3, ["smart_lock"], prefix="AGAIN")
    assert [c.device_id for c in again] == [c.device_id for c in first]
    catalog = world.catalog
    with world.runtime.engine.connect() as conn:
        assert authenticate(conn, catalog, first[0].code, first[0].secret) is None
        assert authenticate(conn, catalog, again[0].code, again[0].secret) is not None
    path = tmp_path / "again.json"
    write_credentials(path, again, {"smart_lock": device_type(catalog, "smart_lock")})
    read, types = read_credentials(path)
    assert read == again and types["smart_lock"] == device_type(catalog, "smart_lock")


def test_a_behaviour_mix_is_dealt_in_its_proportions() -> None:
    mix = parse_mix("normal:90,silent:5,failing:5")
    dealt = deal(mix, 100)
    assert (dealt.count("normal"), dealt.count("silent"), dealt.count("failing")) == (90, 5, 5)
    with pytest.raises(ValueError, match="unknown behaviour 'grumpy'"):
        parse_mix("grumpy:10")


# commands over HTTP polls


def test_a_normal_device_runs_the_command_and_reports_its_result(world: World) -> None:
    link = HttpLink(world.device_client)
    device = simulated(world, "water_meter")
    queued = command(world, device, "read")
    assert queued["status"] == "queued"
    assert link.poll(device, now_ms(world)) == 1
    assert link.answer(device, now_ms(world)) == 2  # delivered, then succeeded
    done = shown(world, queued["id"])
    assert done["status"] == "succeeded"
    assert "volume" in done["result"]
    assert [event["status"] for event in done["events"]] == [
        "queued",
        "sent",
        "delivered",
        "succeeded",
    ]


def test_a_failing_device_fails_the_command_with_its_error(world: World) -> None:
    link = HttpLink(world.device_client)
    device = simulated(world, "smart_breaker", "failing")
    queued = command(world, device, "switch_on")
    link.poll(device, now_ms(world))
    link.answer(device, now_ms(world))
    failed = shown(world, queued["id"])
    assert failed["status"] == "failed"
    assert "simulated fault" in failed["error"]


def test_a_silent_device_is_sent_the_command_again_then_it_times_out(world: World) -> None:
    link = HttpLink(world.device_client)
    device = simulated(world, "env_monitor", "silent")
    queued = command(world, device, "set_report_period", minutes=5)
    for _ in range(3):  # the type's default: three attempts, 30 s apart
        assert link.poll(device, now_ms(world)) == 1
        world.clock.advance(seconds=31)
    assert link.poll(device, now_ms(world)) == 0  # no attempt left
    sweep(world.runtime, world.catalog)
    timed_out = shown(world, queued["id"])
    assert timed_out["status"] == "timeout"
    assert timed_out["attempts"] == 3
    assert [c["id"] for c in device.received] == [queued["id"]] * 3


def test_a_slow_device_acknowledges_first_and_succeeds_later(world: World) -> None:
    link = HttpLink(world.device_client)
    device = simulated(world, "smart_lock", "slow")
    queued = command(world, device, "read_unlock_log")
    link.poll(device, now_ms(world))
    assert link.answer(device, now_ms(world)) == 1
    assert shown(world, queued["id"])["status"] == "delivered"
    world.clock.advance(seconds=61)
    assert link.answer(device, now_ms(world)) == 1
    done = shown(world, queued["id"])
    assert done["status"] == "succeeded"
    assert len(done["result"]["entries"]) == 3


def test_a_command_expires_while_its_device_is_offline(world: World) -> None:
    link = HttpLink(world.device_client)
    device = simulated(world, "electricity_meter")
    queued = command(world, device, "read")  # expires after the default hour
    world.clock.advance(minutes=61)
    sweep(world.runtime, world.catalog)
    assert link.poll(device, now_ms(world)) == 0  # back online: nothing left to do
    assert shown(world, queued["id"])["status"] == "expired"
    assert device.received == []


# over MQTT


def test_devices_report_over_mqtt_and_the_bridge_stores_their_telemetry(
    mqtt_world: World, mqtt_url: str
) -> None:
    devices = [simulated(mqtt_world, name) for name in ("smart_breaker", "env_monitor")]
    prefix = mqtt_world.runtime.settings.mqtt_topic_prefix
    link = MqttLink(mqtt_url, devices, prefix)
    link.connect()
    try:
        for minute in range(3):
            for device in devices:
                link.send(device, device.report(now_ms(mqtt_world) - 60_000 * minute))
        expected = [3 * len(device.device_type.telemetry) for device in devices]
        eventually(lambda: [points(mqtt_world, d) for d in devices] == expected, "the points")
    finally:
        link.close()


def test_a_command_goes_out_over_mqtt_and_the_reply_comes_back(
    mqtt_world: World, mqtt_url: str
) -> None:
    device = simulated(mqtt_world, "water_meter")
    prefix = mqtt_world.runtime.settings.mqtt_topic_prefix
    link = MqttLink(mqtt_url, [device], prefix)
    link.connect()
    try:
        queued = command(mqtt_world, device, "set_report_period", minutes=15)
        mqtt_world.runtime.jobs.run_pending()  # the dispatch job publishes it
        eventually(lambda: bool(link.deliver(now_ms(mqtt_world))), "the command on the device")
        assert link.answer(device, now_ms(mqtt_world)) == 2
        eventually(lambda: shown(mqtt_world, queued["id"])["status"] == "succeeded", "the result")
        assert shown(mqtt_world, queued["id"])["result"] == {"applied": {"minutes": 15}}
    finally:
        link.close()
