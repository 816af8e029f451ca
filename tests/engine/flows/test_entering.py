"""Records loaded in bulk mid-flow enter their present state (engine/flows/entering.py):
the permit flow's reviews open their managers' tasks, a publicity's timers run from the day
it began and end it — and nothing else of the entry happens, and only once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.bulk import insert_rows, next_id
from engine.catalog import CompiledEntity
from engine.clock import FixedClock
from engine.database import write_transaction
from engine.expressions.calendar import WorkingCalendar, add_working_days
from engine.flows.entering import enter_current_states
from engine.flows.jobs import sweep_timers
from engine.flows.tables import messages
from engine.flows.timers import pending_timers
from engine.principal import Principal
from engine.runtime import Runtime
from tests.flows import START, permit_client, permit_settings
from tests.identity import client_as, create_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
PUBLICITY_BEGAN = START - timedelta(days=3)  # Friday 27 February 2026, 10:00 in Shanghai


class World:
    def __init__(self, admin: TestClient, runtime: Runtime, clock: FixedClock) -> None:
        self.admin, self.runtime, self.clock = admin, runtime, clock
        city = create_org(admin, "C01", "city")
        self.street = create_org(admin, "S01", "street", parent_id=city["id"])
        self.manager = client_as(admin, "boss1", "manager", org_id=city["id"])
        self.ids: dict[str, int] = {}

    def __repr__(self) -> str:
        return "World(permits)"

    @property
    def permit(self) -> CompiledEntity:
        found = self.runtime.require_catalog().entity("estate", "permit")
        assert found is not None
        return found

    def enter(self) -> int:
        began = {self.ids["publicity"]: PUBLICITY_BEGAN}
        return enter_current_states(self.runtime.engine, self.permit, lambda r: began.get(r["id"]))


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    """Three permits loaded in bulk by a street's clerk: in review, in publicity, and a
    draft; a manager of the city above the street."""
    with permit_client(permit_settings(tmp_path, database_url)) as (admin, runtime, clock):
        found = World(admin, runtime, clock)
        clerk = Principal("clerk1", roles=("clerk",), org_id=found.street["id"])
        with write_transaction(runtime.engine) as conn:
            first = next_id(conn, found.permit)
            rows = [
                {"id": first + n, "title": f"Sign {state}", "amount": 100, "state": state}
                for n, state in enumerate(("review", "publicity", "draft"))
            ]
            insert_rows(conn, found.permit, rows, clerk)
        found.ids = {row["state"]: row["id"] for row in rows}
        yield found


def timeline(world: World, state: str) -> list[dict[str, Any]]:
    view = world.admin.get(f"/api/estate/permit/{world.ids[state]}/flow")
    assert view.status_code == 200, view.text
    return list(view.json()["timeline"])


def test_a_loaded_review_opens_its_first_step_for_the_managers(world: World) -> None:
    assert world.manager.get("/api/inbox").json()["items"] == []

    assert world.enter() == 2  # the draft waits for nothing

    [task] = world.manager.get("/api/inbox").json()["items"]
    assert (task["record_id"], task["step"]) == (world.ids["review"], "first")
    [entry] = timeline(world, "review")
    assert (entry["kind"], entry["to_state"], entry["actor"]) == ("create", "review", "system")
    approved = world.manager.post(
        f"/api/estate/permit/{world.ids['review']}/transitions/approve", json={}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "review"  # the second step is open now
    assert timeline(world, "draft") == []


def test_a_loaded_publicity_ends_by_its_timer(world: World) -> None:
    world.enter()

    with world.runtime.engine.connect() as conn:
        pending = pending_timers(conn, "estate", "permit", world.ids["publicity"])
    began = PUBLICITY_BEGAN.astimezone(SHANGHAI).date()
    over = add_working_days(WorkingCalendar(), began, 3)
    assert over is not None
    assert {t["name"]: t["due_at"] for t in pending} == {
        "reminder": datetime.combine(began + timedelta(days=2), time(), SHANGHAI),
        "publicity_over": datetime.combine(over + timedelta(days=1), time(), SHANGHAI),
    }
    [entry] = timeline(world, "publicity")
    assert entry["at"].startswith("2026-02-27T02:00")
    publicity = world.admin.get(f"/api/estate/permit/{world.ids['publicity']}").json()
    assert publicity["decided_on"] is None  # its `on_enter` did not run

    world.clock.advance(days=5)
    sweep_timers(world.runtime.engine, world.runtime.require_catalog(), world.clock.now())
    granted = world.admin.get(f"/api/estate/permit/{world.ids['publicity']}").json()
    assert granted["state"] == "granted"
    certificate = world.admin.get(f"/api/files/{granted['certificate']}").text
    assert "许可证 Sign publicity" in certificate
    assert "None" not in certificate  # the loaded permit has no `decided_on`: printed empty


def test_entering_sends_nothing_and_happens_once(world: World) -> None:
    assert world.enter() == 2
    assert world.enter() == 0

    assert len(world.manager.get("/api/inbox").json()["items"]) == 1
    with world.runtime.engine.connect() as conn:
        sent = conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar()
        assert sent == 0
        assert len(pending_timers(conn, "estate", "permit", world.ids["publicity"])) == 2
