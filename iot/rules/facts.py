"""What a device rule's condition reads about one reading: the device record, its housing
unit, the week's baseline, and the reading's values, previous values and deltas — turned into
the expression language's values (numbers as decimals).

The device and unit are read once per batch of readings; the baseline only for rules that
read it (`CompiledDeviceRule.reads_baseline`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.expressions import Environment
from iot.readings import Reading
from iot.registry import DEVICE_ENTITY, Device, device_entity
from iot.tables import device_states, rollups
from metamodel.devices import DeviceType
from metamodel.fields import ReferenceField

BASELINE_DAYS = 7
QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class Facts:
    """The device as a rule sees it: its record (with attributes), its unit, its baseline."""

    device: dict[str, Any]
    unit: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Decimal] = field(default_factory=dict)


def load_facts(
    conn: sa.Connection,
    catalog: Catalog,
    device: Device,
    device_type: DeviceType,
    baseline_before: int | None = None,
) -> Facts:
    """The device's record and unit; with `baseline_before` (ms), the baseline of the week
    before that moment."""
    entity = device_entity(catalog)
    row = conn.execute(sa.select(entity.table).where(entity.table.c.id == device.id)).first()
    record = _readable(entity, row._mapping) if row is not None else {"id": device.id}
    for name, attribute in device_type.attributes.items():
        record.setdefault(name, device.attributes.get(name, attribute.default))
    unit: dict[str, Any] = {}
    target = unit_entity(catalog)
    if target is not None and device.housing_unit_id is not None:
        unit_row = conn.execute(
            sa.select(target.table).where(target.table.c.id == device.housing_unit_id)
        ).first()
        unit = _readable(target, unit_row._mapping) if unit_row is not None else {}
    baseline = {}
    if baseline_before is not None:
        baseline = load_baseline(conn, device.id, device_type, baseline_before)
    return Facts(record, unit, baseline)


def unit_entity(catalog: Catalog) -> Any:
    """The entity a device's `housing_unit` points at, if the device entity has one."""
    spec = device_entity(catalog).definition.fields.get("housing_unit")
    if not isinstance(spec, ReferenceField):
        return None
    resolved = catalog.definitions.resolve(DEVICE_ENTITY[0], spec.entity)
    return catalog.entity(resolved[0], resolved[1].name) if resolved else None


def load_baseline(
    conn: sa.Connection, device_id: int, device_type: DeviceType, before: int
) -> dict[str, Decimal]:
    """Each number field's average over the hourly rollups of the 7 days before `before`;
    for a cumulative field, its average increase per reading over those days."""
    start = before - BASELINE_DAYS * 86_400_000
    query = (
        sa.select(
            rollups.c.field,
            sa.func.sum(rollups.c.count),
            sa.func.sum(rollups.c.sum),
            sa.func.min(rollups.c.first),
            sa.func.max(rollups.c.last),
        )
        .where(
            rollups.c.device_id == device_id,
            rollups.c.period == "h",
            rollups.c.bucket >= start,
            rollups.c.bucket < before,
        )
        .group_by(rollups.c.field)
    )
    found: dict[str, Decimal] = {}
    for name, count, total, first, last in conn.execute(query):
        spec = device_type.telemetry.get(name)
        if spec is None or spec.type != "number" or not count:
            continue
        if spec.cumulative:
            if count > 1:
                found[name] = decimal((last - first) / (count - 1)).quantize(QUANTUM)
        else:
            found[name] = decimal(total / count).quantize(QUANTUM)
    return found


def variables(facts: Facts, device_type: DeviceType, reading: Reading) -> dict[str, Any]:
    """The condition's variables for one reading (besides `now` and `today`)."""
    values = typed_values(device_type, reading.values)
    previous = typed_values(device_type, reading.previous)
    delta = {}
    for name, spec in device_type.telemetry.items():
        if spec.cumulative and values.get(name) is not None and previous.get(name) is not None:
            delta[name] = values[name] - previous[name]
    return {
        "values": values,
        "previous": previous,
        "delta": delta,
        "baseline": facts.baseline,
        "device": facts.device,
        "unit": facts.unit,
    }


def environment(variables: dict[str, Any], moment: datetime, timezone: str) -> Environment:
    """An evaluation environment at `moment`, its date taken in the settings' time zone."""
    today = moment.astimezone(ZoneInfo(timezone)).date()
    return Environment(today=today, now=moment, timezone=timezone, variables=variables)


def typed_values(device_type: DeviceType, given: Mapping[str, Any]) -> dict[str, Any]:
    """Telemetry as the expression language reads it: numbers as decimals, integers as ints."""
    found: dict[str, Any] = {}
    for name, value in given.items():
        spec = device_type.telemetry.get(name)
        if spec is None or value is None:
            continue
        if spec.type == "number" and not isinstance(value, bool):
            found[name] = decimal(value)
        elif spec.type == "integer" and not isinstance(value, bool):
            found[name] = int(value)
        else:
            found[name] = value
    return found


def decimal(value: float | int | Decimal) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else value)


def moment_of(ts: int) -> datetime:
    """A telemetry time (ms since the epoch) as an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ts)


def millis(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def jsonable(value: Any) -> Any:
    """Decimals and times as JSON gives them back (for run logs and test results)."""
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _readable(entity: Any, row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row's stored values but its sensitive fields (a rule never reads those)."""
    hidden = {name for name, spec in entity.fields.items() if spec.sensitive}
    return {name: value for name, value in row.items() if name not in hidden}


def devices_of_type(
    conn: sa.Connection, catalog: Catalog, type_name: str, ids: list[int] | None = None
) -> list[Device]:
    """The active devices of a type (of `ids` only, if given), by id."""
    table = device_entity(catalog).table
    query = sa.select(table).where(table.c.device_type == type_name, table.c.status == "active")
    if ids is not None:
        query = query.where(table.c.id.in_(ids))
    found = []
    for row in conn.execute(query.order_by(table.c.id)).mappings():
        try:
            attributes = json.loads(row["attributes"]) if row["attributes"] else {}
        except ValueError:
            attributes = {}
        found.append(
            Device(
                id=row["id"],
                code=row["code"],
                name=row["name"],
                type_name=row["device_type"],
                housing_unit_id=row["housing_unit"],
                org_id=row["org_id"],
                status=row["status"],
                attributes=attributes if isinstance(attributes, dict) else {},
            )
        )
    return found


def latest_values(conn: sa.Connection, device_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each device's latest values as its state keeps them, by device id."""
    if not device_ids:
        return {}
    query = sa.select(device_states.c.device_id, device_states.c["values"]).where(
        device_states.c.device_id.in_(device_ids)
    )
    found: dict[int, dict[str, Any]] = {}
    for device_id, text in conn.execute(query):
        try:
            values = json.loads(text) if text else {}
        except ValueError:
            values = {}
        found[device_id] = values if isinstance(values, dict) else {}
    return found
