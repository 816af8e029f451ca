"""Demo devices for the demo city: for a share of the let units, a smart lock, a smart
breaker, an electricity meter and a cold and a hot water meter; and the utility fee
standards (electricity CNY 0.6/kWh, cold water 3.5/m³, hot water 25/m³) that price their
bills.

Run after the housing demo data (`run.py demo-data`), on the same database:

    counts = load_devices(runtime, share=0.25)   # {"devices.device": 1325, ...}

Devices get no secrets: the simulator's `--provision`, or `POST /api/iot/devices/{id}/secret`,
issues them to whoever will play the devices. Loading twice adds nothing: units that
already have devices and fee types that already have a standard are left alone. The same
seed picks the same units.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.bulk import insert_rows, next_id, reset_sequence
from engine.catalog import CompiledEntity
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.records.orgs import assign_orgs
from engine.runtime import Runtime

LET = "let"
FEE_STANDARDS = [
    ("electricity", Decimal("0.6"), "kWh"),
    ("cold_water", Decimal("3.5"), "m³"),
    ("hot_water", Decimal("25"), "m³"),
]
FEES_FROM = date(2025, 1, 1)
KIT = [  # (type, code prefix, name, install location, attributes)
    ("smart_lock", "LOCK", "智能门锁", "入户门", None),
    ("smart_breaker", "BRK", "智能空开", "配电箱", None),
    ("electricity_meter", "EM", "智能电表", "电表箱", '{"paying_unit": "国网长沙供电公司"}'),
    ("water_meter", "WMC", "冷水表", "水表井", '{"hot": false}'),
    ("water_meter", "WMH", "热水表", "卫生间", '{"hot": true}'),
]
MODELS = {
    "smart_lock": ("AJ-L7", "湘江智能锁业"),
    "smart_breaker": ("AJ-B2P", "长沙电器"),
    "electricity_meter": ("DDZY-LoRa", "威胜集团"),
    "water_meter": ("LXC-15U", "三川智慧"),
}


def load_devices(runtime: Runtime, share: float = 0.25, seed: int = 2026) -> dict[str, int]:
    """Add the demo devices and fee standards; the number of records added, by entity."""
    catalog = runtime.require_catalog()
    devices = catalog.entity("devices", "device")
    units = catalog.entity("housing_stock", "housing_unit")
    if devices is None or units is None:
        return {}
    added: dict[str, int] = {}
    with write_transaction(runtime.engine) as conn:
        chosen = _chosen_units(conn, units, devices, share, seed)
        rows = _device_rows(chosen, next_id(conn, devices))
        added[devices.path] = insert_rows(conn, devices, rows, SYSTEM)
        reset_sequence(conn, devices)
        assign_orgs(conn, devices, only_unassigned=True)
        fees = catalog.entity("devices", "fee_standard")
        if fees is not None:
            added[fees.path] = insert_rows(conn, fees, _fee_rows(conn, fees), SYSTEM)
            reset_sequence(conn, fees)
    return added


def _chosen_units(
    conn: sa.Connection, units: CompiledEntity, devices: CompiledEntity, share: float, seed: int
) -> list[tuple[int, str]]:
    """A `share` of the let units, drawn with `seed`, less those that have devices already;
    as (id, code), in id order."""
    fitted = set(
        conn.scalars(
            sa.select(devices.table.c.housing_unit).where(devices.table.c.housing_unit.is_not(None))
        )
    )
    table = units.table
    let = conn.execute(
        sa.select(table.c.id, table.c.code).where(table.c.status == LET).order_by(table.c.id)
    ).all()
    rng = random.Random(seed)
    drawn = [(row.id, row.code) for row in let if rng.random() < share]
    return [(unit_id, code) for unit_id, code in drawn if unit_id not in fitted]


def _device_rows(units: list[tuple[int, str]], first_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for unit_id, unit_code in units:
        for type_name, prefix, name, location, attributes in KIT:
            model, manufacturer = MODELS[type_name]
            rows.append(
                {
                    "id": first_id + len(rows),
                    "code": f"{prefix}-{unit_code}",
                    "name": f"{unit_code} {name}",
                    "device_type": type_name,
                    "housing_unit": unit_id,
                    "install_location": location,
                    "model": model,
                    "manufacturer": manufacturer,
                    "purchase_date": date(2025, 6, 1),
                    "warranty_until": date(2028, 5, 31),
                    "status": "active",
                    "attributes": attributes,
                }
            )
    return rows


def _fee_rows(conn: sa.Connection, fees: CompiledEntity) -> list[dict[str, Any]]:
    table = fees.table
    priced = set(conn.scalars(sa.select(table.c.fee_type)))
    first_id = next_id(conn, fees)
    rows: list[dict[str, Any]] = []
    for fee_type, price, unit in FEE_STANDARDS:
        if fee_type in priced:
            continue
        rows.append(
            {
                "id": first_id + len(rows),
                "fee_type": fee_type,
                "unit_price": price,
                "unit": unit,
                "effective_from": FEES_FROM,
                "enabled": True,
            }
        )
    return rows
