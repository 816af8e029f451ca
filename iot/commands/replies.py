"""What devices say about their commands, over HTTP or MQTT alike.

A reply moves a sent command on: `delivered` (SENT → DELIVERED, now waiting for its result
until `result_timeout`), `succeeded` or `failed` (from SENT or DELIVERED, final, with the
device's result or error). A device may skip `delivered`. A reply for a command that is
already final (late, or a duplicate of at-least-once delivery) or that was never sent is
kept as an event of the command and changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.database import write_transaction
from engine.errors import ValidationFailed, field_error
from iot.commands.dispatch import command_spec_of, driver_of
from iot.commands.lifecycle import load_command, move, record_event
from iot.commands.service import seconds
from iot.drivers import DriverError, Reply
from iot.registry import Device
from iot.tables import COMMAND_FLOW, DELIVERED

MAX_REPLIES = 1000


@dataclass(frozen=True)
class Outcome:
    """What one reply did: `applied` (the command moved), `ignored` (recorded only)."""

    command_id: int
    outcome: str
    status: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.command_id, "outcome": self.outcome, "status": self.status}


def decode(runtime: Any, catalog: Catalog, device: Device, payload: Any) -> Reply:
    """The device's reply through its driver; 422 when it cannot be read."""
    if not isinstance(payload, dict):
        raise ValidationFailed("a reply is a JSON object", [field_error("", "must be an object")])
    try:
        return driver_of(runtime, catalog, device.type_name).decode_reply(payload)
    except DriverError as exc:
        message = f"the reply cannot be read: {exc}"
        raise ValidationFailed(message, [field_error("", str(exc))]) from None


def apply_reply(
    conn: sa.Connection,
    catalog: Catalog,
    device: Device,
    reply: Reply,
    transport: str,
    now: datetime,
) -> Outcome:
    """Apply one decoded reply in the caller's transaction; 422 when the device has no such
    command (a device never learns of another's)."""
    command = load_command(conn, reply.command_id)
    if command is None or command["device_id"] != device.id:
        message = f"this device has no command {reply.command_id}"
        raise ValidationFailed(message, [field_error("id", message)])
    detail: dict[str, Any] = {"transport": transport}
    if reply.result:
        detail["result"] = dict(reply.result)
    if reply.error:
        detail["error"] = reply.error
    if reply.status not in COMMAND_FLOW.get(command["status"], ()):
        detail["ignored"] = f"the command is {command['status']}"
        record_event(conn, catalog, command, reply.status, device.code, now, detail, audited=False)
        return Outcome(command["id"], "ignored", command["status"])
    values: dict[str, Any] = {}
    if reply.status == DELIVERED:
        spec = command_spec_of(catalog, command)
        values["check_at"] = now + timedelta(seconds=seconds(spec.result_timeout))
    else:
        values["check_at"] = None
        values["result"] = json.dumps(dict(reply.result), ensure_ascii=False, default=str)
        values["error"] = reply.error
    if not move(conn, catalog, command, reply.status, device.code, now, values, detail):
        moved = load_command(conn, command["id"]) or command
        detail["ignored"] = f"the command became {moved['status']} meanwhile"
        record_event(conn, catalog, moved, reply.status, device.code, now, detail, audited=False)
        return Outcome(command["id"], "ignored", moved["status"])
    return Outcome(command["id"], "applied", reply.status)


def handle_reply(
    runtime: Any, catalog: Catalog, device: Device, payload: Any, transport: str = "mqtt"
) -> Outcome:
    """Decode and apply one reply in its own transaction (the MQTT bridge's entry point)."""
    reply = decode(runtime, catalog, device, payload)
    with write_transaction(runtime.engine) as conn:
        return apply_reply(conn, catalog, device, reply, transport, runtime.clock.now())


def handle_replies(
    runtime: Any, catalog: Catalog, device: Device, body: Any, transport: str = "http"
) -> dict[str, Any]:
    """One reply or `{"replies": [...]}` in one transaction: what each did, and the ones
    refused with their index and reason; 422 when none could be applied."""
    many = isinstance(body, dict) and "replies" in body
    payloads = body["replies"] if many else [body]
    if not isinstance(payloads, list) or not payloads or len(payloads) > MAX_REPLIES:
        message = f"replies is a list of 1 to {MAX_REPLIES} replies"
        raise ValidationFailed(message, [field_error("replies", message)])
    done: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    now = runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        for index, payload in enumerate(payloads):
            prefix = f"replies[{index}]" if many else ""
            try:
                reply = decode(runtime, catalog, device, payload)
                done.append(apply_reply(conn, catalog, device, reply, transport, now).as_json())
            except ValidationFailed as exc:
                for detail in exc.details or [field_error("", exc.message)]:
                    path = ".".join(p for p in (prefix, detail["path"]) if p)
                    refused.append({"index": index, "path": path, "message": detail["message"]})
        if not done:
            details = [{"path": r["path"], "message": r["message"]} for r in refused]
            raise ValidationFailed("no reply could be applied", details)
    return {"accepted": len(done), "replies": done, "rejected": refused}
