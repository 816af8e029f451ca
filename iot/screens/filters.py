"""The device list's filters that the device records cannot answer alone: whether a device
is online (its state row) and which housing unit it is bound to (a search of the unit)."""

from __future__ import annotations

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from iot.tables import device_states


def online_condition(table: sa.Table, online: bool) -> sa.ColumnElement[bool]:
    """Devices (rows of `table`, the device entity's) online now, or not: a device never
    heard from has no state row and counts as offline."""
    heard = sa.select(device_states.c.device_id).where(device_states.c.online.is_(True))
    return table.c.id.in_(heard) if online else table.c.id.not_in(heard)


def unit_condition(
    catalog: Catalog, device_entity: CompiledEntity, text: str
) -> sa.ColumnElement[bool] | None:
    """Devices whose housing unit matches `text` in one of the unit entity's search fields
    (its code, address, room number); None when devices are not bound to units."""
    spec = device_entity.fields.get("housing_unit")
    target = getattr(spec, "entity", None)
    units = catalog.entity(*target.split(".", 1)) if target and "." in target else None
    if units is None:
        return None
    names = units.definition.search_fields or [units.definition.title_field or "id"]
    searched = [units.table.c[name] for name in names if name in units.table.c]
    if not searched:
        return None
    found = sa.or_(*(column.contains(text, autoescape=True) for column in searched))
    matching = sa.select(units.table.c.id).where(found)
    return device_entity.table.c.housing_unit.in_(matching)
