"""Devices for a simulation: `devices.device` records with fresh secrets, and the
credentials file the simulator reads them back from.

Provisioning writes through `engine.records` as the system (so the records are checked,
organised and audited like any other) and issues each device a new secret; a device whose
code exists already keeps its record and gets a new secret. Devices are bound to housing
units in turn when the database has any, so rules that read the unit have one.

The credentials file holds the secrets in clear: keep it out of version control and delete
it after the run. It also carries the device types it uses, so the simulator needs neither
the database nor `apps_config/` to run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.records import create_record
from engine.runtime import Runtime
from iot.registry import device_by_code, device_entity, device_types, issue_secret
from iot.simulator.device import Credential
from metamodel.devices import DeviceType

FORMAT = 1


def provision(
    runtime: Runtime, count: int, type_names: Sequence[str] = (), prefix: str = "SIM"
) -> list[Credential]:
    """`count` devices named `<prefix>-000001`…, of the given types in turn (default: every
    device type), each with a new secret."""
    catalog = runtime.require_catalog()
    known = device_types(catalog)
    names = list(type_names) or sorted(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown device types {unknown}; known: {sorted(known)}")
    entity = device_entity(catalog)
    units = _unit_ids(runtime, count)
    ids: dict[str, int] = {}
    for index in range(count):
        code = f"{prefix}-{index + 1:06d}"
        with runtime.engine.connect() as conn:
            existing = device_by_code(conn, catalog, code)
        if existing is not None:
            ids[code] = existing.id
            continue
        body = {
            "code": code,
            "name": f"Simulated {names[index % len(names)]} {index + 1}",
            "device_type": names[index % len(names)],
            "housing_unit": units[index % len(units)] if units else None,
            "install_location": "simulator",
        }
        ids[code] = int(create_record(runtime.engine, entity, body, SYSTEM)["id"])
    now = runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        return [
            Credential(
                code,
                issue_secret(conn, device_id, "simulator", now),
                _type_of(conn, entity.table, device_id),
                device_id,
            )
            for code, device_id in ids.items()
        ]


def _unit_ids(runtime: Runtime, count: int) -> list[int]:
    unit = runtime.require_catalog().entity("housing_stock", "housing_unit")
    if unit is None:
        return []
    with runtime.engine.connect() as conn:
        query = sa.select(unit.table.c.id).order_by(unit.table.c.id).limit(count)
        return list(conn.execute(query).scalars())


def _type_of(conn: sa.Connection, table: sa.Table, device_id: int) -> str:
    return str(conn.execute(sa.select(table.c.device_type).where(table.c.id == device_id)).scalar())


def write_credentials(
    path: Path, credentials: Sequence[Credential], types: dict[str, DeviceType]
) -> None:
    """Write the credentials file (mode 0600: it holds secrets)."""
    used = sorted({credential.type_name for credential in credentials})
    body = {
        "format": FORMAT,
        "types": {name: types[name].model_dump(mode="json") for name in used},
        "devices": [
            {"code": c.code, "secret": c.secret, "type": c.type_name, "id": c.device_id}
            for c in credentials
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")


def read_credentials(path: Path) -> tuple[list[Credential], dict[str, DeviceType]]:
    """The devices and device types of a credentials file."""
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if body.get("format") != FORMAT:
        raise ValueError(f"{path}: not a simulator credentials file (format {FORMAT})")
    types = {name: DeviceType.model_validate(spec) for name, spec in body["types"].items()}
    credentials = [
        Credential(item["code"], item["secret"], item["type"], item.get("id"))
        for item in body["devices"]
    ]
    missing = sorted({c.type_name for c in credentials} - set(types))
    if missing:
        raise ValueError(f"{path}: the file has no definition of device types {missing}")
    return credentials, types
