"""When rules are scanned: interval rules at once and then every interval, cron rules at
their next fire time in the settings' time zone, on-change-only rules never by schedule;
a claimed scan is never run twice; the periodic job does it on both job back-ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.alerts.schedule import scan_due
from engine.alerts.state import claim, read_states
from engine.alerts.tables import alerts
from engine.database import write_transaction
from renderers.app import create_app
from tests.databases import started_runtime
from tests.definitions import write_folder
from tests.engine.alerts.world import START, World, alert_folder, alert_world
from tests.identity import authorize
from tests.jobs import Backend, job_settings, jobs_backend, running_workers, wait_for  # noqa: F401

TUESDAY_0830 = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    with alert_world(tmp_path, database_url) as built:
        yield built


def scanned(world: World) -> list[str]:
    return sorted(result.rule for result in scan_due(world.runtime))


def test_interval_rules_scan_at_once_then_every_interval(world: World) -> None:
    world.unit("A-1")
    assert scanned(world) == ["vacant_unit"]
    assert scanned(world) == []
    world.clock.advance(minutes=59)
    assert scanned(world) == []
    world.clock.advance(minutes=1)
    assert scanned(world) == ["vacant_unit"]
    with world.runtime.engine.connect() as conn:
        state = read_states(conn)[("estate", "vacant_unit")]
    assert state["last_scan_at"] == START + timedelta(hours=1)
    assert state["next_scan_at"] == START + timedelta(hours=2)
    assert state["last_matched"] == 1


def test_cron_rules_scan_at_their_next_fire_time(world: World) -> None:
    world.unit("B-1", floor=-1)
    scan_due(world.runtime)  # Monday 10:00 in Shanghai: the next 08:30 is Tuesday's
    with world.runtime.engine.connect() as conn:
        assert read_states(conn)[("estate", "morning_check")]["next_scan_at"] == TUESDAY_0830
    world.clock.set(TUESDAY_0830 - timedelta(minutes=1))
    assert "morning_check" not in scanned(world)
    world.clock.set(TUESDAY_0830)
    assert "morning_check" in scanned(world)
    with world.runtime.engine.connect() as conn:
        next_time = read_states(conn)[("estate", "morning_check")]["next_scan_at"]
    assert next_time == TUESDAY_0830 + timedelta(days=1)


def test_on_change_rules_are_never_scanned_by_schedule(world: World) -> None:
    world.unit("A-1", rent="9000")
    world.clock.advance(days=3)
    assert "high_rent" not in scanned(world)


def test_a_claimed_scan_cannot_be_claimed_again(world: World) -> None:
    scan_due(world.runtime)
    world.clock.advance(hours=1)
    key = ("estate", "vacant_unit")
    with world.runtime.engine.connect() as conn:
        due = read_states(conn)[key]["next_scan_at"]
    later = due + timedelta(hours=1)
    with write_transaction(world.runtime.engine) as conn:
        assert claim(conn, key, due, later)
    with write_transaction(world.runtime.engine) as conn:
        assert not claim(conn, key, due, later)
    assert scanned(world) == []  # the claim moved the next scan on


def test_a_new_schedule_takes_effect_when_published(world: World) -> None:
    scan_due(world.runtime)
    folder = alert_folder()
    folder["estate/alerts/vacant_unit.yaml"]["schedule"] = {"every": "15m"}
    write_folder(world.runtime.settings.apps_config, folder)
    world.runtime.publish_folder("admin", "scan more often")
    assert scanned(world) == ["vacant_unit"]
    world.clock.advance(minutes=15)
    assert scanned(world) == ["vacant_unit"]


def test_the_periodic_job_scans_due_rules(
    tmp_path: Path,
    database_url: str | None,
    jobs_backend: Backend,  # noqa: F811
) -> None:
    settings = job_settings(tmp_path, database_url, jobs_backend)
    write_folder(settings.apps_config, alert_folder())
    with started_runtime(settings) as runtime:
        with TestClient(create_app(runtime=runtime)) as admin:
            authorize(admin)
            body = {"code": "A-1", "status": "vacant"}
            assert admin.post("/api/estate/unit", json=body).status_code == 201
        with running_workers(runtime):
            runtime.jobs.enqueue("alerts.scan_due", key="alerts-test")

            def opened() -> bool:
                with runtime.engine.connect() as conn:
                    return (
                        conn.execute(sa.select(sa.func.count()).select_from(alerts)).scalar() == 1
                    )

            wait_for(opened, timeout=15)
