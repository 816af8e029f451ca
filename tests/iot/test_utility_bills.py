"""Meter readings become utility bills: one per meter and month, priced by the fee standard,
marked for review (never negative) when the meter was reset or sent nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from iot.linkage.bills import bill_month
from iot.linkage.meter_months import Day, Month, meter_month
from iot.registry import load_device
from iot.telemetry.ingest import ingest
from tests.databases import isolated_database
from tests.iot.world import Handle, World, device_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
BILLS = "/api/devices/utility_bill"
FEBRUARY = Month.of(2026, 2, "Asia/Shanghai")


def at(day: str, hour: int = 12) -> int:
    """Epoch ms of `day` (ISO date) at `hour` o'clock in Shanghai."""
    moment = datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)
    return int(moment.timestamp() * 1000)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the module (each test uses meters of its own): building it is slow."""
    folder = tmp_path_factory.mktemp("bills")
    with isolated_database() as url, device_world(folder, url, units=40) as world:
        for fee_type, price, unit in [
            ("electricity", "0.6", "kWh"),
            ("cold_water", "3.5", "m³"),
            ("hot_water", "25", "m³"),
        ]:
            body = {"fee_type": fee_type, "unit_price": price, "unit": unit}
            response = world.admin.post(
                "/api/devices/fee_standard", json={**body, "effective_from": "2025-01-01"}
            )
            assert response.status_code == 201, response.text
        yield world


def send(world: World, device: Handle, readings: list[tuple[str, int, float]]) -> None:
    """Readings (day, hour, value) of the device's cumulative field, through the ingest both
    transports use (its HTTP and MQTT paths have their own tests)."""
    field = "energy" if device.type_name == "electricity_meter" else "volume"
    messages = [{"ts": at(day, hour), "values": {field: value}} for day, hour, value in readings]
    with world.runtime.engine.connect() as conn:
        found = load_device(conn, world.catalog, device.id)
    result = ingest(world.runtime, world.catalog, found, messages, "http", world.clock.now())
    assert result.accepted == len(messages), result


def bill_of(world: World, device: Handle) -> dict:
    response = world.admin.get(BILLS, params={"device": device.id, "period": "2026-02-01"})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 1, items
    return items[0]


def let_unit(world: World) -> dict:
    """The unit of a lease in force."""
    leases = world.rows("public_rental", "lease_contract")
    return {"id": next(lease["housing_unit"] for lease in leases if lease["status"] == "active")}


def test_a_months_readings_become_priced_bills(world: World) -> None:
    unit = let_unit(world)
    power = world.add_device("electricity_meter", unit["id"])
    cold = world.add_device("water_meter", unit["id"])
    hot = world.add_device("water_meter", unit["id"], attributes='{"hot": true}')
    send(world, power, [("2026-01-31", 20, 1200.0), ("2026-02-10", 9, 1250.5)])
    send(world, power, [("2026-02-28", 23, 1320.0), ("2026-03-01", 1, 1321.0)])
    send(world, cold, [("2026-02-03", 8, 10.0), ("2026-02-27", 8, 14.2)])
    send(world, hot, [("2026-01-15", 8, 3.0), ("2026-02-20", 8, 4.5)])

    run = bill_month(world.runtime, FEBRUARY)

    assert len(run.created) >= 3
    power_bill = bill_of(world, power)
    assert power_bill["fee_type"] == "electricity"
    assert Decimal(power_bill["opening_reading"]) == Decimal("1200")  # January's last reading
    assert Decimal(power_bill["closing_reading"]) == Decimal("1320")  # March's is not counted
    assert Decimal(power_bill["usage"]) == Decimal("120")
    assert Decimal(power_bill["amount"]) == Decimal("72.00")
    assert power_bill["status"] == "issued"
    assert power_bill["bill_no"] == f"SD202602-{power.code}"
    assert power_bill["housing_unit"] == unit["id"]
    assert power_bill["contract"] is not None and power_bill["lessee_name"]

    cold_bill = bill_of(world, cold)  # first month of the meter: it opens at its first reading
    assert cold_bill["fee_type"] == "cold_water"
    assert Decimal(cold_bill["usage"]) == Decimal("4.2")
    assert Decimal(cold_bill["amount"]) == Decimal("14.70")

    hot_bill = bill_of(world, hot)
    assert hot_bill["fee_type"] == "hot_water"
    assert Decimal(hot_bill["amount"]) == Decimal("37.50")  # 1.5 m³ × 25


def test_billing_again_adds_nothing(world: World) -> None:
    meter = world.add_device("electricity_meter", let_unit(world)["id"])
    send(world, meter, [("2026-02-02", 8, 5.0), ("2026-02-25", 8, 9.0)])
    first = bill_month(world.runtime, FEBRUARY)
    again = bill_month(world.runtime, FEBRUARY)
    assert first.created and not again.created
    assert again.existing == first.existing + len(first.created)
    assert Decimal(bill_of(world, meter)["amount"]) == Decimal("2.40")


def test_a_reset_meter_is_billed_for_review_never_negative(world: World) -> None:
    meter = world.add_device("water_meter", let_unit(world)["id"])
    send(world, meter, [("2026-01-30", 8, 950.0), ("2026-02-10", 8, 980.0)])
    send(world, meter, [("2026-02-12", 8, 2.0), ("2026-02-26", 8, 6.0)])  # replaced at 0
    bill_month(world.runtime, FEBRUARY)
    bill = bill_of(world, meter)
    assert bill["status"] == "review"
    assert "reset" in bill["review_reason"]
    assert Decimal(bill["usage"]) == Decimal("34")  # 30 before, and from 2 to 6 after
    assert Decimal(bill["amount"]) >= 0


def test_a_meter_without_readings_is_billed_for_review_without_an_amount(world: World) -> None:
    meter = world.add_device("electricity_meter", let_unit(world)["id"])
    bill_month(world.runtime, FEBRUARY)
    bill = bill_of(world, meter)
    assert bill["status"] == "review"
    assert "no readings" in bill["review_reason"]
    assert bill["usage"] is None and bill["amount"] is None
    fixed = world.admin.patch(
        f"{BILLS}/{bill['id']}", json={"usage": "30", "status": "issued"}
    )  # a person reads the meter and completes the bill
    assert fixed.status_code == 200, fixed.text
    assert Decimal(fixed.json()["amount"]) == Decimal("18.00")


def test_the_daily_job_bills_the_month_before(world: World) -> None:
    meter = world.add_device("water_meter", let_unit(world)["id"])
    send(world, meter, [("2026-02-05", 8, 1.0), ("2026-02-15", 8, 2.0)])
    world.runtime.jobs.enqueue("iot.linkage.utility_bills")
    world.runtime.jobs.run_pending()
    assert Decimal(bill_of(world, meter)["amount"]) == Decimal("3.50")


def test_bills_follow_the_device_records_scope(world: World) -> None:
    world.add_device("water_meter", let_unit(world)["id"])
    bill_month(world.runtime, FEBRUARY)
    operator = world.people["operator"]  # the city's device operator reads every bill
    response = operator.get(BILLS)
    assert response.status_code == 200 and response.json()["items"]
    assert operator.delete(f"{BILLS}/{response.json()['items'][0]['id']}").status_code == 403


def day(first: float, last: float, low: float | None = None, high: float | None = None) -> Day:
    return Day(first, last, first if low is None else low, last if high is None else high, 0, 0)


@pytest.mark.parametrize(
    ("opening", "days", "usage", "review"),
    [
        (day(90, 100), [day(101, 110), day(110, 130)], "30.000", None),
        (None, [day(5, 9), day(9, 12)], "7.000", None),  # a new meter
        (day(90, 100), [day(100, 120, high=120), day(3, 8)], "25.000", "reset"),  # replaced
        (day(90, 100), [day(100, 4, low=1, high=120)], "23.000", "reset"),  # reset that day
        (day(90, 100), [], None, "no readings"),
        (None, [], None, "no readings"),
    ],
)
def test_a_meters_month(
    opening: Day | None, days: list[Day], usage: str | None, review: str | None
) -> None:
    month = meter_month(opening, days)
    assert month.usage == (None if usage is None else Decimal(usage))
    assert (month.review is None) == (review is None)
    if review is not None:
        assert review in (month.review or "")


def test_month_bounds_are_local() -> None:
    assert FEBRUARY.start_ms == at("2026-02-01", 0)
    assert FEBRUARY.end_ms == at("2026-03-01", 0)
    assert Month.before(datetime(2026, 1, 5, tzinfo=SHANGHAI), "Asia/Shanghai").label == "202512"
