"""Utility bills from meter readings: one `devices.utility_bill` record per meter and month.

`bill_month(runtime, month)` bills every meter — a device of a metered type, active or with
readings in the month — that has a housing unit and no bill for that month yet; run again,
it adds only what is missing. Usage comes from `meter_months` (daily rollups), the price
from the `devices.fee_standard` in effect on the month's first day, the payer from the
unit's lease live at the month's end. A meter reset, a month without readings or a missing
fee standard gives a bill with status `review` and the reason; the amount (a computed field:
usage × unit price) is then empty or a lower bound, never negative.

Records are created through `engine.records` as SYSTEM, one transaction each, so every bill
is validated, given its organisation and audited like one a person entered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.errors import Conflict
from engine.principal import SYSTEM
from engine.records import create_record
from engine.runtime import Runtime
from iot.linkage.access import LEASES, LIVE_LEASE_STATUSES
from iot.linkage.meter_months import MeterMonth, Month, meter_month, read_months
from iot.registry import attributes_of, device_entity, device_types
from metamodel.devices import DeviceType

BILLS = ("devices", "utility_bill")
FEE_STANDARDS = ("devices", "fee_standard")
FEE_TYPES = {"electricity_meter": "electricity", "water_meter": "cold_water"}
HOT_ATTRIBUTE, HOT_FEE = "hot", "hot_water"  # a water meter with `hot: true` bills hot water
CHUNK = 500


@dataclass(frozen=True)
class Meter:
    id: int
    code: str
    housing_unit_id: int
    field: str  # the cumulative telemetry field billed
    unit: str | None
    fee_type: str


@dataclass
class BillRun:
    """What one run did for one month: bill ids created, by status, and meters passed over."""

    period: date
    created: list[int] = field(default_factory=list)
    review: list[int] = field(default_factory=list)
    existing: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period.isoformat(),
            "created": len(self.created),
            "review": len(self.review),
            "existing": self.existing,
        }


def bill_month(runtime: Runtime, month: Month, catalog: Catalog | None = None) -> BillRun:
    """Create the missing utility bills of `month`; see the module's docstring."""
    catalog = catalog or runtime.require_catalog()
    bills = catalog.entity(*BILLS)
    if bills is None:
        return BillRun(month.first_day)
    run = BillRun(month.first_day)
    with runtime.engine.connect() as conn:
        prices = fee_standards(conn, catalog, month.first_day)
        meters = list(_meters(conn, catalog))
        billed = _billed(conn, bills, month.first_day)
    for chunk in _chunks([m for m in meters if m.id not in billed], CHUNK):
        with runtime.engine.connect() as conn:
            readings = read_months(conn, {m.id: m.field for m in chunk}, month)
            payers = _payers(conn, catalog, {m.housing_unit_id for m in chunk}, month)
            active = _active(conn, catalog, [m.id for m in chunk])
        for meter in chunk:
            opening, days = readings[meter.id]
            if not days and meter.id not in active:
                continue  # a meter out of use with nothing to bill
            body = _bill(meter, month, meter_month(opening, days), prices, payers)
            try:
                created = create_record(runtime.engine, bills, body, SYSTEM)
            except Conflict:  # billed by a concurrent run meanwhile
                run.existing += 1
                continue
            run.created.append(created["id"])
            if body["status"] == "review":
                run.review.append(created["id"])
    run.existing += len(billed)
    return run


def fee_type_of(device_type: str, attributes: dict[str, Any]) -> str | None:
    """The fee a meter's readings are billed as, or None for a device that is not a meter."""
    fee = FEE_TYPES.get(device_type)
    if fee is not None and attributes.get(HOT_ATTRIBUTE) is True:
        return HOT_FEE
    return fee


