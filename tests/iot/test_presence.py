"""Devices go offline after their type's heartbeat of silence and come back online with the
next message; the device list and detail show it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.database import write_transaction
from iot.telemetry.presence import duration_of, mark_offline
from tests.databases import isolated_database
from tests.iot.world import DEMO_MOMENT, World, device_world

TELEMETRY = "/api/iot/telemetry"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with isolated_database() as url, device_world(tmp_path_factory.mktemp("presence"), url) as made:
        yield made


def sweep(world: World) -> int:
    with write_transaction(world.runtime.engine) as conn:
        return mark_offline(conn, world.catalog, world.clock.now())


def detail(world: World, device_id: int) -> dict[str, object]:
    response = world.people["operator"].get(f"/api/iot/devices/{device_id}")
    assert response.status_code == 200, response.text
    return response.json()["state"]  # type: ignore[no-any-return]


def test_silence_past_the_heartbeat_takes_a_device_offline_and_a_message_back(
    world: World,
) -> None:
    world.clock.set(DEMO_MOMENT)
    lock = world.add_device("smart_lock", world.units()[0]["id"])  # heartbeat 30m
    meter = world.add_device("water_meter", world.units()[0]["id"])  # heartbeat 2h
    for handle in (lock, meter):
        response = world.device_client.post(TELEMETRY, json={"values": {}}, auth=handle.auth)
        assert response.status_code == 200, response.text
    assert detail(world, lock.id)["online"] is True
    assert detail(world, lock.id)["online_since"] is not None

    world.clock.advance(minutes=29)
    assert sweep(world) == 0
    world.clock.advance(minutes=2)
    assert sweep(world) == 1
    state = detail(world, lock.id)
    assert state["online"] is False
    assert str(state["offline_since"]).startswith("2026-03-01T02:31")
    assert detail(world, meter.id)["online"] is True
    assert sweep(world) == 0  # already offline: not moved again

    offline = world.people["operator"].get(
        "/api/iot/devices", params={"online": "false", "unit": world.units()[0]["id"]}
    )
    assert lock.code in [item["code"] for item in offline.json()["items"]]

    world.clock.advance(minutes=5)
    reading = {"values": {"battery": 40}}
    assert world.device_client.post(TELEMETRY, json=reading, auth=lock.auth).status_code == 200
    state = detail(world, lock.id)
    assert state["online"] is True and state["offline_since"] is None
    assert str(state["online_since"]).startswith("2026-03-01T02:36")


def test_a_device_never_heard_from_is_offline_with_no_values(world: World) -> None:
    breaker = world.add_device("smart_breaker", world.units()[1]["id"])
    state = detail(world, breaker.id)
    assert state["online"] is False and state["values"] == {} and state["last_seen"] is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("45m", 2700), ("2h", 7200), ("30d", 2_592_000)]
)
def test_durations_read_as_device_types_write_them(text: str, seconds: int) -> None:
    assert duration_of(text).total_seconds() == seconds


def test_a_bad_duration_is_named() -> None:
    with pytest.raises(ValueError, match="10x"):
        duration_of("10x")
