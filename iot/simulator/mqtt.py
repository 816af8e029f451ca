"""Simulated devices over MQTT: reports published on `<prefix>/<code>/telemetry`, commands
taken from `<prefix>/<code>/commands`, replies published on `<prefix>/<code>/replies`, all
at QoS 1.

Real devices hold a connection each; a fleet of a thousand simulated ones shares a few
(`clients`), devices spread over them, which loads the broker and the platform the same way
and spares the simulator a thousand network threads. Commands arrive on paho's network
thread and wait in an inbox until `deliver` hands them to their devices in the caller's
thread, so a device is only ever touched by one thread.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from iot.simulator.device import SimulatedDevice

SUBSCRIBE_CHUNK = 100  # topics per SUBSCRIBE packet
CONNECT_SECONDS = 10.0


class MqttLink:
    def __init__(
        self,
        url: str,
        devices: Sequence[SimulatedDevice],
        prefix: str = "anju",
        clients: int = 1,
        on_command: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"expected mqtt://host:port, not {url!r}")
        self.parts, self.prefix = parts, prefix
        self.devices = {device.code: device for device in devices}
        self.on_command = on_command
        self.inbox: queue.SimpleQueue[tuple[str, dict[str, Any]]] = queue.SimpleQueue()
        count = max(1, min(clients, len(devices) or 1))
        self.clients = [self._client(index) for index in range(count)]
        self.client_of = {
            device.code: self.clients[index % count] for index, device in enumerate(devices)
        }

    def topic(self, code: str, kind: str) -> str:
        return f"{self.prefix}/{code}/{kind}"

    def connect(self) -> None:
        """Connect every client; returns once the broker has acknowledged each device's
        commands subscription. A client that reconnects subscribes again by itself."""
        for index, client in enumerate(self.clients):
            topics = [
                (self.topic(code, "commands"), 1)
                for position, code in enumerate(self.devices)
                if position % len(self.clients) == index
            ]
            chunks = [
                topics[start : start + SUBSCRIBE_CHUNK]
                for start in range(0, len(topics), SUBSCRIBE_CHUNK)
            ]
            subscribed = threading.Event()
            client.user_data_set({"chunks": chunks, "acks": 0, "subscribed": subscribed})
            client.connect(self.parts.hostname or "127.0.0.1", self.parts.port or 1883, 30)
            client.loop_start()
            if not subscribed.wait(CONNECT_SECONDS):
                raise ConnectionError(f"no subscriptions at the MQTT broker {self.parts.netloc}")

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()

    def send(self, device: SimulatedDevice, message: dict[str, Any]) -> mqtt.MQTTMessageInfo:
        """Publish one report (or a `{"messages": [...]}` batch) of the device."""
        payload = json.dumps(message)
        return self.client_of[device.code].publish(
            self.topic(device.code, "telemetry"), payload, qos=1
        )

    def deliver(self, now_ms: int) -> list[SimulatedDevice]:
        """Hand the commands that arrived to their devices; the devices, one per command."""
        reached: list[SimulatedDevice] = []
        while True:
            try:
                code, command = self.inbox.get_nowait()
            except queue.Empty:
                return reached
            device = self.devices[code]
            device.receive(command, now_ms)
            reached.append(device)

    def answer(self, device: SimulatedDevice, now_ms: int) -> int:
        """Publish the device's replies that are due, one message each; how many went."""
        replies = device.due_replies(now_ms)
        client = self.client_of[device.code]
        for reply in replies:
            client.publish(self.topic(device.code, "replies"), json.dumps(reply), qos=1)
        return len(replies)

    def _client(self, index: int) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"anju-sim-{uuid.uuid4().hex[:10]}-{index}",
        )
        if self.parts.username:
            client.username_pw_set(
                urllib.parse.unquote(self.parts.username),
                urllib.parse.unquote(self.parts.password or ""),
            )
        client.max_inflight_messages_set(1000)
        client.on_connect = _connected
        client.on_subscribe = _subscribed
        client.on_message = self._message
        return client

    def _message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        code = parts[-2] if len(parts) >= 3 else ""
        if code not in self.devices:
            return
        try:
            command = json.loads(message.payload)
        except ValueError:
            return  # not a command a device could read; a real one would ignore it too
        if not isinstance(command, dict):
            return
        if self.on_command is not None:
            self.on_command(code, command)
        self.inbox.put((code, command))


def _connected(
    client: mqtt.Client, userdata: dict[str, Any], _flags: Any, reason: Any, _props: Any
) -> None:
    if reason.is_failure:
        return
    userdata["acks"] = 0
    for chunk in userdata["chunks"]:
        client.subscribe(chunk)
    if not userdata["chunks"]:
        userdata["subscribed"].set()


def _subscribed(
    _client: mqtt.Client, userdata: dict[str, Any], _mid: int, _codes: Any, _props: Any
) -> None:
    userdata["acks"] += 1
    if userdata["acks"] >= len(userdata["chunks"]):
        userdata["subscribed"].set()
