"""Getting queued commands to their devices: pushed over MQTT when the platform has a broker,
else taken by the device's own HTTP poll.

Either way a command is marked SENT (attempt n, the transport, `check_at` = now + the
command's `ack_timeout`) in a committed transaction *before* it leaves, so a crash between
the two leaves a command the sweep sends again rather than one sent twice unrecorded: the
devices see each command at least once and answer by its id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.database import write_transaction
from iot.commands.lifecycle import load_command, move
from iot.commands.service import seconds
from iot.drivers import DeviceDriver, Outgoing, driver_for
from iot.registry import Device, device_type, device_types, load_device
from iot.tables import QUEUED, SENT, commands
from metamodel.devices import Command

log = logging.getLogger("anju.iot")

DISPATCH_JOB = "iot.commands.dispatch"
POLL_LIMIT = 20  # commands one HTTP poll takes at most


def command_spec_of(catalog: Catalog, command: dict[str, Any]) -> Command:
    """The command's definition now; the defaults if its type no longer offers it."""
    definition = device_types(catalog).get(command["device_type"])
    found = definition.commands.get(command["command"]) if definition else None
    return found or Command()


def driver_of(runtime: Any, catalog: Catalog, type_name: str) -> DeviceDriver:
    return driver_for(runtime.extensions.device_drivers, device_type(catalog, type_name).driver)


def encode(runtime: Any, catalog: Catalog, command: dict[str, Any], code: str) -> dict[str, Any]:
    """What the device reads: its driver's encoding of the command (and this attempt)."""
    outgoing = Outgoing(
        id=command["id"],
        command=command["command"],
        params=json.loads(command["params"] or "{}"),
        device_code=code,
        attempt=command["attempts"],
    )
    return driver_of(runtime, catalog, command["device_type"]).encode(outgoing)


def mark_sent(
    conn: sa.Connection,
    catalog: Catalog,
    command: dict[str, Any],
    transport: str,
    now: datetime,
    actor: str = "system",
) -> dict[str, Any] | None:
    """Move the command to SENT as its next attempt; the row as it now is, or None when
    someone else moved it first."""
    spec = command_spec_of(catalog, command)
    attempt = command["attempts"] + 1
    check_at = now + timedelta(seconds=seconds(spec.ack_timeout))
    values = {"attempts": attempt, "transport": transport, "check_at": check_at}
    detail = {"attempt": attempt, "transport": transport}
    if not move(conn, catalog, command, SENT, actor, now, values, detail):
        return None
    return {**command, **values, "status": SENT, "sent_at": now}


def take_pending(
    conn: sa.Connection, runtime: Any, catalog: Catalog, device: Device, now: datetime
) -> list[dict[str, Any]]:
    """The commands an HTTP device collects on its poll, oldest first, marked SENT: the
    queued ones, and sent ones whose acknowledgement is overdue (attempts left)."""
    overdue = sa.and_(
        commands.c.status == SENT,
        commands.c.transport == "http",
        commands.c.check_at <= now,
        commands.c.attempts < commands.c.max_attempts,
        commands.c.expires_at > now,
    )
    query = (
        sa.select(commands)
        .where(commands.c.device_id == device.id, sa.or_(commands.c.status == QUEUED, overdue))
        .order_by(commands.c.id)
        .limit(POLL_LIMIT)
    )
    taken = []
    for row in conn.execute(query).mappings().all():
        command = dict(row)
        if command["status"] == QUEUED and command["expires_at"] <= now:
            continue  # the sweep expires it
        sent = mark_sent(conn, catalog, command, "http", now, device.code)
        if sent is not None:
            taken.append(encode(runtime, catalog, sent, device.code))
    return taken


def topic_of(runtime: Any, code: str) -> str:
    return f"{runtime.settings.mqtt_topic_prefix}/{code}/commands"


def send_over_mqtt(runtime: Any, catalog: Catalog, command_ids: Iterable[int]) -> int:
    """Mark each queued command SENT and publish it on its device's commands topic (QoS 1);
    the number published. Commands no longer queued are left alone."""
    now = runtime.clock.now()
    outgoing: list[tuple[str, dict[str, Any]]] = []
    with write_transaction(runtime.engine) as conn:
        for command_id in command_ids:
            command = load_command(conn, command_id)
            if command is None or command["status"] != QUEUED:
                continue
            if command["expires_at"] <= now:
                continue  # the sweep expires it
            sent = mark_sent(conn, catalog, command, "mqtt", now)
            if sent is not None:
                outgoing.append(_message(conn, runtime, catalog, sent))
    publish(runtime, outgoing)
    return len(outgoing)


def _message(
    conn: sa.Connection, runtime: Any, catalog: Catalog, command: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    code = load_device(conn, catalog, command["device_id"]).code
    return topic_of(runtime, code), encode(runtime, catalog, command, code)


def publish(runtime: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish after the commit; a failure is logged, and the sweep sends them again."""
    if not messages:
        return
    from iot.mqtt.client import publisher

    sender = publisher(runtime.settings)
    for topic, payload in messages:
        try:
            sender.publish(topic, payload, qos=1)
        except Exception:
            log.exception("could not publish command %s on %s", payload.get("id"), topic)


def resend_messages(
    conn: sa.Connection, runtime: Any, catalog: Catalog, command: dict[str, Any], now: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """Mark an overdue MQTT command SENT again; its message to publish once committed."""
    sent = mark_sent(conn, catalog, command, "mqtt", now)
    return [] if sent is None else [_message(conn, runtime, catalog, sent)]
