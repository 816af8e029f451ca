"""What people read about devices: the devices they may see with their state, one device
with its latest values (labelled, with units) and counters, its time series and its
refused payloads. Reading rights are the device record's: everything goes through
`engine.records`, so a device out of the reader's scope is 404."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.errors import ValidationFailed, field_error
from engine.principal import Principal
from engine.records import get_record, list_records, parse_list_query
from engine.records.reading import require_action
from iot.registry import device_entity, device_types
from iot.tables import device_states, rejects
from iot.telemetry.series import series
from iot.telemetry.state import device_states_of
from metamodel.labels import pick

LIST_FILTERS = {"type": "device_type", "unit": "housing_unit"}  # ours → the record's field


def list_devices(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    params: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """`{"items", "next_cursor", "count"}`: the devices the principal may read, each with
    `online`, `last_seen` and `values`. `type`, `unit` and `online` filter; the usual list
    parameters (`q`, `sort`, `limit`, `cursor`, `field=`) work as on `/api/devices/device`."""
    entity = device_entity(catalog)
    table = entity.table
    access = require_action(conn, entity, principal, "read")
    given = [(LIST_FILTERS.get(k, k), v) for k, v in params if k != "online"]
    query = parse_list_query(entity, given, access=access)
    where: list[sa.ColumnElement[bool]] = []
    online = dict(params).get("online")
    if online is not None:
        heard = sa.select(device_states.c.device_id).where(device_states.c.online.is_(True))
        wanted = online.lower() in ("1", "true", "yes")
        where.append(table.c.id.in_(heard) if wanted else table.c.id.not_in(heard))
    page = list_records(conn, entity, query, principal, where=where)
    states = device_states_of(conn, [item["id"] for item in page.items])
    items = [
        {
            **item,
            "online": states[item["id"]]["online"],
            "last_seen": states[item["id"]]["last_seen"],
            "values": states[item["id"]]["values"],
        }
        for item in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor, "count": page.count}


def device_detail(
    conn: sa.Connection, catalog: Catalog, principal: Principal, device_id: int, language: str
) -> dict[str, Any]:
    """The device record, its state and its type's telemetry fields with the latest values."""
    record = get_record(conn, device_entity(catalog), device_id, principal)
    state = device_states_of(conn, [device_id])[device_id]
    spec = device_types(catalog).get(record["device_type"])
    fields = spec.telemetry if spec is not None else {}
    telemetry = [
        {
            "field": name,
            "label": pick(field.label, language, name),
            "type": field.type,
            "unit": field.unit,
            "value": state["values"].get(name),
        }
        for name, field in fields.items()
    ]
    return {"device": record, "state": state, "telemetry": telemetry}


def device_series(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    device_id: int,
    field: str,
    start_ms: int,
    end_ms: int,
    resolution: str,
) -> dict[str, Any]:
    """One field's series, if the principal may read the device (404 otherwise); 422 for
    a field the device's type does not report."""
    record = get_record(conn, device_entity(catalog), device_id, principal)
    device_type = device_types(catalog).get(record["device_type"])
    spec = device_type.telemetry.get(field) if device_type is not None else None
    if spec is None:
        message = f"not a telemetry field of {record['device_type']}"
        raise ValidationFailed("bad series parameters", [field_error("field", message)])
    zone = catalog.options.timezone
    points = series(conn, device_id, field, start_ms, end_ms, resolution, spec.type, zone)
    return {
        "device": device_id,
        "field": field,
        "unit": spec.unit,
        "resolution": resolution,
        "from": start_ms,
        "to": end_ms,
        "points": points,
    }


def device_rejects(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    device_id: int,
    before: int | None,
    limit: int,
) -> dict[str, Any]:
    """The device's refused payloads, newest first; `before` pages on (`next_cursor`)."""
    get_record(conn, device_entity(catalog), device_id, principal)
    query = sa.select(rejects).where(rejects.c.device_id == device_id)
    if before is not None:
        query = query.where(rejects.c.id < before)
    rows = conn.execute(query.order_by(rejects.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [
        {
            "id": row["id"],
            "transport": row["transport"],
            "reason": row["reason"],
            "payload": row["payload"],
            "received_at": row["received_at"],
        }
        for row in rows[:limit]
    ]
    next_cursor = items[-1]["id"] if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
