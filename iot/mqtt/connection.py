"""Connecting to the MQTT broker named by `settings.mqtt_url`: `mqtt://user:password@host:1883`,
or `mqtts://…` for TLS (the system's certificate authorities). Both the bridge and the
publisher use this; paho reconnects by itself, waiting up to `RECONNECT_MAX` seconds.

Mosquitto keeps at most `max_queued_messages` (1,000) unacknowledged messages for a
subscriber and drops what comes beyond: a broker that takes bursts from thousands of devices
needs a larger queue for the bridge (see docs/devices-telemetry.md)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from paho.mqtt.client import CallbackAPIVersion, Client, MQTTProtocolVersion

KEEPALIVE = 30  # seconds between pings while idle
RECONNECT_MAX = 10  # seconds, the longest wait between reconnection attempts


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def broker_of(url: str) -> Broker:
    """The broker a `mqtt://` or `mqtts://` URL names; `ValueError` for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"an MQTT URL is mqtt://host:port or mqtts://host:port, not {url!r}")
    tls = parts.scheme == "mqtts"
    return Broker(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def client_id(configured: str | None, role: str) -> str:
    """`<configured>-<role>`, or a fresh `anju-<role>-<random>` so processes never clash."""
    if configured:
        return f"{configured}-{role}"
    return f"anju-{role}-{secrets.token_hex(4)}"


def new_client(url: str, identifier: str) -> Client:
    """A paho client for the broker, not yet connected (`connect_async` + `loop_start`)."""
    broker = broker_of(url)
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=identifier,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=True,
        reconnect_on_failure=True,
    )
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX)
    client.max_queued_messages_set(10_000)
    return client


def connect(client: Client, url: str) -> None:
    """Start connecting in the background; paho's network thread keeps reconnecting."""
    broker = broker_of(url)
    client.connect_async(broker.host, broker.port, keepalive=KEEPALIVE)
    client.loop_start()
