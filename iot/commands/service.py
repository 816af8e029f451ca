"""Asking a device to do something, and reading what became of it.

`request_command` is the one way a command comes to exist, for people (HTTP), device rules,
scenes and the housing linkage alike: the command must be one the device type offers and its
driver can encode, its parameters must pass the command's JSON Schema, the device must be
active, and a person needs `update` on the device record. A `high` risk command waits for a
reason and a second person's approval (a `devices.command_request` record in its flow);
others are queued at once. With an idempotency `key`, asking twice gives the same command.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.catalog import Catalog
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from engine.permissions import RecordAccess, access_for
from engine.principal import Principal
from engine.records.reading import fetch_in_scope
from engine.records.writing import insert_record
from engine.validation import validate_input
from iot.commands.lifecycle import record_event
from iot.drivers import driver_for
from iot.registry import Device, device_entity, device_type
from iot.tables import AWAITING_APPROVAL, QUEUED, command_events, commands
from metamodel.devices import Command
from metamodel.labels import pick

REQUEST_ENTITY = ("devices", "command_request")
MIN_REASON = 10
SOURCES = ("user", "rule", "scene", "linkage")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> int:
    """`30s`, `45m`, `2h`, `30d` in seconds."""
    return int(duration[:-1]) * UNITS[duration[-1]]


def request_command(
    conn: sa.Connection,
    runtime: Any,
    catalog: Catalog,
    actor: Principal,
    device: Device,
    command: str,
    params: dict[str, Any] | None,
    reason: str | None = None,
    source: str = "user",
    source_ref: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Queue `command` for `device` (or hold it for approval) in the caller's transaction;
    the command as `command_view` shows it. 422 for an unknown command or bad parameters
    (paths `command`, `params.<path>`, `reason`), 403/404 when a person may not update the
    device, 409 when the device is not active."""
    if key is not None:
        known = conn.execute(sa.select(commands.c.id).where(commands.c.key == key)).scalar()
        if known is not None:
            return command_view(conn, known)
    if source not in SOURCES:
        raise ValueError(f"a command's source is one of {', '.join(SOURCES)}, not {source!r}")
    spec = command_spec(runtime, catalog, device, command)
    checked = check_params(catalog, device.type_name, command, spec, params)
    if source == "user":
        require_device_action(conn, catalog, actor, device.id, "update")
    if not device.active:
        raise Conflict(
            f"device {device.code} is {device.status}: only active devices take commands"
        )
    reason = (reason or "").strip() or None
    high = spec.risk == "high"
    if high and (reason is None or len(reason) < MIN_REASON):
        message = f"a high-risk command needs a reason of at least {MIN_REASON} characters"
        raise ValidationFailed(message, [field_error("reason", message)])
    now = runtime.clock.now()
    status = AWAITING_APPROVAL if high else QUEUED
    row = {
        "device_id": device.id,
        "device_type": device.type_name,
        "command": command,
        "params": json.dumps(checked, ensure_ascii=False),
        "risk": spec.risk,
        "status": status,
        "reason": reason,
        "source": source,
        "source_ref": source_ref,
        "requested_by": actor.username,
        "attempts": 0,
        "max_attempts": spec.attempts,
        "created_at": now,
        "queued_at": None if high else now,
        "expires_at": now + timedelta(seconds=seconds(spec.expires)),
        "check_at": now + timedelta(seconds=seconds(spec.expires)),
        "key": key,
        "row_version": 1,
    }
    inserted = conn.execute(commands.insert().values(row)).inserted_primary_key
    assert inserted is not None, "an insert has a primary key"
    command_id = int(inserted[0])
    stored = {**row, "id": command_id}
    detail = {"params": checked, "risk": spec.risk, "source": source, "source_ref": source_ref}
    record_event(
        conn, catalog, stored, status, actor.username, now, detail, action="device.command.request"
    )
    if high:
        approval_id = _open_request(conn, catalog, actor, device, stored, spec, reason or "")
        conn.execute(
            commands.update().where(commands.c.id == command_id).values(approval_id=approval_id)
        )
    elif runtime.settings.mqtt_url:
        from iot.commands.dispatch import DISPATCH_JOB

        runtime.jobs.enqueue(DISPATCH_JOB, {"command_id": command_id}, conn=conn)
    return command_view(conn, command_id)


