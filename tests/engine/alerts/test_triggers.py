"""On-change rules: a write through the API checks the written record at once, in the
writer's transaction — the alert opens with the write, resolves with the next one, and
rolls back with a refused write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.alerts.rules import rules_watching
from engine.alerts.tables import alerts, recipients
from engine.flows.tables import messages
from tests.engine.alerts.world import World, alert_world

PLUGINS = ["plugins.builtin", "tests.engine.alerts.refusing_plugin"]


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    with alert_world(tmp_path, database_url, plugins=PLUGINS) as built:
        yield built


def high_rent_alerts(world: World) -> list[dict]:
    with world.runtime.engine.connect() as conn:
        query = sa.select(alerts).where(alerts.c.rule == "high_rent").order_by(alerts.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def test_only_watched_entities_have_on_change_rules(world: World) -> None:
    watching = rules_watching(world.runtime.require_catalog())
    assert {path: [r.name for r in rules] for path, rules in watching.items()} == {
        "estate.unit": ["high_rent"]
    }


def test_a_write_opens_the_alert_at_once_and_the_next_resolves_it(world: World) -> None:
    unit = world.unit("A-1", rent="9000", keeper="keeper1")
    [alert] = high_rent_alerts(world)
    assert (alert["status"], alert["title"]) == ("open", "房屋 A-1 租金 9000.00")
    with world.runtime.engine.connect() as conn:
        people = conn.execute(sa.select(recipients.c.username)).scalars().all()
        inbox = conn.execute(sa.select(messages.c.recipient, messages.c.title)).all()
    assert people == ["keeper1"] and inbox == [("keeper1", "房屋 A-1 租金 9000.00")]

    world.update(unit, rent="9500")  # still matching: the same alert
    assert len(high_rent_alerts(world)) == 1
    world.update(unit, rent="4000")
    [alert] = high_rent_alerts(world)
    assert (alert["status"], alert["resolution"]) == ("resolved", "auto")


def test_deleting_the_record_resolves_its_alert(world: World) -> None:
    unit = world.unit("A-1", rent="9000", keeper="keeper1")
    assert world.admin.delete(f"/api/estate/unit/{unit['id']}").status_code == 204
    [alert] = high_rent_alerts(world)
    assert alert["status"] == "resolved"


def test_a_refused_write_leaves_no_alert(world: World) -> None:
    body = {"code": "A-2", "rent": "9000", "keeper": "keeper1", "notes": "refuse"}
    refused = world.admin.post("/api/estate/unit", json=body)
    assert refused.status_code == 409, refused.text
    assert high_rent_alerts(world) == []
    with world.runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(recipients)).scalar() == 0
