"""Device rules on readings, as the people watching devices notice them: alerts that open
once per rule and device (in `/api/alerts`, to the right people) and resolve when the
condition ends; sustain by readings and by duration; cooldown; commands from rules waiting
for approval; the vacant-unit water check; baselines; test mode that writes nothing; the
rule list and its execution log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.alerts.tables import alerts, recipients
from iot.readings import Reading, hand_on, hand_on_batch
from iot.registry import load_device
from iot.rules.actions import PRIORITY_SKIP, plan
from iot.rules.compile import rule_named
from iot.rules.facts import millis
from iot.tables import commands, rollups, rule_runs, rule_states, telemetry
from tests.databases import isolated_database
from tests.identity import client_as
from tests.iot.world import Handle, World, device_world

RULES = "/api/iot/rules"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with isolated_database() as url, device_world(tmp_path_factory.mktemp("rules"), url) as made:
        yield made


def unit_id(world: World, status: str | None = None) -> int:
    table = world.table("housing_stock", "housing_unit")
    where = [table.c.status == status] if status else []
    return int(world.units(*where)[0]["id"])


def send(
    world: World, handle: Handle, *values: dict[str, Any], step: timedelta = timedelta(0)
) -> None:
    """Hand readings on as ingest does after its commit; each `step` apart, the clock following."""
    catalog = world.catalog
    with world.runtime.engine.connect() as conn:
        device = load_device(conn, catalog, handle.id)
    latest: dict[str, Any] = {}
    readings = []
    for given in values:
        if readings:
            world.clock.advance(seconds=step.total_seconds())
        readings.append(Reading(millis(world.clock.now()), given, dict(latest)))
        latest.update(given)
        hand_on(world.runtime, catalog, device, readings[-1:])


def alerts_of(world: World, rule: str, device_id: int) -> list[dict[str, Any]]:
    with world.runtime.engine.connect() as conn:
        query = (
            sa.select(alerts)
            .where(alerts.c.rule == rule, alerts.c.record_id == device_id)
            .order_by(alerts.c.id)
        )
        return [dict(row) for row in conn.execute(query).mappings()]


def commands_of(world: World, device_id: int) -> list[dict[str, Any]]:
    with world.runtime.engine.connect() as conn:
        query = sa.select(commands).where(commands.c.device_id == device_id).order_by(commands.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def runs_of(world: World, rule: str, device_id: int) -> list[dict[str, Any]]:
    response = world.admin.get(f"{RULES}/devices/{rule}/runs", params={"device": device_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def test_a_tamper_alarm_opens_one_red_alert_that_resolves_when_it_clears(world: World) -> None:
    lock = world.add_device("smart_lock", unit_id(world))
    send(world, lock, {"tamper": True}, {"tamper": True, "battery": 80}, step=timedelta(seconds=5))

    opened = alerts_of(world, "lock_tamper", lock.id)
    assert len(opened) == 1
    assert opened[0]["severity"] == "red" and opened[0]["status"] == "open"
    assert opened[0]["entity"] == "devices.device" and lock.code in opened[0]["title"]
    listed = world.admin.get("/api/alerts", params={"rule": "lock_tamper"}).json()["items"]
    assert any(item["record_id"] == lock.id for item in listed)
    assert len(runs_of(world, "lock_tamper", lock.id)) == 1

    send(world, lock, {"tamper": False})
    assert alerts_of(world, "lock_tamper", lock.id)[0]["status"] == "resolved"


def test_the_alert_goes_to_the_roles_over_the_device_s_street(world: World) -> None:
    lock = world.add_device("smart_lock", unit_id(world))
    send(world, lock, {"wrong_passwords": 4}, {"wrong_passwords": 5})

    (alert,) = alerts_of(world, "lock_wrong_passwords", lock.id)
    with world.runtime.engine.connect() as conn:
        people = set(
            conn.execute(
                sa.select(recipients.c.username).where(recipients.c.alert_id == alert["id"])
            ).scalars()
        )
    assert "operator" in people  # a device operator of the city, above the street
    assert any(name != "operator" for name in people)  # the street's officer
    assert "5" in alert["title"]


def test_an_overheating_breaker_needs_three_readings_and_asks_to_switch_off(
    world: World,
) -> None:
    breaker = world.add_device("smart_breaker", unit_id(world))
    send(world, breaker, {"temperature": 72.5}, {"temperature": 75.0}, step=timedelta(minutes=1))
    assert alerts_of(world, "breaker_overheat", breaker.id) == []

    send(world, breaker, {"temperature": 76.0}, {"temperature": 77.0}, step=timedelta(minutes=1))
    (alert,) = alerts_of(world, "breaker_overheat", breaker.id)
    assert alert["severity"] == "orange" and "76" in alert["title"]
    (command,) = commands_of(world, breaker.id)  # once per streak: the fourth asks nothing
    assert command["command"] == "switch_off"
    assert command["status"] == "awaiting_approval"  # high risk: a supervisor approves it
    assert command["source"] == "rule" and command["source_ref"] == "devices.breaker_overheat"
    assert command["requested_by"] == "system"
    (run,) = runs_of(world, "breaker_overheat", breaker.id)
    assert run["outcome"]["commands"][0]["id"] == command["id"]


def test_a_cooldown_keeps_a_rule_from_firing_again_too_soon(world: World) -> None:
    lock = world.add_device("smart_lock", unit_id(world))
    send(
        world,
        lock,
        {"tamper": True},
        {"tamper": False},
        {"tamper": True},
        step=timedelta(minutes=2),
    )
    assert len(alerts_of(world, "lock_tamper", lock.id)) == 1  # the second came within 10 minutes

    world.clock.advance(minutes=11)
    send(world, lock, {"tamper": False}, {"tamper": True})
    assert [a["status"] for a in alerts_of(world, "lock_tamper", lock.id)] == ["resolved", "open"]


def test_co2_must_stay_high_for_ten_minutes(world: World) -> None:
    monitor = world.add_device("env_monitor", unit_id(world))
    high = {"co2": 1600}
    send(world, monitor, high, high, high, step=timedelta(minutes=4))  # 8 minutes
    assert alerts_of(world, "co2_high", monitor.id) == []
    send(world, monitor, {"co2": 900}, high, step=timedelta(minutes=4))  # the streak broke
    send(world, monitor, high, high, step=timedelta(minutes=6))
    assert alerts_of(world, "co2_high", monitor.id) == []
    world.clock.advance(minutes=5)
    send(world, monitor, high)
    assert len(alerts_of(world, "co2_high", monitor.id)) == 1


def test_water_running_in_a_vacant_unit_alerts_the_street_officer(world: World) -> None:
    vacant = world.add_device("water_meter", unit_id(world, "vacant"))
    let = world.add_device("water_meter", unit_id(world, "let"))
    for meter in (vacant, let):
        send(world, meter, {"volume": 10.0}, {"volume": 10.0}, {"volume": 10.25})

    assert alerts_of(world, "vacant_water_use", let.id) == []
    (alert,) = alerts_of(world, "vacant_water_use", vacant.id)
    assert alert["severity"] == "orange"
    assert "0.25" in alert["body"]
    with world.runtime.engine.connect() as conn:
        people = list(
            conn.execute(
                sa.select(recipients.c.username).where(recipients.c.alert_id == alert["id"])
            ).scalars()
        )
    assert people and "operator" not in people  # street officers only


def test_water_use_above_the_week_s_baseline(world: World) -> None:
    meter = world.add_device("water_meter", unit_id(world, "let"))
    hour = 3_600_000
    start = millis(world.clock.now()) - 7 * 24 * hour
    week = [
        {
            "device_id": meter.id,
            "field": "volume",
            "period": "h",
            "bucket": start + i * hour,
            "count": 2,
            "sum": 200.0 + i * 0.2,
            "min": 100.0 + i * 0.1,
            "max": 100.05 + i * 0.1,
            "first": 100.0 + i * 0.1,
            "last": 100.05 + i * 0.1,
            "first_ts": start + i * hour,
            "last_ts": start + i * hour + 1_800_000,
        }
        for i in range(7 * 24)
    ]  # about 0.05 m³ a reading
    with world.runtime.engine.begin() as conn:
        conn.execute(rollups.insert(), week)
    usual = [{"volume": 117.0 + i * 0.05} for i in range(3)]
    heavy = [{"volume": 118.0 + i * 0.5} for i in range(4)]  # the first has no previous
    send(world, meter, *usual, step=timedelta(minutes=30))
    assert alerts_of(world, "water_above_baseline", meter.id) == []
    send(world, meter, *heavy, step=timedelta(minutes=30))
    (alert,) = alerts_of(world, "water_above_baseline", meter.id)
    assert "0.05" in alert["body"]


def test_a_lower_rule_never_commands_a_device_a_higher_one_commanded(world: World) -> None:
    breaker = world.add_device("smart_breaker", unit_id(world))
    catalog = world.catalog
    rule = rule_named(catalog, "devices", "breaker_overheat")
    assert rule is not None
    with world.runtime.engine.connect() as conn:
        device = load_device(conn, catalog, breaker.id)
        first = plan(conn, catalog, rule, device, {}, world.clock.now(), commanded := set())
        second = plan(conn, catalog, rule, device, {}, world.clock.now(), commanded)
    assert first.commands[0].skipped is None
    assert second.commands[0].skipped == PRIORITY_SKIP


def test_test_mode_replays_given_readings_and_writes_nothing(world: World) -> None:
    breaker = world.add_device("smart_breaker", unit_id(world))
    readings = [{"values": {"temperature": t}} for t in (71, 72, 73, 60)]
    response = world.people["approver"].post(
        f"{RULES}/devices/breaker_overheat/test", json={"device": breaker.id, "readings": readings}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["streak"] for r in result["readings"]] == [1, 2, 3, 0]
    assert [r["fires"] for r in result["readings"]] == [False, False, True, False]
    would = result["readings"][2]["would"]
    assert would["commands"][0]["command"] == "switch_off"
    assert would["alert"]["severity"] == "orange" and would["alert"]["recipients"]
    assert result["fired"] == 1
    assert alerts_of(world, "breaker_overheat", breaker.id) == []
    assert commands_of(world, breaker.id) == []
    with world.runtime.engine.connect() as conn:
        runs = conn.execute(sa.select(rule_runs).where(rule_runs.c.device_id == breaker.id))
        assert runs.first() is None


def test_test_mode_replays_stored_telemetry(world: World) -> None:
    monitor = world.add_device("env_monitor", unit_id(world))
    now = millis(world.clock.now())
    rows = [
        {"device_id": monitor.id, "field": "co2", "ts": now - minutes * 60_000, "value": value}
        for minutes, value in ((30, 800.0), (20, 1600.0), (12, 1700.0), (5, 1800.0), (1, 1900.0))
    ]
    with world.runtime.engine.begin() as conn:
        conn.execute(telemetry.insert(), rows)
    body = {"device": monitor.id, "from": now - 3_600_000, "to": now}
    response = world.admin.post(f"{RULES}/devices/co2_high/test", json=body)
    assert response.status_code == 200, response.text
    lines = response.json()["readings"]
    assert [line["held"] for line in lines] == [False, True, True, True, True]
    assert [line["fires"] for line in lines] == [False, False, False, True, False]
    assert alerts_of(world, "co2_high", monitor.id) == []


@pytest.mark.parametrize(
    ("rule", "body", "status", "path"),
    [
        ("nothing_here", {"readings": [{"values": {}}]}, 404, None),
        ("lock_offline", {"readings": [{"values": {}}]}, 422, "rule"),
        ("breaker_overheat", {"readings": [{"values": {"temperature": "hot"}}]}, 422,
         "readings[0].values.temperature"),
        ("breaker_overheat", {"readings": [{"values": {"colour": 1}}]}, 422,
         "readings[0].values.colour"),
        ("lock_tamper", {"readings": [{"values": {"tamper": True}}]}, 422, "device"),
        ("breaker_overheat", {"from": "yesterday"}, 422, "from"),
    ],
)  # fmt: skip
def test_test_mode_refuses_what_it_cannot_run(
    world: World, rule: str, body: dict[str, Any], status: int, path: str | None
) -> None:
    breaker = world.add_device("smart_breaker", unit_id(world))
    response = world.admin.post(f"{RULES}/devices/{rule}/test", json={"device": breaker.id, **body})
    assert response.status_code == status, response.text
    if path is not None:
        assert path in [d["path"] for d in response.json()["error"]["details"]]


def test_the_rule_list_and_who_may_see_it(world: World) -> None:
    response = world.people["operator"].get(RULES)
    assert response.status_code == 200, response.text
    rules = {r["name"]: r for r in response.json()["items"]}
    assert {"lock_offline", "lock_tamper", "breaker_overheat", "breaker_self_test"} <= set(rules)
    assert rules["breaker_overheat"]["sustain"] == {"readings": 3}
    assert rules["breaker_self_test"]["trigger"] == {"cron": "0 10 1 * *"}
    priorities = [r["priority"] for r in response.json()["items"]]
    assert priorities == sorted(priorities, reverse=True)

    tenant = client_as(world.admin, "rules_outsider", "enterprise")
    assert tenant.get(RULES).status_code == 403
    assert tenant.post(f"{RULES}/devices/lock_tamper/test", json={}).status_code == 403
    assert world.admin.get(f"{RULES}/devices/nothing_here/runs").status_code == 404


MIXED = {  # each type's readings, four minutes apart
    "smart_breaker": [{"temperature": t} for t in (71, 72, 73, 74, 60)],
    "smart_lock": [{"tamper": True}, {"tamper": False}, {"wrong_passwords": 6}],
    "water_meter": [{"volume": 10.0}, {"volume": 10.0}, {"volume": 10.5}],
    "env_monitor": [{"co2": 1600}, {"co2": 1650}, {"co2": 1700}, {"co2": 1750}],
}


def outcome(world: World, handle: Handle) -> dict[str, Any]:
    """What the rules left for one device, free of ids and codes: alerts, commands, runs and
    rule states."""
    with world.runtime.engine.connect() as conn:
        states = conn.execute(
            sa.select(rule_states.c.rule, rule_states.c.since, rule_states.c.streak)
            .where(rule_states.c.device_id == handle.id)
            .order_by(rule_states.c.rule)
        )
        runs = conn.execute(
            sa.select(rule_runs.c.rule, rule_runs.c.trigger)
            .where(rule_runs.c.device_id == handle.id)
            .order_by(rule_runs.c.id)
        )
        return {
            "alerts": sorted(
                (a["rule"], a["status"], a["severity"])
                for rule in {
                    "lock_tamper",
                    "lock_wrong_passwords",
                    "breaker_overheat",
                    "vacant_water_use",
                    "water_above_baseline",
                    "co2_high",
                }
                for a in alerts_of(world, rule, handle.id)
            ),  # fmt: skip
            "commands": [(c["command"], c["status"]) for c in commands_of(world, handle.id)],
            "runs": [tuple(row) for row in runs],
            "states": [tuple(row) for row in states],
        }


def test_a_mixed_batch_ends_as_one_device_at_a_time_would(world: World) -> None:
    kinds = [
        ("smart_breaker", None),
        ("smart_lock", None),
        ("water_meter", "vacant"),
        ("water_meter", "let"),
        ("env_monitor", None),
        ("electricity_meter", None),  # no reading rules: skipped
    ]
    start = millis(world.clock.now())

    def readings_of(type_name: str) -> list[Reading]:
        latest: dict[str, Any] = {}
        found = []
        for index, given in enumerate(MIXED.get(type_name, [{}])):
            found.append(Reading(start + index * 240_000, given, dict(latest)))
            latest.update(given)
        return found

    alone = [world.add_device(name, unit_id(world, status)) for name, status in kinds]
    together = [world.add_device(name, unit_id(world, status)) for name, status in kinds]
    catalog = world.catalog
    with world.runtime.engine.connect() as conn:
        devices = {h.id: load_device(conn, catalog, h.id) for h in [*alone, *together]}
    for handle in alone:
        hand_on(world.runtime, catalog, devices[handle.id], readings_of(handle.type_name))
    batch = [(devices[h.id], readings_of(h.type_name)) for h in reversed(together)]
    hand_on_batch(world.runtime, catalog, batch)

    expected = [outcome(world, handle) for handle in alone]
    assert [outcome(world, handle) for handle in together] == expected
    breaker, lock, vacant, _, monitor, _ = expected
    assert breaker["alerts"] == [("breaker_overheat", "resolved", "orange")]
    assert breaker["commands"] == [("switch_off", "awaiting_approval")]
    assert ("lock_tamper", "resolved", "red") in lock["alerts"]
    assert ("lock_wrong_passwords", "open") in [a[:2] for a in lock["alerts"]]
    assert [a[0] for a in vacant["alerts"]] == ["vacant_water_use"]
    assert [a[:2] for a in monitor["alerts"]] == [("co2_high", "open")]