def fee_standards(conn: sa.Connection, catalog: Catalog, day: date) -> dict[str, Any]:
    """Fee type → the enabled standard in effect on `day` (the latest taking effect by then)."""
    entity = catalog.entity(*FEE_STANDARDS)
    if entity is None:
        return {}
    table = entity.table
    rows = conn.execute(
        sa.select(table.c.fee_type, table.c.unit_price, table.c.unit)
        .where(table.c.enabled.is_(True), table.c.effective_from <= day)
        .order_by(table.c.effective_from)
    )
    return {row.fee_type: row for row in rows}  # the latest wins


def _meters(conn: sa.Connection, catalog: Catalog) -> Iterator[Meter]:
    types = device_types(catalog)
    metered = {name: _billed_field(types[name]) for name in FEE_TYPES if name in types}
    table = device_entity(catalog).table
    rows = conn.execute(
        sa.select(
            table.c.id, table.c.code, table.c.device_type, table.c.housing_unit, table.c.attributes
        )
        .where(table.c.device_type.in_(list(metered)), table.c.housing_unit.is_not(None))
        .order_by(table.c.id)
    )
    for row in rows:
        billed = metered[row.device_type]
        if billed is None:
            continue
        name, unit = billed
        fee = fee_type_of(row.device_type, attributes_of(row.attributes))
        if fee is not None:
            yield Meter(row.id, row.code, row.housing_unit, name, unit, fee)


def _billed_field(device_type: DeviceType) -> tuple[str, str | None] | None:
    """The type's first cumulative telemetry field and its unit."""
    for name, spec in device_type.telemetry.items():
        if spec.cumulative:
            return name, spec.unit
    return None


def _billed(conn: sa.Connection, bills: CompiledEntity, period: date) -> set[int]:
    table = bills.table
    return set(conn.scalars(sa.select(table.c.device).where(table.c.period == period)))


def _active(conn: sa.Connection, catalog: Catalog, ids: Sequence[int]) -> set[int]:
    table = device_entity(catalog).table
    query = sa.select(table.c.id).where(table.c.id.in_(ids), table.c.status == "active")
    return set(conn.scalars(query))


def _payers(
    conn: sa.Connection, catalog: Catalog, unit_ids: set[int], month: Month
) -> dict[int, Any]:
    """Unit id → its live lease that started latest by the month's end."""
    entity = catalog.entity(*LEASES)
    if entity is None or not unit_ids:
        return {}
    table = entity.table
    rows = conn.execute(
        sa.select(table.c.id, table.c.housing_unit, table.c.lessee_name)
        .where(
            table.c.housing_unit.in_(unit_ids),
            table.c.status.in_(LIVE_LEASE_STATUSES),
            table.c.start_date <= month.last_day,
        )
        .order_by(table.c.start_date, table.c.id)
    )
    return {row.housing_unit: row for row in rows}  # the latest wins


def _bill(
    meter: Meter,
    month: Month,
    reading: MeterMonth,
    prices: dict[str, Any],
    payers: dict[int, Any],
) -> dict[str, Any]:
    price = prices.get(meter.fee_type)
    reasons = [reading.review] if reading.review else []
    if price is None:
        reasons.append(f"缺少收费标准 / no fee standard for {meter.fee_type}")
    elif meter.unit and price.unit != meter.unit:
        reasons.append(f"计量单位不符 / the fee standard is per {price.unit}, not {meter.unit}")
    payer = payers.get(meter.housing_unit_id)
    return {
        "bill_no": f"SD{month.label}-{meter.code}",
        "device": meter.id,
        "housing_unit": meter.housing_unit_id,
        "contract": payer.id if payer else None,
        "lessee_name": payer.lessee_name if payer else None,
        "fee_type": meter.fee_type,
        "period": month.first_day,
        "opening_reading": reading.opening,
        "opening_at": reading.opening_at,
        "closing_reading": reading.closing,
        "closing_at": reading.closing_at,
        "usage": reading.usage,
        "unit": meter.unit,
        "unit_price": Decimal(str(price.unit_price)) if price is not None else None,
        "status": "review" if reasons else "issued",
        "review_reason": "；".join(reasons) or None,
    }


def _chunks(items: list[Meter], size: int) -> Iterator[list[Meter]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
