"""Rules on time rather than readings: a lock silent for 45 minutes raises one alert per
silence, resolved when it is heard again; the monthly breaker self-test runs once at its
cron time on every active breaker, however many workers look."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from engine.alerts.tables import alerts
from engine.database import write_transaction
from iot.readings import Reading, hand_on
from iot.registry import load_device
from iot.rules.absence import sweep_absences
from iot.rules.compile import rule_named
from iot.rules.facts import millis
from iot.rules.scenes import claim, run_due_scenes
from iot.tables import commands, device_states, rule_clocks
from tests.databases import isolated_database
from tests.iot.world import Handle, World, device_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with isolated_database() as url, device_world(tmp_path_factory.mktemp("scenes"), url) as made:
        yield made


def heard(world: World, handle: Handle) -> None:
    """The device was heard now: its state says so (as ingest writes it)."""
    now = millis(world.clock.now())
    with world.runtime.engine.begin() as conn:
        conn.execute(device_states.delete().where(device_states.c.device_id == handle.id))
        conn.execute(
            device_states.insert().values(
                device_id=handle.id, device_type=handle.type_name, online=True, last_seen=now,
                last_ts=now, values=json.dumps({"locked": True}), messages=1, points=1, rejected=0,
            )
        )  # fmt: skip


def offline_alerts(world: World, device_id: int) -> list[dict[str, Any]]:
    with world.runtime.engine.connect() as conn:
        query = sa.select(alerts).where(
            alerts.c.rule == "lock_offline", alerts.c.record_id == device_id
        )
        return [dict(row) for row in conn.execute(query.order_by(alerts.c.id)).mappings()]


def test_a_silent_lock_raises_one_alert_per_silence(world: World) -> None:
    lock = world.add_device("smart_lock", world.units()[0]["id"])
    heard(world, lock)
    world.clock.advance(minutes=44)
    sweep_absences(world.runtime, world.catalog)
    assert offline_alerts(world, lock.id) == []

    world.clock.advance(minutes=2)
    fired = sweep_absences(world.runtime, world.catalog)
    assert [o["last_seen"] for o in fired if o.get("alert")]  # it fired, naming the silence
    world.clock.advance(minutes=30)
    sweep_absences(world.runtime, world.catalog)  # the same silence: nothing new
    (alert,) = offline_alerts(world, lock.id)
    assert alert["status"] == "open" and lock.code in alert["title"]

    heard(world, lock)
    with world.runtime.engine.connect() as conn:
        device = load_device(conn, world.catalog, lock.id)
    hand_on(world.runtime, world.catalog, device, [Reading(millis(world.clock.now()), {})])
    assert offline_alerts(world, lock.id)[0]["status"] == "resolved"


def test_the_monthly_self_test_runs_once_at_its_time(world: World) -> None:
    breakers = [world.add_device("smart_breaker", unit["id"]) for unit in world.units()[:3]]
    world.admin.patch(f"/api/devices/device/{breakers[2].id}", json={"status": "maintenance"})
    assert run_due_scenes(world.runtime, world.catalog) == []  # the clock is set: next month
    with world.runtime.engine.connect() as conn:
        due = conn.execute(
            sa.select(rule_clocks.c.due_at).where(rule_clocks.c.rule == "breaker_self_test")
        ).scalar_one()
    assert due == datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on the 1st

    world.clock.set(datetime(2026, 4, 1, 2, 0, 30, tzinfo=UTC))
    (ran,) = run_due_scenes(world.runtime, world.catalog)
    assert ran["rule"] == "devices.breaker_self_test"
    assert run_due_scenes(world.runtime, world.catalog) == []  # claimed: not again

    with world.runtime.engine.connect() as conn:
        sent = conn.execute(
            sa.select(commands.c.device_id, commands.c.command, commands.c.source).where(
                commands.c.device_id.in_([b.id for b in breakers])
            )
        ).all()
    assert sorted(sent) == sorted((b.id, "self_test", "scene") for b in breakers[:2])


def test_a_due_scene_is_claimed_by_one_worker_only(world: World) -> None:
    rule = rule_named(world.catalog, "devices", "breaker_self_test")
    assert rule is not None
    seen = datetime(2030, 1, 1, tzinfo=UTC)
    later = datetime(2030, 2, 1, tzinfo=UTC)
    with write_transaction(world.runtime.engine) as conn:
        conn.execute(
            rule_clocks.update().where(rule_clocks.c.rule == rule.name).values(due_at=seen)
        )
        assert claim(conn, rule, seen, later, seen) is True
        assert claim(conn, rule, seen, later, seen) is False
