"""Demo records waiting in a flow have entered their states: a street officer's inbox holds
their street's applications awaiting verification, a publicity ends by its timer, and the
entering sent nothing; demo tenants' lease requests update their contracts and units."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.auth.tables import org_table as orgs
from engine.clock import FixedClock
from engine.expressions.calendar import add_working_days
from engine.flows.tables import messages, tasks, timers
from engine.runtime import Runtime
from engine.settings import Settings
from plugins.builtin.demo_flows import enter_states
from renderers.app import create_app
from run import cmd_demo_data
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2, isolated_database
from tests.identity import authorize, login

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
DEMO_PASSWORD = "Demo-Staff-2026!"
UNITS = 2000
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday after the demo day, 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
APPLICATIONS = "/api/public_rental/application"
REQUESTS = "/api/public_rental/performance_request"


class Demo:
    """The demo city's runtime and a client of its app; a short repr for failing tests."""

    def __init__(self, runtime: Runtime, client: TestClient) -> None:
        self.runtime, self.client = runtime, client

    def __repr__(self) -> str:
        return f"Demo(units={UNITS})"

    def table(self, app: str, entity: str) -> sa.Table:
        found = self.runtime.require_catalog().entity(app, entity)
        assert found is not None
        return found.table  # type: ignore[no-any-return]

    def rows(self, query: Any) -> list[Any]:
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(query))

    def as_user(self, username: str) -> TestClient:
        return login(self.client, username, DEMO_PASSWORD)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo_flows")
    with isolated_database() as url:
        base: dict[str, Any] = {
            "data_dir": root / "var",
            "apps_config": APPS_CONFIG,
            "database_url": url,
            "admin_password": ADMIN_PASSWORD,
            "job_threads": False,
            "catalog_check_seconds": 0,
            "demo_password": DEMO_PASSWORD,
            "alerts_enabled": False,
            **FAST_ARGON2,
        }
        with contextlib.redirect_stdout(io.StringIO()):
            cmd_demo_data(Settings(**base), argparse.Namespace(units=UNITS, seed=7, device_share=0))
        runtime = Runtime.create(Settings(**base), FixedClock(NOW))
        with TestClient(create_app(runtime=runtime)) as client:
            authorize(client)
            yield Demo(runtime, client)


def waiting_in(demo: Demo, state: str) -> list[Any]:
    """Applications in `state`: id, the code of their organisation, their publicity days."""
    application = demo.table("public_rental", "application")
    query = (
        sa.select(
            application.c.id,
            orgs.c.code,
            application.c.publicity_start,
            application.c.publicity_end,
        )
        .join(orgs, orgs.c.id == application.c.org_id)
        .where(application.c.state == state)
        .order_by(application.c.id)
    )
    return demo.rows(query)


