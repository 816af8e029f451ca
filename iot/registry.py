"""Devices as the platform knows them: the `devices.device` records, their device types,
and one secret per device.

A secret is 32 random bytes shown once when issued; the platform keeps its SHA-256 digest
(a random 256-bit key needs no slow hash: there is nothing to guess) and its last four
characters, to tell secrets apart. Issuing again replaces the old one at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.errors import NotFound
from iot.tables import device_secrets
from metamodel.devices import DEVICE_ENTITY, DeviceRule, DeviceType


@dataclass(frozen=True)
class Device:
    id: int
    code: str
    name: str
    type_name: str
    housing_unit_id: int | None
    org_id: int | None
    status: str
    attributes: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.status == "active"


def device_entity(catalog: Catalog) -> CompiledEntity:
    entity = catalog.entity(*DEVICE_ENTITY)
    if entity is None:
        raise NotFound("the devices app is not published: no entity devices.device")
    return entity


def device_types(catalog: Catalog) -> dict[str, DeviceType]:
    """Every device type of every app, by name (names are unique across apps)."""
    key = ("iot", "device_types")
    found = catalog.cache.get(key)
    if found is None:
        found = {
            name: device_type
            for bundle in catalog.definitions.apps.values()
            for name, device_type in bundle.device_types.items()
        }
        catalog.cache[key] = found
    return found  # type: ignore[no-any-return]


def device_type(catalog: Catalog, name: str) -> DeviceType:
    found = device_types(catalog).get(name)
    if found is None:
        raise NotFound(f"no device type {name!r}")
    return found


def device_rules(catalog: Catalog) -> list[tuple[str, DeviceRule]]:
    """Every enabled device rule as (app, rule), highest priority first."""
    rules = [
        (app, rule)
        for app, bundle in catalog.definitions.apps.items()
        for rule in bundle.device_rules.values()
        if rule.enabled
    ]
    return sorted(rules, key=lambda pair: (-pair[1].priority, pair[0], pair[1].name))


def attributes_of(text: str | None) -> dict[str, Any]:
    """A device record's `attributes` text as a dict; empty when unset or not a JSON object."""
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _device(row: Any) -> Device:
    return Device(
        id=row.id,
        code=row.code,
        name=row.name,
        type_name=row.device_type,
        housing_unit_id=row.housing_unit,
        org_id=row.org_id,
        status=row.status,
        attributes=attributes_of(row.attributes),
    )


def _select(catalog: Catalog) -> sa.Select[Any]:
    table = device_entity(catalog).table
    return sa.select(
        table.c.id,
        table.c.code,
        table.c.name,
        table.c.device_type,
        table.c.housing_unit,
        table.c.org_id,
        table.c.status,
        table.c.attributes,
    )


def load_device(conn: sa.Connection, catalog: Catalog, device_id: int) -> Device:
    table = device_entity(catalog).table
    row = conn.execute(_select(catalog).where(table.c.id == device_id)).first()
    if row is None:
        raise NotFound(f"no device {device_id}")
    return _device(row)


def device_by_code(conn: sa.Connection, catalog: Catalog, code: str) -> Device | None:
    table = device_entity(catalog).table
    row = conn.execute(_select(catalog).where(table.c.code == code)).first()
    return None if row is None else _device(row)


def active_devices(conn: sa.Connection, catalog: Catalog, codes: list[str]) -> dict[str, Device]:
    """The active devices among `codes`, by code, in one query."""
    table = device_entity(catalog).table
    query = _select(catalog).where(table.c.code.in_(codes), table.c.status == "active")
    return {row.code: _device(row) for row in conn.execute(query)}


def devices_of_unit(
    conn: sa.Connection, catalog: Catalog, housing_unit_id: int, type_name: str | None = None
) -> list[Device]:
    table = device_entity(catalog).table
    query = _select(catalog).where(table.c.housing_unit == housing_unit_id)
    if type_name is not None:
        query = query.where(table.c.device_type == type_name)
    return [_device(row) for row in conn.execute(query.order_by(table.c.id))]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_secret(conn: sa.Connection, device_id: int, by: str, now: datetime) -> str:
    """A new secret for the device, replacing any earlier one; returned once, never stored."""
    secret = secrets.token_urlsafe(32)
    values = {"digest": digest(secret), "hint": secret[-4:], "issued_at": now, "issued_by": by}
    updated = conn.execute(
        device_secrets.update().where(device_secrets.c.device_id == device_id).values(values)
    )
    if updated.rowcount == 0:
        conn.execute(device_secrets.insert().values(device_id=device_id, **values))
    return secret


def authenticate(conn: sa.Connection, catalog: Catalog, code: str, secret: str) -> Device | None:
    """The device whose code and secret these are, if it is active; else None."""
    device = device_by_code(conn, catalog, code)
    if device is None or not device.active:
        return None
    stored = conn.execute(
        sa.select(device_secrets.c.digest).where(device_secrets.c.device_id == device.id)
    ).scalar()
    if stored is None or not hmac.compare_digest(stored, digest(secret)):
        return None
    return device