def command_spec(runtime: Any, catalog: Catalog, device: Device, command: str) -> Command:
    """The device type's definition of `command`, if its driver can encode it too; else 422."""
    definition = device_type(catalog, device.type_name)
    spec = definition.commands.get(command)
    try:
        driver = driver_for(runtime.extensions.device_drivers, definition.driver)
    except LookupError as exc:
        raise Conflict(str(exc)) from None
    if spec is None or command not in driver.commands:
        offered = ", ".join(n for n in sorted(definition.commands) if n in driver.commands)
        message = f"a {device.type_name} takes no command {command!r} (it takes: {offered})"
        raise ValidationFailed(message, [field_error("command", message)])
    return spec


def check_params(
    catalog: Catalog, type_name: str, command: str, spec: Command, params: Any
) -> dict[str, Any]:
    """The parameters if they pass the command's JSON Schema; else 422 naming every
    mistake by its path (`params.hold_seconds`)."""
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ValidationFailed(
            "the parameters are a JSON object", [field_error("params", "must be an object")]
        )
    cache_key = ("iot", "params", type_name, command)
    validator = catalog.cache.get(cache_key)
    if validator is None:
        validator = Draft202012Validator(
            spec.params, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        catalog.cache[cache_key] = validator
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        details = [field_error(_path(error), error.message) for error in errors]
        raise ValidationFailed(f"the parameters of {command} are not valid", details)
    return params


def _path(error: ValidationError) -> str:
    """`params.a.0.b`; a missing required property is named as its own path."""
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        named = [n for n in missing if repr(n) in error.message]
        parts += named[:1]
    return ".".join(["params", *parts])


def require_device_action(
    conn: sa.Connection, catalog: Catalog, principal: Principal, device_id: int, action: str
) -> None:
    """403 when no role lets the principal `action` devices; 404 when this one is out of its
    sight (or missing)."""
    entity = device_entity(catalog)
    access = access_for(entity, principal)
    if not access.allows(action):
        raise Forbidden(f"you may not {action} devices")
    if fetch_in_scope(conn, entity, access, action, device_id) is None:
        raise NotFound(f"no device {device_id}")


def _open_request(
    conn: sa.Connection,
    catalog: Catalog,
    actor: Principal,
    device: Device,
    command: dict[str, Any],
    spec: Command,
    reason: str,
) -> int:
    """The `devices.command_request` record a second person approves, created as the
    requester (so the two-person rule knows who may not approve it) and started in its flow."""
    entity = catalog.entity(*REQUEST_ENTITY)
    if entity is None:
        raise NotFound("the devices app has no entity command_request: high-risk commands wait")
    label = pick(spec.label, "zh") or command["command"]
    body = {
        "title": f"{device.code} · {label}"[:200],
        "device": device.id,
        "command": command["command"],
        "parameters": command["params"],
        "reason": reason,
        "requested_by": actor.username,
        "command_id": command["id"],
    }
    values, sent = validate_input(entity.create_model, body)
    access = RecordAccess(entity, actor, unrestricted=True)
    return insert_record(conn, entity, values, sent, actor, access)


VIEW_COLUMNS = [c for c in commands.c if c.name not in ("row_version",)]


def command_view(conn: sa.Connection, command_id: int, events: bool = True) -> dict[str, Any]:
    """A command as the API shows it: parameters and result as JSON, with its events."""
    row = conn.execute(sa.select(*VIEW_COLUMNS).where(commands.c.id == command_id)).mappings()
    found = row.first()
    if found is None:
        raise NotFound(f"no command {command_id}")
    view = _view(dict(found))
    if events:
        view["events"] = command_events_of(conn, [command_id]).get(command_id, [])
    return view


def command_history(
    conn: sa.Connection, device_id: int, limit: int = 50, before: int | None = None
) -> list[dict[str, Any]]:
    """The device's commands, newest first, each with its events."""
    query = sa.select(*VIEW_COLUMNS).where(commands.c.device_id == device_id)
    if before is not None:
        query = query.where(commands.c.id < before)
    rows = conn.execute(query.order_by(commands.c.id.desc()).limit(limit)).mappings()
    views = [_view(dict(row)) for row in rows]
    events = command_events_of(conn, [view["id"] for view in views])
    for view in views:
        view["events"] = events.get(view["id"], [])
    return views


def command_events_of(conn: sa.Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not ids:
        return {}
    query = (
        sa.select(command_events)
        .where(command_events.c.command_id.in_(ids))
        .order_by(command_events.c.id)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(query).mappings():
        event = dict(row)
        event["detail"] = json.loads(event["detail"]) if event["detail"] else None
        found.setdefault(event.pop("command_id"), []).append(event)
    return found


def _view(row: dict[str, Any]) -> dict[str, Any]:
    row["params"] = json.loads(row["params"]) if row["params"] else {}
    row["result"] = json.loads(row["result"]) if row["result"] else None
    return row
