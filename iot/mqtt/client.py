"""Publishing to devices over MQTT: one connection per process and broker, shared by every
thread (the command dispatcher publishes from job threads).

    publisher(settings).publish("anju/LOCK-00001/commands", {"id": 7, "command": "unlock"})

`publish` returns once the broker has acknowledged the message (QoS 1) and raises
`PublishFailed` if the broker cannot be reached or does not acknowledge in time, so the
caller can leave the command queued and try again later.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

import orjson
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from engine.settings import Settings
from iot.mqtt.connection import client_id, connect, new_client

PUBLISH_TIMEOUT = 5.0  # seconds to wait for the connection, then for the broker's PUBACK


class PublishFailed(ConnectionError):
    """The broker did not take the message: not connected, or no acknowledgement in time."""


class Publisher:
    """A connected paho client that publishes JSON payloads; safe to use from any thread."""

    def __init__(self, url: str, identifier: str) -> None:
        self.url = url
        self._connected = threading.Event()
        self._client: Client = new_client(url, identifier)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        connect(self._client, url)

    def _on_connect(
        self,
        _client: Client,
        _userdata: Any,
        _flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if not reason.is_failure:
            self._connected.set()

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: Any,
        _flags: DisconnectFlags,
        _reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def publish(
        self, topic: str, payload: dict[str, Any], qos: int = 1, timeout: float = PUBLISH_TIMEOUT
    ) -> None:
        """Send `payload` as JSON on `topic`; wait for the broker's acknowledgement."""
        if not self._connected.wait(timeout):
            raise PublishFailed(f"not connected to the MQTT broker {self.url}")
        info = self._client.publish(topic, orjson.dumps(payload), qos=qos)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:
            raise PublishFailed(f"the MQTT broker did not take the message: {exc}") from None
        if not info.is_published():
            raise PublishFailed(f"the MQTT broker did not acknowledge within {timeout:g} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


_publishers: dict[tuple[str, str | None], Publisher] = {}
_lock = threading.Lock()


def publisher(settings: Settings) -> Publisher:
    """This process's publisher for `settings.mqtt_url`, connecting on first use."""
    if not settings.mqtt_url:
        raise PublishFailed("no MQTT broker is configured (ANJU_MQTT_URL)")
    key = (settings.mqtt_url, settings.mqtt_client_id)
    with _lock:
        found = _publishers.get(key)
        if found is None:
            found = Publisher(settings.mqtt_url, client_id(settings.mqtt_client_id, "publisher"))
            _publishers[key] = found
        return found


def close_publishers() -> None:
    """Disconnect every publisher of this process (at exit, and between tests)."""
    with _lock:
        found = list(_publishers.values())
        _publishers.clear()
    for each in found:
        each.close()


atexit.register(close_publishers)
