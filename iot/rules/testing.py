"""Test mode: run one device rule over a device's stored telemetry (`from`, `to`) or over
readings given in the request, and say per reading whether the condition held, the streak,
and what would fire — the alert with its text and recipients, the commands.

Everything happens in memory on a read-only connection, from an empty rule state: test mode
writes nothing, opens no alert and sends no command.

    {"device": 17, "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    {"device": 17, "readings": [{"ts": "2026-03-01T10:00:00+08:00", "values": {"co2": 1600}}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.errors import NotFound, ValidationFailed, field_error
from engine.principal import Principal
from engine.records.reading import get_record
from iot.readings import Reading
from iot.registry import device_entity, load_device
from iot.rules.actions import plan
from iot.rules.compile import rule_named
from iot.rules.evaluate import rounds
from iot.rules.facts import load_facts
from iot.rules.state import RuleState
from iot.tables import telemetry
from metamodel.devices import DeviceType

MAX_READINGS = 5000
MEMBERS = {"device", "from", "to", "readings"}


def try_rule(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    app: str,
    name: str,
    body: Mapping[str, Any],
    now_ms: int,
    language: str = "zh",
) -> dict[str, Any]:
    """What `app/name` would have done on the readings the body names (see the module)."""
    rule = rule_named(catalog, app, name)
    if rule is None:
        raise NotFound(f"no device rule {app}/{name}")
    if rule.trigger != "reading":
        message = "test mode replays readings: only rules triggered by readings can be tested"
        raise ValidationFailed(message, [field_error("rule", message)])
    unknown = sorted(set(body) - MEMBERS)
    if unknown:
        raise ValidationFailed(
            "unknown members", [field_error(key, "unknown member") for key in unknown]
        )
    device_id = body.get("device")
    if isinstance(device_id, bool) or not isinstance(device_id, int):
        raise ValidationFailed("give the device's id", [field_error("device", "expected an id")])
    get_record(conn, device_entity(catalog), device_id, principal)  # 404 out of sight
    device = load_device(conn, catalog, device_id)
    if device.type_name != rule.type_name:
        message = f"the rule watches {rule.type_name} devices; this one is a {device.type_name}"
        raise ValidationFailed(message, [field_error("device", message)])
    if "readings" in body:
        readings, truncated = given_readings(rule.device_type, body["readings"], now_ms), False
    else:
        readings, truncated = stored_readings(conn, rule.device_type, device_id, body, now_ms)
    baseline_before = readings[0].ts if readings and rule.reads_baseline else None
    facts = load_facts(conn, catalog, device, rule.device_type, baseline_before)
    states: dict[tuple[str, str, int], RuleState] = {}
    lines, fired = [], 0
    for round_ in rounds([rule], device, facts, readings, states, catalog.options.timezone):
        _, step = round_.steps[0]
        line: dict[str, Any] = {
            "ts": round_.reading.ts,
            "at": round_.moment.isoformat(),
            "values": dict(round_.reading.values),
            **step.as_json(),
        }
        if step.fires:
            fired += 1
            would = plan(conn, catalog, rule, device, round_.variables, round_.moment, set())
            line["would"] = would.as_json(language)
        lines.append(line)
    return {
        "rule": rule.key,
        "device": device_id,
        "readings": lines,
        "count": len(lines),
        "fired": fired,
        "truncated": truncated,
    }


def given_readings(device_type: DeviceType, given: Any, now_ms: int) -> list[Reading]:
    """The request's readings, checked as ingest checks telemetry (422 with each path);
    `previous` runs from one reading to the next, as the device's state would."""
    from iot.telemetry.messages import BadValue, check_value, parse_ts

    if not isinstance(given, list) or not given:
        raise ValidationFailed("give readings", [field_error("readings", "expected a list")])
    if len(given) > MAX_READINGS:
        message = f"at most {MAX_READINGS} readings"
        raise ValidationFailed(message, [field_error("readings", message)])
    errors: list[dict[str, Any]] = []
    checked: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(given):
        where = f"readings[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("values"), Mapping):
            errors.append(field_error(f"{where}.values", "expected a JSON object of readings"))
            continue
        ts = now_ms + i
        if item.get("ts") is not None:
            parsed = parse_ts(item["ts"])
            if isinstance(parsed, str):
                errors.append(field_error(f"{where}.ts", parsed))
                continue
            ts = parsed
        values = {}
        for field_name, value in item["values"].items():
            spec = device_type.telemetry.get(field_name)
            if spec is None:
                message = f"not a field of {device_type.name}"
                errors.append(field_error(f"{where}.values.{field_name}", message))
                continue
            try:
                values[field_name] = check_value(spec, value)
            except BadValue as exc:
                errors.append(field_error(f"{where}.values.{field_name}", str(exc)))
        checked.append((ts, values))
    if errors:
        raise ValidationFailed("some readings are not valid", errors)
    readings: list[Reading] = []
    latest: dict[str, Any] = {}
    for ts, values in sorted(checked, key=lambda pair: pair[0]):
        readings.append(Reading(ts, values, dict(latest)))
        latest.update(values)
    return readings


