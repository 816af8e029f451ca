"""Arrears → door access, end to end: two overdue rent bills suspend the access of the unit's
smart locks, the lock confirms over HTTP, paying restores it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from iot.tables import access_suspensions
from tests.databases import isolated_database
from tests.iot.world import Handle, World, device_world

RENT_BILLS = "/api/public_rental/rent_bill"
TODAY = date(2026, 3, 1)  # the demo day, in Shanghai


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the module (each test works on a lease of its own): building it is slow."""
    folder = tmp_path_factory.mktemp("access")
    with isolated_database() as url, device_world(folder, url, units=40) as world:
        world.runtime.jobs.run_pending()  # the load's own settlement: nobody is in arrears
        yield world


def lease(world: World, index: int) -> dict[str, Any]:
    leases = [row for row in world.rows("public_rental", "lease_contract")]
    return [row for row in leases if row["status"] == "active"][index]


def bills_of(world: World, lease_id: int) -> list[dict[str, Any]]:
    """The lease's bills, newest period first."""
    bills = world.rows("public_rental", "rent_bill")
    return sorted(
        (bill for bill in bills if bill["contract"] == lease_id),
        key=lambda bill: bill["period"],
        reverse=True,
    )


def leave_unpaid(world: World, bill: dict[str, Any], due: date | None = None) -> None:
    body: dict[str, Any] = {"status": "unpaid", "amount_paid": "0", "paid_on": None}
    if due is not None:
        body["due_date"] = due.isoformat()
    response = world.admin.patch(f"{RENT_BILLS}/{bill['id']}", json=body)
    assert response.status_code == 200, response.text


def pay(world: World, bill: dict[str, Any]) -> None:
    body = {"status": "paid", "amount_paid": str(bill["amount_due"]), "paid_on": "2026-03-01"}
    response = world.admin.patch(f"{RENT_BILLS}/{bill['id']}", json=body)
    assert response.status_code == 200, response.text


def commands_of(world: World, device: Handle) -> list[dict[str, Any]]:
    """The device's commands, oldest first, as the API shows them."""
    response = world.admin.get(f"/api/iot/devices/{device.id}/commands")
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def answer(world: World, lock: Handle, status: str = "succeeded") -> list[int]:
    """The lock polls its commands over HTTP and answers each; the ids it got."""
    polled = world.device_client.get("/api/iot/commands/pending", auth=lock.auth)
    assert polled.status_code == 200, polled.text
    ids = [command["id"] for command in polled.json()["commands"]]
    replies = [{"id": command_id, "status": status} for command_id in ids]
    if replies:
        replied = world.device_client.post(
            "/api/iot/commands/replies", json={"replies": replies}, auth=lock.auth
        )
        assert replied.status_code == 200, replied.text
    return ids


def suspensions(world: World, lease_id: int) -> list[Any]:
    with world.runtime.engine.connect() as conn:
        query = sa.select(access_suspensions).where(access_suspensions.c.lease_id == lease_id)
        return list(conn.execute(query.order_by(access_suspensions.c.id)))


def audited(world: World, action: str, lease_id: int) -> int:
    with world.runtime.engine.connect() as conn:
        query = "SELECT count(*) FROM anju_audit WHERE action = :a AND record_id = :r"
        return int(conn.execute(sa.text(query), {"a": action, "r": str(lease_id)}).scalar_one())


def test_arrears_suspend_access_and_payment_restores_it(world: World) -> None:
    contract = lease(world, 0)
    unit = contract["housing_unit"]
    lock = world.add_device("smart_lock", unit)
    breaker = world.add_device("smart_breaker", unit)
    overdue = [bill for bill in bills_of(world, contract["id"]) if bill["due_date"] < TODAY]
    first, second = overdue[0], overdue[1]

    leave_unpaid(world, first)  # one month behind: a reminder, no more
    world.runtime.jobs.run_pending()
    assert commands_of(world, lock) == [] and suspensions(world, contract["id"]) == []

    leave_unpaid(world, second)  # two: access is suspended until paid
    world.runtime.jobs.run_pending()
    [suspend] = commands_of(world, lock)
    assert suspend["command"] == "suspend_access" and suspend["status"] == "queued"
    assert suspend["source"] == "linkage"
    assert suspend["source_ref"] == f"arrears:lease:{contract['id']}"
    assert commands_of(world, breaker) == []  # only locks hold access
    [suspension] = suspensions(world, contract["id"])
    assert suspension.restored_at is None and suspension.housing_unit_id == unit
    assert audited(world, "device.access.suspend", contract["id"]) == 1

    world.runtime.jobs.enqueue("iot.linkage.arrears_sweep")  # the hourly sweep: no change
    world.runtime.jobs.run_pending()
    assert len(commands_of(world, lock)) == 1 and len(suspensions(world, contract["id"])) == 1

    assert answer(world, lock) == [suspend["id"]]
    assert commands_of(world, lock)[0]["status"] == "succeeded"

    pay(world, second)  # one month behind again: access comes back
    world.runtime.jobs.run_pending()
    _, restore = commands_of(world, lock)
    assert restore["command"] == "restore_access" and restore["status"] == "queued"
    [closed] = suspensions(world, contract["id"])
    assert closed.restored_at is not None
    assert audited(world, "device.access.restore", contract["id"]) == 1
    assert answer(world, lock) == [restore["id"]]
    assert commands_of(world, lock)[-1]["status"] == "succeeded"

    world.runtime.jobs.enqueue("iot.linkage.arrears_sweep")
    world.runtime.jobs.run_pending()
    assert len(commands_of(world, lock)) == 2  # settled: nothing more to send


def test_bills_falling_overdue_suspend_on_the_sweep_which_also_resends_and_covers_new_locks(
    world: World,
) -> None:
    contract = lease(world, 1)
    unit = contract["housing_unit"]
    lock = world.add_device("smart_lock", unit)
    newest, older = bills_of(world, contract["id"])[:2]
    leave_unpaid(world, older, due=TODAY - timedelta(days=3))
    leave_unpaid(world, newest, due=TODAY + timedelta(days=2))  # not due yet
    world.runtime.jobs.run_pending()
    assert commands_of(world, lock) == []

    world.clock.advance(days=3)  # the newer bill falls overdue at midnight
    world.runtime.jobs.enqueue("iot.linkage.arrears_sweep")
    world.runtime.jobs.run_pending()
    [suspend] = commands_of(world, lock)
    assert suspend["command"] == "suspend_access"

    answer(world, lock, "failed")  # the lock could not do it: the next sweep sends again
    second_lock = world.add_device("smart_lock", unit)  # and a lock fitted since gets it too
    world.runtime.jobs.enqueue("iot.linkage.arrears_sweep")
    world.runtime.jobs.run_pending()
    failed, again = commands_of(world, lock)
    assert failed["status"] == "failed" and again["command"] == "suspend_access"
    assert again["status"] == "queued"
    [fitted] = commands_of(world, second_lock)
    assert fitted["command"] == "suspend_access"
    assert len(suspensions(world, contract["id"])) == 1