def test_a_street_officer_verifies_the_applications_of_their_street(demo: Demo) -> None:
    waiting = waiting_in(demo, "street_review")
    assert waiting, "the demo has applications awaiting their street"
    street = waiting[0].code
    officer = demo.as_user(f"street_{street}")

    inbox = officer.get("/api/inbox", params={"limit": 200}).json()["items"]

    expected = {row.id for row in waiting if row.code == street}
    assert {task["record_id"] for task in inbox} == expected
    assert {task["step"] for task in inbox} == {"street_check"}
    approved = officer.post(f"{APPLICATIONS}/{waiting[0].id}/transitions/street_approve", json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "street_publicity"
    after = officer.get("/api/inbox", params={"limit": 200}).json()["items"]
    assert waiting[0].id not in {task["record_id"] for task in after}


def test_a_publicity_ends_seven_working_days_after_it_began(demo: Demo) -> None:
    publicity = waiting_in(demo, "street_publicity")
    assert publicity, "the demo has applications in their street publicity"
    query = sa.select(timers.c.record_id, timers.c.name, timers.c.due_at).where(
        timers.c.entity == "application", timers.c.state == "street_publicity"
    )
    due = {row.record_id: (row.name, row.due_at) for row in demo.rows(query)}
    application = demo.runtime.require_catalog().entity("public_rental", "application")
    assert application is not None and application.calendar is not None
    calendar = application.calendar

    for row in publicity:
        last_day = add_working_days(calendar, row.publicity_start, 7)
        assert last_day == row.publicity_end
        midnight = datetime.combine(last_day + timedelta(days=1), time(), SHANGHAI)
        assert due[row.id] == ("publicity_over", midnight)


def test_entering_sent_nothing_and_enters_once(demo: Demo) -> None:
    assert demo.rows(sa.select(sa.func.count()).select_from(messages))[0][0] == 0
    count = sa.select(sa.func.count()).select_from(tasks)
    before = demo.rows(count)[0][0]

    assert enter_states(demo.runtime.engine, demo.runtime.require_catalog()) == 0
    assert demo.rows(count)[0][0] == before > 0


def active_lease(demo: Demo, skip: int) -> Any:
    """An active demo lease with its unit's street and district codes."""
    contract = demo.table("public_rental", "lease_contract")
    unit = demo.table("housing_stock", "housing_unit")
    district = orgs.alias("district")
    query = (
        sa.select(contract.c.id, contract.c.housing_unit, orgs.c.code, district.c.code.label("d"))
        .join(unit, unit.c.id == contract.c.housing_unit)
        .join(orgs, orgs.c.id == contract.c.org_id)
        .join(district, district.c.id == orgs.c.parent_id)
        .where(contract.c.status == "active", unit.c.status == "let", orgs.c.kind == "street")
        .order_by(contract.c.id)
        .offset(skip)
        .limit(1)
    )
    return demo.rows(query)[0]


def decided(demo: Demo, lease: Any, kind: str, number: int, **approval: Any) -> dict[str, Any]:
    """A request filed at the street window for a demo lease, approved by its district."""
    officer = demo.as_user(f"street_{lease.code}")
    filed = officer.post(
        REQUESTS,
        json={
            "request_no": f"LY2026{lease.d}{number:06d}",
            "request_type": kind,
            "lease_contract": lease.id,
            "reason": "申请人提出办理",
            "desired_date": "2026-04-01",
            "renewal_months": 36 if kind == "renew" else None,
        },
    )
    assert filed.status_code == 201, filed.text
    submitted = officer.post(f"{REQUESTS}/{filed.json()['id']}/transitions/submit", json={})
    assert submitted.json()["state"] == "centre_review", submitted.text
    centre = demo.as_user(f"district_{lease.d}")
    approved = centre.post(f"{REQUESTS}/{filed.json()['id']}/transitions/approve", json=approval)
    assert approved.status_code == 200, approved.text
    return dict(approved.json())


def test_an_approved_move_out_ends_the_lease_and_frees_the_unit(demo: Demo) -> None:
    lease = active_lease(demo, 0)

    closed = decided(demo, lease, "move_out", 901)

    assert closed["state"] == "moved_out"
    contract = demo.client.get(f"/api/public_rental/lease_contract/{lease.id}").json()
    assert (contract["status"], contract["terminated_on"]) == ("terminated", "2026-04-01")
    assert contract["termination_reason"] == f"退租：履约申请 {closed['request_no']}"
    unit = demo.client.get(f"/api/housing_stock/housing_unit/{lease.housing_unit}").json()
    assert (unit["status"], unit["vacant_since"]) == ("vacant", "2026-04-01")


def test_an_approved_renewal_ends_the_old_lease(demo: Demo) -> None:
    lease = active_lease(demo, 1)

    renewed = decided(demo, lease, "renew", 902, renewal_contract_no="HT2026430104999902")

    assert renewed["state"] == "renewed"
    old = demo.client.get(f"/api/public_rental/lease_contract/{lease.id}").json()
    assert old["status"] == "expired"
    [new] = demo.client.get(
        "/api/public_rental/lease_contract", params={"previous_contract": lease.id}
    ).json()["items"]
    assert (new["contract_no"], new["status"]) == ("HT2026430104999902", "draft")
    unit = demo.client.get(f"/api/housing_stock/housing_unit/{lease.housing_unit}").json()
    assert unit["status"] == "let"
