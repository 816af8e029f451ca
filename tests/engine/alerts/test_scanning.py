"""Scanning a rule: one query, then opening once, resolving when the record changes,
escalating after N days — with recipients by role within the record's organisation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.alerts.scanning import ScanResult, scan_rule
from engine.alerts.tables import alerts, events, recipients
from engine.audit.trail import audit_table
from engine.database import write_transaction
from engine.flows.tables import messages
from tests.engine.alerts.world import World, alert_world


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    with alert_world(tmp_path, database_url) as built:
        yield built


def scan(world: World, rule: str = "vacant_unit") -> ScanResult:
    catalog = world.runtime.require_catalog()
    with write_transaction(world.runtime.engine) as conn:
        return scan_rule(conn, world.runtime, catalog, "estate", rule, world.clock.now())


def rows(world: World, query: sa.Select) -> list[dict]:
    with world.runtime.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def open_alerts(world: World, rule: str = "vacant_unit") -> list[dict]:
    query = sa.select(alerts).where(alerts.c.rule == rule, alerts.c.status != "resolved")
    return rows(world, query.order_by(alerts.c.record_id))


def test_a_scan_opens_one_alert_per_matching_record_and_never_twice(world: World) -> None:
    first = world.unit("A-1")
    world.unit("A-2", status="let")
    world.unit("A-3", active=False)
    assert scan(world) == ScanResult(1, 1, 0, 0, "estate", "vacant_unit", 1)
    assert scan(world) == ScanResult(1, 0, 0, 0, "estate", "vacant_unit", 0)
    world.clock.advance(hours=2)
    assert scan(world).opened == 0
    [alert] = open_alerts(world)
    assert alert["record_id"] == first["id"]
    assert (alert["title"], alert["title_en"]) == ("房屋 A-1 空置", "Unit A-1 is vacant")
    assert alert["body"] == "rent：1000.00"  # the field label, else its name
    assert alert["severity"] == "yellow"
    assert alert["org_id"] == world.orgs["S1"]["id"] and alert["status"] == "open"
    timeline = rows(world, sa.select(events.c.action).where(events.c.alert_id == alert["id"]))
    assert timeline == [{"action": "open"}]


def test_the_database_refuses_a_second_unresolved_alert_for_a_record(world: World) -> None:
    world.unit("A-1")
    scan(world)
    [alert] = open_alerts(world)
    duplicate = {k: v for k, v in alert.items() if k != "id"}
    with pytest.raises(sa.exc.IntegrityError), world.runtime.engine.begin() as conn:
        conn.execute(alerts.insert().values(**duplicate))


def test_alerts_resolve_by_themselves_when_the_record_no_longer_matches(world: World) -> None:
    unit = world.unit("A-1")
    scan(world)
    world.update(unit, status="let")
    world.clock.advance(hours=1)
    assert scan(world).resolved == 1
    assert open_alerts(world) == []
    [alert] = rows(world, sa.select(alerts))
    assert alert["resolution"] == "auto" and alert["resolved_by"] == "system"
    world.update(unit, status="vacant")  # vacant again: a new alert, the old one stays resolved
    assert scan(world).opened == 1
    assert len(rows(world, sa.select(alerts))) == 2


def test_recipients_are_the_role_holders_over_the_records_street(world: World) -> None:
    world.unit("A-1", street="S1")
    world.unit("B-1", street="S2")
    scan(world)
    by_record = {
        a["title"]: sorted(
            r["username"]
            for r in rows(world, sa.select(recipients).where(recipients.c.alert_id == a["id"]))
        )
        for a in open_alerts(world)
    }
    assert by_record == {"房屋 A-1 空置": ["officer1"], "房屋 B-1 空置": ["officer2"]}
    inbox = rows(world, sa.select(messages.c.recipient, messages.c.title))
    assert sorted((m["recipient"], m["title"]) for m in inbox) == [
        ("officer1", "房屋 A-1 空置"),
        ("officer2", "房屋 B-1 空置"),
    ]


def test_unhandled_alerts_escalate_after_the_days_given(world: World) -> None:
    world.unit("A-1")
    scan(world)
    world.clock.advance(days=2, hours=23)
    assert scan(world).escalated == 0
    world.clock.advance(hours=2)
    result = scan(world)
    assert result.escalated == 1 and result.notifications == 2  # officer1 again, manager1
    [alert] = open_alerts(world)
    assert alert["severity"] == "orange" and alert["escalated_at"] == world.clock.now()
    query = sa.select(recipients.c.username).where(recipients.c.alert_id == alert["id"])
    people = rows(world, query)
    assert sorted(p["username"] for p in people) == ["manager1", "officer1"]
    world.clock.advance(days=5)
    assert scan(world).escalated == 0  # once
    audited = sa.select(audit_table.c.action).where(audit_table.c.action.like("alert.%"))
    actions = rows(world, audited.order_by(audit_table.c.seq))
    assert [a["action"] for a in actions] == ["alert.open", "alert.escalate"]


def test_an_acknowledged_alert_still_escalates_a_disposed_one_does_not(world: World) -> None:
    world.unit("A-1")
    world.unit("A-2")
    scan(world)
    first, second = open_alerts(world)
    officer = world.people["officer1"]
    assert officer.post(f"/api/alerts/{first['id']}/acknowledge", json={}).status_code == 200
    assert officer.post(f"/api/alerts/{second['id']}/acknowledge", json={}).status_code == 200
    response = officer.post(f"/api/alerts/{second['id']}/dispose", json={"opinion": "已约谈"})
    assert response.status_code == 200, response.text
    world.clock.advance(days=4)
    assert scan(world).escalated == 1
    assert [a["severity"] for a in open_alerts(world)] == ["orange", "yellow"]