def stored_readings(
    conn: sa.Connection,
    device_type: DeviceType,
    device_id: int,
    body: Mapping[str, Any],
    now_ms: int,
) -> tuple[list[Reading], bool]:
    """The device's stored telemetry from `from` (default: a day before now) to `to`
    (default: now), grouped by time into readings; (readings, truncated)."""
    from iot.telemetry.messages import parse_ts

    bounds = {}
    for name, default in (("from", now_ms - 86_400_000), ("to", now_ms)):
        raw = body.get(name)
        parsed = default if raw is None else parse_ts(raw)
        if isinstance(parsed, str):
            raise ValidationFailed(f"{name} is not a time", [field_error(name, parsed)])
        bounds[name] = parsed
    if bounds["from"] > bounds["to"]:
        raise ValidationFailed("from is after to", [field_error("from", "must not be after to")])
    latest = _values_before(conn, device_type, device_id, bounds["from"])
    query = (
        sa.select(telemetry.c.ts, telemetry.c.field, telemetry.c.value, telemetry.c.text)
        .where(
            telemetry.c.device_id == device_id,
            telemetry.c.ts >= bounds["from"],
            telemetry.c.ts <= bounds["to"],
        )
        .order_by(telemetry.c.ts)
    )
    grouped: dict[int, dict[str, Any]] = {}
    for row in conn.execute(query):
        if row.ts not in grouped and len(grouped) == MAX_READINGS:
            break
        value = stored_value(device_type, row.field, row.value, row.text)
        if value is not None:
            grouped.setdefault(row.ts, {})[row.field] = value
    truncated = len(grouped) == MAX_READINGS
    readings = []
    for ts, values in grouped.items():
        readings.append(Reading(ts, values, dict(latest)))
        latest.update(values)
    return readings, truncated


def stored_value(device_type: DeviceType, name: str, value: float | None, text: str | None) -> Any:
    """A telemetry row's value as the device sent it: booleans and integers come back."""
    spec = device_type.telemetry.get(name)
    if spec is None:
        return None
    if spec.type == "string":
        return text
    if value is None:
        return None
    if spec.type == "boolean":
        return value != 0
    if spec.type == "integer":
        return int(value)
    return value


def _values_before(
    conn: sa.Connection, device_type: DeviceType, device_id: int, before: int
) -> dict[str, Any]:
    """Each field's last value before `before`: the `previous` of the first reading."""
    found = {}
    for name in device_type.telemetry:
        row = conn.execute(
            sa.select(telemetry.c.value, telemetry.c.text)
            .where(
                telemetry.c.device_id == device_id,
                telemetry.c.field == name,
                telemetry.c.ts < before,
            )
            .order_by(telemetry.c.ts.desc())
            .limit(1)
        ).first()
        if row is not None:
            value = stored_value(device_type, name, row.value, row.text)
            if value is not None:
                found[name] = value
    return found
