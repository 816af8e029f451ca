"""What a device rule's condition reads about one reading: the device record, its housing
unit, the week's baseline, and the reading's values, previous values and deltas — turned into
the expression language's values (numbers as decimals).

The devices and units of a batch of readings are read together (`facts_of`: one query each,
however many devices), the baselines only for rules that read them
(`CompiledDeviceRule.reads_baseline`), in two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
CHUNK = 500  # ids in one `IN (...)`
WEEK = BASELINE_DAYS * 86_400_000  # ms
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
    return facts_of(conn, catalog, [(device, device_type, baseline_before)])[device.id]


def facts_of(
    conn: sa.Connection,
    catalog: Catalog,
    wanted: Sequence[tuple[Device, DeviceType, int | None]],
) -> dict[int, Facts]:
    """`load_facts` for many devices at once, by device id: one query (per `CHUNK` devices)
    for the records, one for the units and one for the baselines of those that want one."""
    entity = device_entity(catalog)
    records = _rows(conn, entity, [device.id for device, _, _ in wanted])
    target = unit_entity(catalog)
    unit_ids = {d.housing_unit_id for d, _, _ in wanted if d.housing_unit_id is not None}
    units = _rows(conn, target, sorted(unit_ids)) if target is not None else {}
    baselines = load_baselines(
        conn, [(d.id, spec, before) for d, spec, before in wanted if before is not None]
    )
    found = {}
    hidden, unit_hidden = _sensitive(entity), _sensitive(target)
    for device, device_type, _ in wanted:
        row = records.get(device.id)
        record = _readable(row, hidden) if row is not None else {"id": device.id}
        for name, attribute in device_type.attributes.items():
            record.setdefault(name, device.attributes.get(name, attribute.default))
        unit_id = device.housing_unit_id
        unit_row = units.get(unit_id) if target is not None and unit_id is not None else None
        unit = _readable(unit_row, unit_hidden) if unit_row is not None else {}
        found[device.id] = Facts(record, unit, baselines.get(device.id, {}))
    return found


def unit_entity(catalog: Catalog) -> Any:
    """The entity a device's `housing_unit` points at, if the device entity has one."""
    spec = device_entity(catalog).definition.fields.get("housing_unit")
    if not isinstance(spec, ReferenceField):
        return None
    resolved = catalog.definitions.resolve(DEVICE_ENTITY[0], spec.entity)
    return catalog.entity(resolved[0], resolved[1].name) if resolved else None


def load_baselines(
    conn: sa.Connection, wanted: Sequence[tuple[int, DeviceType, int]]
) -> dict[int, dict[str, Decimal]]:
    """By device id, each number field's average over the hourly rollups of the 7 days
    before the device's own `before` (ms); for a cumulative field, its average increase per
    reading over those days.

    The devices of a batch have nearly the same `before`, so their windows share a core (from
    the latest window's start to the earliest window's end): that is summed per device and
    field in one grouped query; the few hourly rows at the edges are read as they are and
    added to the windows they fall in."""
    types = {device_id: device_type for device_id, device_type, _ in wanted}
    windows = {device_id: before for device_id, _, before in wanted}
    sums: dict[tuple[int, str], list[float]] = {}  # count, sum, first, last

    def add(device_id: int, name: str, count: int, total: float, first: float, last: float) -> None:
        known = sums.get((device_id, name))
        if known is None:
            sums[(device_id, name)] = [count, total, first, last]
        else:
            known[0] += count
            known[1] += total
            known[2], known[3] = min(known[2], first), max(known[3], last)

    ids = sorted(windows)
    for start in range(0, len(ids), CHUNK):
        chosen = ids[start : start + CHUNK]
        earliest, latest = min(windows[i] for i in chosen), max(windows[i] for i in chosen)
        core = (latest - WEEK, earliest) if latest - WEEK < earliest else None
        hourly = sa.and_(rollups.c.device_id.in_(chosen), rollups.c.period == "h")
        if core is not None:
            query = (
                sa.select(
                    rollups.c.device_id,
                    rollups.c.field,
                    sa.func.sum(rollups.c.count),
                    sa.func.sum(rollups.c.sum),
                    sa.func.min(rollups.c.first),
                    sa.func.max(rollups.c.last),
                )
                .where(hourly, rollups.c.bucket >= core[0], rollups.c.bucket < core[1])
                .group_by(rollups.c.device_id, rollups.c.field)
            )
            for device_id, name, count, total, first, last in conn.execute(query):
                add(device_id, name, count, total, first, last)
        edges = sa.and_(rollups.c.bucket >= earliest - WEEK, rollups.c.bucket < latest)
        if core is not None:
            edges = sa.and_(edges, sa.or_(rollups.c.bucket < core[0], rollups.c.bucket >= core[1]))
        query = sa.select(
            rollups.c.device_id,
            rollups.c.field,
            rollups.c.count,
            rollups.c.sum,
            rollups.c.first,
            rollups.c.last,
            rollups.c.bucket,
        ).where(hourly, edges)
        for edge in conn.execute(query):
            if windows[edge.device_id] - WEEK <= edge.bucket < windows[edge.device_id]:
                add(edge.device_id, edge.field, edge[2], edge.sum, edge.first, edge.last)
    found: dict[int, dict[str, Decimal]] = {}
    for (device_id, field_name), (count, total, first, last) in sums.items():
        value = _average(types[device_id], field_name, int(count), total, first, last)
        if value is not None:
            found.setdefault(device_id, {})[field_name] = value
    return found


def _average(
    device_type: DeviceType, name: str, count: int, total: float, first: float, last: float
) -> Decimal | None:
    spec = device_type.telemetry.get(name)
    if spec is None or spec.type != "number" or not count:
        return None
    if spec.cumulative:
        return decimal((last - first) / (count - 1)).quantize(QUANTUM) if count > 1 else None
    return decimal(total / count).quantize(QUANTUM)


def _rows(conn: sa.Connection, entity: Any, ids: list[int]) -> dict[int, sa.RowMapping]:
    """An entity's rows by id, `CHUNK` ids a query."""
    found: dict[int, sa.RowMapping] = {}
    for start in range(0, len(ids), CHUNK):
        query = sa.select(entity.table).where(entity.table.c.id.in_(ids[start : start + CHUNK]))
        found.update((int(row["id"]), row) for row in conn.execute(query).mappings())
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


def _readable(row: Mapping[Any, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """A row's stored values but the `hidden` ones."""
    return {name: value for name, value in row.items() if name not in hidden}


def _sensitive(entity: Any) -> frozenset[str]:
    """An entity's sensitive fields: a rule never reads those."""
    if entity is None:
        return frozenset()
    return frozenset(name for name, spec in entity.fields.items() if spec.sensitive)


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
