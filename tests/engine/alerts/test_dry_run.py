"""Dry runs and backtests: the numbers a scan would find, now or on a past date, without
writing or sending anything; rules that are not published yet; and what the answer says
when the data cannot support an exact backtest."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.alerts.dry_run import DryRun, dry_run
from engine.alerts.rules import rule_of
from engine.alerts.tables import alerts, rule_states
from engine.errors import ValidationFailed
from engine.flows.tables import messages
from metamodel.alerts import AlertRule
from tests.engine.alerts.test_scanning import scan
from tests.engine.alerts.world import MORNING_CHECK, VACANT_UNIT, World, alert_folder, alert_world

LET_A_MONTH: dict[str, Any] = {
    "entity": "unit",
    "condition": "status == 'let' and days_between(let_on, today) >= 30",
    "message": {"title": "{{ record.code }}"},
    "recipients": [{"role": "officer"}],
    "as_of": "let_on",
}


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    folder = alert_folder(
        vacant_unit=VACANT_UNIT, let_a_month=LET_A_MONTH, morning_check=MORNING_CHECK
    )
    with alert_world(tmp_path, database_url, folder) as built:
        yield built


def run(world: World, rule: str | AlertRule, as_of: date | None = None) -> DryRun:
    catalog = world.runtime.require_catalog()
    if isinstance(rule, str):
        compiled = rule_of(catalog, "estate", rule)
        assert compiled is not None
        rule = compiled.definition
    with world.runtime.engine.connect() as conn:
        return dry_run(conn, catalog, "estate", rule, as_of)


def count(world: World, table: sa.Table) -> int:
    with world.runtime.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_dry_run_counts_what_a_scan_would_do_and_writes_nothing(world: World) -> None:
    first = world.unit("A-1")
    world.unit("A-2")
    world.unit("A-3", status="let")
    result = run(world, "vacant_unit")
    assert (result.matches, result.would_open, result.would_resolve) == (2, 2, 0)
    assert result.sample == [
        {"id": first["id"], "title": "A-1"},
        {"id": first["id"] + 1, "title": "A-2"},
    ]
    assert result.exact and result.as_of is None
    assert count(world, alerts) == count(world, messages) == count(world, rule_states) == 0

    scan(world)
    world.update(first, status="let")
    result = run(world, "vacant_unit")
    assert (result.matches, result.would_open, result.would_resolve) == (1, 0, 1)


def test_a_backtest_evaluates_today_as_the_date_and_counts_records_by_as_of(world: World) -> None:
    world.unit("L-1", status="let", let_on="2026-01-01")
    world.unit("L-2", status="let", let_on="2026-02-15")
    assert run(world, "let_a_month").matches == 1  # today is 2 March 2026: L-1, 60 days
    assert run(world, "let_a_month", date(2026, 1, 20)).matches == 0  # L-1 let 19 days
    past = run(world, "let_a_month", date(2026, 2, 10))  # L-1 40 days; L-2 not let yet
    assert [s["title"] for s in past.sample] == ["L-1"]
    assert (past.would_open, past.would_resolve, past.exact) == (None, None, False)
    assert "let_on" in past.note["en"] and "estimate" in past.note["en"]
    assert count(world, alerts) == 0


def test_without_an_as_of_field_a_backtest_counts_records_created_by_the_date(
    world: World,
) -> None:
    world.unit("B-1", floor=-2)  # created now, by the wall clock
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the wall clock's, as created_at
    yesterday = today - timedelta(days=1)
    assert run(world, "morning_check", today).matches == 1
    result = run(world, "morning_check", yesterday)
    assert result.matches == 0 and not result.exact
    assert "no as_of field" in result.note["en"]


def test_a_rule_not_published_yet_is_run_from_its_definition(world: World) -> None:
    world.unit("A-1")
    world.unit("A-2", active=False)
    draft = copy.deepcopy(VACANT_UNIT) | {"name": "vacant_unit", "condition": "status == 'vacant'"}
    assert run(world, AlertRule.model_validate(draft)).matches == 2
    broken = draft | {"condition": "stauts == 'vacant'"}
    with pytest.raises(ValidationFailed) as raised:
        run(world, AlertRule.model_validate(broken))
    [detail] = raised.value.details
    assert detail["path"] == "condition" and "stauts" in detail["message"]
