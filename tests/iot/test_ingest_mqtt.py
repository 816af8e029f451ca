"""Devices publishing telemetry through a real Mosquitto broker: the bridge stores it like
HTTP ingest does, a batch of many devices in one go, duplicates once, bad payloads and
unknown device codes kept and counted, and it stops cleanly."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from paho.mqtt.client import CallbackAPIVersion, Client

from iot.mqtt.bridge import MqttBridge
from iot.mqtt.client import close_publishers, publisher
from iot.mqtt.connection import broker_of
from iot.tables import device_states, rejects, telemetry
from iot.telemetry.state import device_state
from tests.databases import isolated_database
from tests.iot.world import DEMO_MOMENT, World, device_world

NOW_MS = int(DEMO_MOMENT.timestamp() * 1000)
WAIT_SECONDS = 15.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mqtt_url: str) -> Iterator[World]:
    prefix = f"h1{uuid.uuid4().hex[:8]}"  # this module's own topics on a shared broker
    with (
        isolated_database() as url,
        device_world(
            tmp_path_factory.mktemp("mqtt"), url, mqtt_url=mqtt_url, mqtt_topic_prefix=prefix
        ) as made,
    ):
        made.runtime.start_services()
        bridge = bridge_of(made)
        wait_for(lambda: bridge.subscribed)
        yield made
    close_publishers()


def bridge_of(world: World) -> MqttBridge:
    (bridge,) = [s for s in world.runtime.extensions.services if isinstance(s, MqttBridge)]
    return bridge


@pytest.fixture(scope="module")
def device_link(world: World, mqtt_url: str) -> Iterator[Client]:
    broker = broker_of(mqtt_url)
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def wait_for(condition: Callable[[], object], seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def send(world: World, link: Client, code: str, payload: object, kind: str = "telemetry") -> None:
    topic = f"{world.runtime.settings.mqtt_topic_prefix}/{code}/{kind}"
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    link.publish(topic, data, qos=1).wait_for_publish(5)


def points(world: World, device_id: int) -> int:
    with world.runtime.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(telemetry.c.device_id == device_id)
        return int(conn.execute(query).scalar_one())


def state(world: World, device_id: int) -> dict[str, Any]:
    with world.runtime.engine.connect() as conn:
        return device_state(conn, device_id)


def test_published_readings_are_stored(world: World, device_link: Client) -> None:
    meter = world.add_device("water_meter", world.units()[2]["id"])
    send(world, device_link, meter.code, {"ts": NOW_MS - 5000, "values": {"volume": 3.5}})
    send(world, device_link, meter.code, {"messages": [{"values": {"valve_open": True}}]})
    wait_for(lambda: points(world, meter.id) == 2)
    found = state(world, meter.id)
    assert found["online"] is True
    assert found["values"] == {"volume": 3.5, "valve_open": True}
    assert found["messages"] == 2


def test_many_devices_share_a_batch_and_duplicates_count_once(
    world: World, device_link: Client
) -> None:
    units = world.units()
    meters = [world.add_device("electricity_meter", units[i]["id"]) for i in range(10)]
    for round_ in range(5):
        for meter in meters:
            reading = {"ts": NOW_MS - 60_000 + round_ * 1000, "values": {"energy": 10.0 + round_}}
            send(world, device_link, meter.code, reading)
    again = {"ts": NOW_MS - 60_000, "values": {"energy": 10.0}}
    send(world, device_link, meters[0].code, again)  # redelivered: stored once
    wait_for(lambda: all(state(world, m.id)["messages"] >= 5 for m in meters))
    wait_for(lambda: state(world, meters[0].id)["messages"] == 6)
    assert [points(world, m.id) for m in meters] == [5] * 10
    assert all(state(world, m.id)["values"] == {"energy": 14.0} for m in meters)
    with world.runtime.engine.connect() as conn:
        counted = conn.execute(
            sa.select(device_states.c.points).where(device_states.c.device_id == meters[0].id)
        ).scalar_one()
    assert counted == 5


def test_bad_payloads_and_unknown_devices_are_kept_and_counted(
    world: World, device_link: Client
) -> None:
    lock = world.add_device("smart_lock", world.units()[3]["id"])
    send(world, device_link, lock.code, b"not json at all")
    send(world, device_link, lock.code, {"values": {"battery": 250}})
    send(world, device_link, "NOBODY-1", {"values": {"battery": 5}})
    wait_for(lambda: state(world, lock.id)["rejected"] == 2)
    with world.runtime.engine.connect() as conn:
        wait_for(
            lambda: (
                conn.execute(
                    sa.select(sa.func.count()).where(rejects.c.code == "NOBODY-1")
                ).scalar_one()
                == 1
            )
        )
        kept = conn.execute(
            sa.select(rejects.c.reason, rejects.c.transport, rejects.c.device_id).where(
                rejects.c.code == "NOBODY-1"
            )
        ).one()
    assert kept.transport == "mqtt" and kept.device_id is None
    assert points(world, lock.id) == 0


def test_the_publisher_reaches_a_subscriber(world: World, device_link: Client) -> None:
    received: list[bytes] = []
    topic = f"{world.runtime.settings.mqtt_topic_prefix}/LOCK-X/commands"
    device_link.on_message = lambda _c, _u, message: received.append(message.payload)
    device_link.subscribe(topic, qos=1)
    time.sleep(0.2)
    publisher(world.runtime.settings).publish(topic, {"id": 1, "command": "unlock"})
    wait_for(lambda: received)
    assert orjson.loads(received[0]) == {"id": 1, "command": "unlock"}


def test_the_bridge_stops_cleanly_and_writes_what_it_holds(world: World, mqtt_url: str) -> None:
    settings = world.runtime.settings.model_copy(
        update={"mqtt_topic_prefix": f"stop{uuid.uuid4().hex[:6]}", "iot_batch_seconds": 5.0}
    )
    bridge = MqttBridge(settings)
    bridge.start(world.runtime)
    wait_for(lambda: bridge.subscribed)
    meter = world.add_device("water_meter", world.units()[4]["id"])
    broker = broker_of(mqtt_url)
    link = Client(CallbackAPIVersion.VERSION2, client_id=f"stop-{uuid.uuid4().hex[:6]}")
    link.connect(broker.host, broker.port)
    link.loop_start()
    topic = f"{settings.mqtt_topic_prefix}/{meter.code}/telemetry"
    link.publish(topic, orjson.dumps({"values": {"volume": 1.0}}), qos=1).wait_for_publish(5)
    link.disconnect()
    link.loop_stop()
    time.sleep(0.3)  # queued by the bridge, its batch window still open
    started = time.monotonic()
    bridge.stop()
    assert time.monotonic() - started < 10
    assert points(world, meter.id) == 1


def test_a_full_queue_makes_the_broker_wait_and_loses_nothing(world: World, mqtt_url: str) -> None:
    settings = world.runtime.settings.model_copy(
        update={
            "mqtt_topic_prefix": f"full{uuid.uuid4().hex[:6]}",
            "iot_batch_points": 5,  # a queue of 20 messages: full at once
            "iot_batch_seconds": 0.01,
        }
    )
    bridge = MqttBridge(settings)
    bridge.start(world.runtime)
    wait_for(lambda: bridge.subscribed)
    meters = [world.add_device("water_meter", world.units()[5]["id"]) for _ in range(3)]
    broker = broker_of(mqtt_url)
    link = Client(CallbackAPIVersion.VERSION2, client_id=f"full-{uuid.uuid4().hex[:6]}")
    link.connect(broker.host, broker.port)
    link.loop_start()
    sent = []
    for index in range(300):
        meter = meters[index % 3]
        message = {"ts": NOW_MS - 1000 * index, "values": {"volume": float(index)}}
        topic = f"{settings.mqtt_topic_prefix}/{meter.code}/telemetry"
        sent.append(link.publish(topic, orjson.dumps(message), qos=1))
    for info in sent:
        info.wait_for_publish(10)
    try:
        wait_for(lambda: sum(points(world, m.id) for m in meters) == 300, seconds=30)
        assert bridge.dropped == 0
        for index in range(300, 600):  # a backlog when the bridge is told to stop
            meter = meters[index % 3]
            message = {"ts": NOW_MS - 1000 * index, "values": {"volume": float(index)}}
            link.publish(f"{settings.mqtt_topic_prefix}/{meter.code}/telemetry",
                         orjson.dumps(message), qos=1)  # fmt: skip
        time.sleep(0.05)
    finally:
        link.disconnect()
        link.loop_stop()
        started = time.monotonic()
        bridge.stop()
    assert time.monotonic() - started < 5
