"""The dry run: what a change of definitions would do to the rows already stored."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine import records
from engine.principal import SYSTEM
from engine.publishing import Plan, plan
from engine.runtime import Runtime
from metamodel import store
from tests.definitions import entity, estate, write_folder

ROWS = [
    {"code": "A-1", "floor": 10, "rent": "500.50", "status": "let"},
    {"code": "A-22", "floor": None, "rent": "600.00", "status": "vacant"},
    {"code": "A-333", "floor": 50, "rent": None, "status": "let"},
]


@pytest.fixture
def stored(runtime: Runtime) -> Runtime:
    unit = runtime.require_catalog().entity("estate", "unit")
    assert unit is not None
    for row in ROWS:
        records.create_record(runtime.engine, unit, {k: v for k, v in row.items() if v}, SYSTEM)
    return runtime


def dry_run(runtime: Runtime, field: str, change: dict[str, Any]) -> Plan:
    folder = estate()
    entity(folder, "unit")["fields"][field].update(change)
    write_folder(runtime.settings.apps_config, folder)
    with runtime.engine.connect() as conn:
        return plan(conn, runtime.require_catalog(), runtime.folder_contents())


CHANGES = {
    "field becomes required": ("floor", {"required": True}, "warning", 1, [None]),
    "minimum raised": ("floor", {"min": 20}, "warning", 1, [10]),
    "maximum lowered": ("floor", {"max": 40}, "warning", 1, [50]),
    "max_length shortened": ("code", {"max_length": 3}, "warning", 2, ["A-22", "A-333"]),
    "pattern tightened": ("code", {"pattern": "^A-[0-9]$"}, "warning", 2, ["A-22", "A-333"]),
    "option removed": ("status", {"options": [{"value": "vacant"}]}, "warning", 2, ["let", "let"]),
    "scale reduced": ("rent", {"scale": 0}, "data_loss", 1, ["500.50"]),
    "made unique over duplicates": ("status", {"unique": True}, "blocker", 2, None),
}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "change", "severity", "rows", "values"), CHANGES.values(), ids=CHANGES.keys()
)
def test_dry_run_reports_the_rows_a_change_affects(
    stored: Runtime,
    field: str,
    change: dict[str, Any],
    severity: str,
    rows: int,
    values: list[Any] | None,
) -> None:
    [finding] = [f for f in dry_run(stored, field, change).report.findings if f.field == field]

    assert (finding.entity, finding.severity, finding.rows) == ("estate.unit", severity, rows)
    if values is not None:
        assert [s["value"] for s in finding.sample] == values


def test_dry_run_of_a_harmless_change_finds_nothing_to_fix(stored: Runtime) -> None:
    report = dry_run(stored, "floor", {"max": 99}).report

    assert (report.blocked, report.loses_data, report.of("warning")) == (False, False, [])


def test_dry_run_changes_nothing(stored: Runtime) -> None:
    dry_run(stored, "status", {"unique": True})

    with stored.engine.connect() as conn:
        assert store.latest_version(conn) == 1
    indexes = sa.inspect(stored.engine).get_indexes("estate__unit")
    assert not any(i["column_names"] == ["status"] for i in indexes)
