"""The MQTT bridge: devices' telemetry and command replies from the broker into the platform.

It subscribes (QoS 1) to `<prefix>/+/telemetry` and `<prefix>/+/replies` as a shared
subscription (`$share/anju/…`), so several processes split the messages between them. The
broker authenticates devices; the bridge takes the device code from the topic.

paho's network thread only queues what arrives; one worker thread takes the queue in
batches — `iot_batch_points` messages or `iot_batch_seconds`, whichever comes first — and
writes each batch, the telemetry of many devices, in one transaction through
`iot.telemetry.ingest.ingest_batch` (the device rules then look at the whole batch at once).
The queue holds at most `QUEUE_BATCHES` batches: when it is full, the network thread waits
for room before it takes (and acknowledges) the next message, so a busy bridge slows the
broker's deliveries down instead of dropping messages — the broker keeps them in its
per-client queue (raise `max_queued_messages`, see docs/devices-telemetry.md).

Replies go to `iot.commands.replies.handle_reply`. A device code not known (or not active)
is kept as a refused payload of no device. Device look-ups are cached for
`DEVICE_CACHE_SECONDS`, so a status change reaches the bridge within that time.

paho acknowledges a message when it has queued it, so a process that dies loses what it
had queued and not yet written: at most `QUEUE_BATCHES` batches. `stop()` writes what is
queued, then stops. A batch whose transaction fails `WRITE_ATTEMPTS` times is logged and
counted in `dropped`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from engine.catalog import Catalog
from engine.settings import Settings
from iot.mqtt.connection import client_id, connect, new_client
from iot.registry import Device, active_devices
from iot.telemetry.ingest import MAX_MESSAGES, UnknownSender, ingest_batch

log = logging.getLogger("anju.iot.mqtt")

SHARE_GROUP = "anju"
DEVICE_CACHE_SECONDS = 5.0
IDLE_WAIT = 0.5  # seconds the worker waits for a first message before checking for stop
WRITE_ATTEMPTS = 3  # a batch whose transaction fails is tried this often before it is dropped
QUEUE_BATCHES = 4  # batches the queue holds before the network thread waits for room


@dataclass(frozen=True)
class Arrival:
    topic: str
    payload: bytes


class MqttBridge:
    """The `anju_services` service: `start(runtime)` connects and starts the worker,
    `stop()` disconnects and writes what is still queued."""

    name = "mqtt"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = settings.mqtt_topic_prefix.strip("/")
        bound = QUEUE_BATCHES * max(settings.iot_batch_points, 1)
        self._queue: queue.Queue[Arrival | None] = queue.Queue(bound)  # None: stop
        self.dropped = 0  # telemetry messages given up after WRITE_ATTEMPTS failed writes
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._client: Client | None = None
        self._worker: threading.Thread | None = None
        self._devices: dict[str, tuple[Device | None, float]] = {}
        self._runtime: Any = None

    @property
    def subscribed(self) -> bool:
        """Whether the bridge is connected and subscribed (tests wait for it)."""
        return self._subscribed.is_set()

    def start(self, runtime: Any) -> None:
        if not self.settings.mqtt_url:
            return
        self._runtime = runtime
        client = new_client(
            self.settings.mqtt_url, client_id(self.settings.mqtt_client_id, "bridge")
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._worker = threading.Thread(target=self._work, name="anju-mqtt-bridge", daemon=True)
        self._worker.start()
        connect(client, self.settings.mqtt_url)

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        self._stopping.set()
        self._queue.put(None)  # wakes the worker from a batch window
        if self._worker is not None:
            self._worker.join(timeout=30)

    def topics(self) -> list[str]:
        return [f"$share/{SHARE_GROUP}/{self.prefix}/+/{kind}" for kind in ("telemetry", "replies")]

    def _on_connect(
        self,
        client: Client,
        _userdata: Any,
        _flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("the MQTT broker refused the bridge: %s", reason)
            return
        # on every (re)connect: a clean session has no subscriptions
        client.subscribe([(topic, 1) for topic in self.topics()])
        self._subscribed.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._subscribed.clear()

    def _on_message(self, _client: Client, _userdata: Any, message: MQTTMessage) -> None:
        # blocks while the queue is full: paho acknowledges the message only once this returns
        self._queue.put(Arrival(message.topic, message.payload))

    def _work(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            batch = self._take()
            if batch:
                self._write(batch)

    def _take(self) -> list[Arrival]:
        """The next batch: wait for a first message, then gather until the batch holds
        `iot_batch_points` messages or `iot_batch_seconds` have passed."""
        try:
            first = self._queue.get(timeout=IDLE_WAIT)
        except queue.Empty:
            return []
        if first is None:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.iot_batch_seconds
        while len(batch) < self.settings.iot_batch_points:
            left = 0.0 if self._stopping.is_set() else deadline - time.monotonic()
            try:  # past the window, what is already queued still joins the batch
                arrival = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if arrival is not None:
                batch.append(arrival)
        return batch

    def _write(self, batch: list[Arrival]) -> None:
        runtime = self._runtime
        catalog = runtime.require_catalog()
        telemetry: list[tuple[str, bytes]] = []
        replies: list[tuple[str, bytes]] = []
        for arrival in batch:
            parts = self._parts(arrival.topic)
            if parts is None:
                continue
            code, kind = parts
            (telemetry if kind == "telemetry" else replies).append((code, arrival.payload))
        devices = self._lookup(catalog, {code for code, _ in telemetry + replies})
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self._ingest(runtime, catalog, devices, telemetry)
                break
            except Exception:
                log.exception("writing a batch of %d MQTT messages failed", len(telemetry))
                if attempt < WRITE_ATTEMPTS:
                    time.sleep(attempt)
                else:
                    self.dropped += len(telemetry)
                    log.error("%d MQTT messages were dropped", len(telemetry))
        for code, payload in replies:
            self._reply(runtime, catalog, devices.get(code), code, payload)

    def _parts(self, topic: str) -> tuple[str, str] | None:
        """`(code, kind)` of `<prefix>/<code>/<kind>`; None for any other topic."""
        head, _, rest = topic.rpartition("/")
        prefix, _, code = head.rpartition("/")
        if prefix != self.prefix or not code or rest not in ("telemetry", "replies"):
            return None
        return code, rest

    def _ingest(
        self,
        runtime: Any,
        catalog: Catalog,
        devices: dict[str, Device | None],
        telemetry: list[tuple[str, bytes]],
    ) -> None:
        by_device: dict[str, list[Any]] = {}  # each device's messages of the batch, in order
        unknown: list[UnknownSender] = []
        for code, payload in telemetry:
            if devices.get(code) is None:
                reason = "unknown or inactive device"
                unknown.append(UnknownSender(code[:64], reason, _text(payload)))
            else:
                by_device.setdefault(code, []).extend(messages_of(payload))
        batches = [(device, by_device[code]) for code in by_device if (device := devices[code])]
        if batches or unknown:
            ingest_batch(runtime, catalog, batches, "mqtt", runtime.clock.now(), unknown)

    def _reply(
        self, runtime: Any, catalog: Catalog, device: Device | None, code: str, payload: bytes
    ) -> None:
        from iot.commands.replies import handle_reply

        if device is None:
            log.warning("a reply from the unknown or inactive device %r was ignored", code)
            return
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            data = _text(payload)
        try:
            handle_reply(runtime, catalog, device, data, transport="mqtt")
        except Exception:
            log.exception("the reply of device %s could not be handled", code)

    def _lookup(self, catalog: Catalog, codes: Iterable[str]) -> dict[str, Device | None]:
        """Active devices by code, from the cache or one query for those not in it."""
        now = time.monotonic()
        found: dict[str, Device | None] = {}
        missing = []
        for code in codes:
            cached = self._devices.get(code)
            if cached is not None and cached[1] > now:
                found[code] = cached[0]
            else:
                missing.append(code)
        if missing:
            with self._runtime.engine.connect() as conn:
                loaded = active_devices(conn, catalog, missing)
            expires = now + DEVICE_CACHE_SECONDS
            for code in missing:
                found[code] = loaded.get(code)
                self._devices[code] = (found[code], expires)
        return found


def messages_of(payload: bytes) -> list[Any]:
    """A telemetry payload's messages: a batch's list, or the one message. What is not JSON
    goes on as its text, to be refused and counted like any bad message."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return [_text(payload)]
    batch = data.get("messages") if isinstance(data, dict) else None
    if isinstance(batch, list) and 0 < len(batch) <= MAX_MESSAGES:
        return batch
    return [data]


def _text(payload: bytes) -> str:
    return payload[:2000].decode(errors="replace")
