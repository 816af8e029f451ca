"""`/iot/devices/{id}`: one device — its facts, whether it is online and when it was last
heard from, its latest telemetry with labels and units, a chart of one field, its message
counters, its command history with every event, and the forms that request commands.

The device is read through `engine.records.get_record` (out of the user's scope: 404), its
commands through the command service's `command_history`; the command forms appear only to
those who may update the device, and only while it is active.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.permissions import access_for
from engine.principal import Principal
from engine.records import get_record
from iot.commands.service import REQUEST_ENTITY, command_history
from iot.registry import device_entity, device_types
from iot.screens.chart import ChartView, chart_view
from iot.screens.command_form import CommandForm, Failed, command_forms
from iot.screens.presenting import (
    Presence,
    ShownValue,
    moment_text,
    presence,
    shown_values,
)
from iot.telemetry.state import device_state
from metamodel.devices import DeviceType
from metamodel.labels import pick
from renderers.html.chrome import Chrome
from renderers.html.values import field_label, reference_titles, shower

HISTORY = 50  # commands shown, newest first
HIDDEN_FACTS = ("code", "name", "attributes")  # in the heading, or shown per attribute


@dataclass(frozen=True)
class Fact:
    label: str
    text: str
    url: str = ""


@dataclass(frozen=True)
class EventRow:
    at: str
    status: str
    status_label: str
    actor: str
    detail: str


@dataclass(frozen=True)
class CommandRow:
    id: int
    label: str
    status: str
    status_label: str
    risk: str
    requested_by: str
    requested_at: str
    reason: str
    params: str
    outcome: str  # the result or the error, as the device gave it
    approval_url: str
    events: list[EventRow]


@dataclass(frozen=True)
class Counter:
    name: str
    label: str
    text: str


@dataclass(frozen=True)
class DevicePage:
    chrome: Chrome
    id: int
    code: str
    name: str
    record_url: str
    facts: list[Fact]
    presence: Presence
    last_seen: str
    last_reading: str
    telemetry: list[ShownValue]
    chart: ChartView | None
    counters: list[Counter]
    commands: list[CommandRow]
    forms: list[CommandForm]
    may_command: bool
    active: bool
    notice: str = ""
    errors: list[str] = field(default_factory=list)


def device_page(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    chrome: Chrome,
    device_id: int,
    now: datetime,
    chart_field: str | None = None,
    chart_range: str | None = None,
    notice: str = "",
    failed: Failed | None = None,
) -> DevicePage:
    """The page of a device the principal may read (else 404); `failed` is a refused
    command request shown again in its form."""
    entity = device_entity(catalog)
    record = get_record(conn, entity, device_id, principal)
    texts, language = chrome.texts, chrome.language
    timezone = catalog.options.timezone
    device_type = device_types(catalog).get(str(record.get("device_type")))
    state = device_state(conn, device_id)
    active = record.get("status") == "active"
    may_command = active and access_for(entity, principal).allows("update")
    chart = None
    if device_type is not None:
        chart = chart_view(
            conn, device_id, device_type, chart_field, chart_range, now, timezone, texts, language
        )
    return DevicePage(
        chrome=chrome,
        id=device_id,
        code=str(record.get("code", "")),
        name=str(record.get("name", "")),
        record_url=f"/{entity.path.replace('.', '/')}/{device_id}",
        facts=facts(conn, entity, principal, record, device_type, language),
        presence=presence(state, texts, timezone),
        last_seen=moment_text(state["last_seen"], timezone),
        last_reading=moment_text(state["last_ts"], timezone),
        telemetry=shown_values(device_type, state["values"], language),
        chart=chart,
        counters=counters(state, texts),
        commands=command_rows(conn, device_id, device_type, texts, language, timezone),
        forms=command_forms(device_type, language, failed) if device_type and may_command else [],
        may_command=may_command,
        active=active,
        notice=notice,
        errors=[texts["fix_command"]] if failed else [],
    )


def facts(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    record: dict[str, Any],
    device_type: DeviceType | None,
    language: str,
) -> list[Fact]:
    """The record's fields the principal sees (references by title, linked when the principal
    may see the title), then the
    device's attributes under the labels its type gives them."""
    titles = reference_titles(conn, entity, [record], principal)
    zone = entity.catalog.options.timezone if entity.catalog is not None else "UTC"
    shown = []
    for name, spec in entity.fields.items():
        if name in HIDDEN_FACTS or name not in record or record[name] in (None, ""):
            continue
        text = shower(spec, language, titles.get(name), zone)(record[name])
        target = str(getattr(spec, "entity", None) or "")
        linked = "." in target and text != f"#{record[name]}"  # a title the principal may see
        url = f"/{target.replace('.', '/')}/{record[name]}" if linked else ""
        shown.append(Fact(field_label(entity, name, language), text, url))
    try:
        attributes = json.loads(record.get("attributes") or "{}")
    except ValueError:
        attributes = {}
    if device_type is not None and isinstance(attributes, dict):
        for name, attribute in device_type.attributes.items():
            if attributes.get(name) not in (None, ""):
                shown.append(Fact(pick(attribute.label, language, name), str(attributes[name])))
    return shown


def counters(state: dict[str, Any], texts: dict[str, str]) -> list[Counter]:
    found = [
        Counter(name, texts[name], f"{int(state[name] or 0):,}")
        for name in ("messages", "points", "rejected")
    ]
    if state.get("last_reject"):
        found.append(Counter("last_reject", texts["last_reject"], str(state["last_reject"])))
    return found


def command_rows(
    conn: sa.Connection,
    device_id: int,
    device_type: DeviceType | None,
    texts: dict[str, str],
    language: str,
    timezone: str,
) -> list[CommandRow]:
    known = device_type.commands if device_type is not None else {}
    rows = []
    for command in command_history(conn, device_id, HISTORY):
        name = command["command"]
        label = pick(known[name].label, language, name) if name in known else name
        outcome = command.get("error") or command.get("result")
        rows.append(
            CommandRow(
                id=command["id"],
                label=label,
                status=command["status"],
                status_label=_status(command["status"], texts),
                risk=texts.get(f"risk_{command['risk']}", command["risk"]),
                requested_by=command.get("requested_by") or "",
                requested_at=moment_text(command.get("created_at"), timezone),
                reason=command.get("reason") or "",
                params=_json(command.get("params")),
                outcome=outcome if isinstance(outcome, str) else _json(outcome),
                approval_url=f"/{'/'.join(REQUEST_ENTITY)}/{command['approval_id']}"
                if command.get("approval_id")
                else "",
                events=[
                    EventRow(
                        moment_text(event.get("at"), timezone),
                        event["status"],
                        _status(event["status"], texts),
                        event.get("actor") or "",
                        _detail(event.get("detail")),
                    )
                    for event in command.get("events", [])
                ],
            )
        )
    return rows


def _status(status: str, texts: dict[str, str]) -> str:
    return texts.get(f"status_{status}", status)


def _detail(value: Any) -> str:
    """An event's detail as `key: value` pairs, leaving out what is empty."""
    if not isinstance(value, dict):
        return _json(value)
    kept = {k: v for k, v in value.items() if v not in (None, "", {}, [])}
    return "; ".join(f"{k}: {v if isinstance(v, str) else _json(v)}" for k, v in kept.items())


def _json(value: Any) -> str:
    if value in (None, {}, []):
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
