"""The estate definitions with regions (a hierarchy), permissions and a `reports/` folder, and
seed data whose expected report figures the tests compute in Python from the same rows."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.bulk import insert_rows
from engine.clock import FixedClock
from engine.principal import SYSTEM
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import estate_settings
from tests.definitions import Folder, entity, estate, write_folder

NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 15 March 2026, 10:00 in Shanghai
LATE_MARCH = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # 1 April, 04:00 in Shanghai: Q2
READ_ALL = {"actions": ["read"], "scope": "all"}

REGION: dict[str, Any] = {
    "label": {"zh": "区划", "en": "Region"},
    "fields": {
        "name": {"type": "string", "required": True},
        "code": {"type": "string"},
        "level": {
            "type": "enum",
            "required": True,
            "options": [
                {"value": "city", "label": {"zh": "市", "en": "City"}},
                {"value": "district", "label": {"zh": "区", "en": "District"}},
                {"value": "street", "label": {"zh": "街道", "en": "Street"}},
            ],
        },
        "parent": {"type": "reference", "entity": "region"},
    },
    "title_field": "name",
    "default_sort": ["code"],
    "hierarchy": {"parent": "parent", "level": "level"},
    "permissions": {"manager": READ_ALL, "viewer": READ_ALL},
}

MEASURES_BY_BUILDING = [
    {"name": "units", "aggregate": "count", "label": {"zh": "套数", "en": "Units"}},
    {"name": "rent_total", "aggregate": "sum", "field": "rent", "format": "money"},
    {"name": "rent_avg", "aggregate": "avg", "field": "rent"},
    {"name": "top_floor", "aggregate": "max", "field": "floor"},
    {"name": "low_floor", "aggregate": "min", "field": "floor"},
    {"name": "regions", "aggregate": "distinct", "field": "region"},
]
VACANT = {"name": "vacant", "aggregate": "count", "where": 'status == "vacant"'}
REPORTS: dict[str, dict[str, Any]] = {
    "units_by_building": {
        "label": {"zh": "各楼栋房屋", "en": "Units per building"},
        "source": "unit",
        "dimensions": [
            {"name": "building", "field": "building", "label": {"zh": "楼栋"}},
            {"name": "status", "field": "status", "label": {"zh": "状态"}},
        ],
        "measures": MEASURES_BY_BUILDING,
        "rollup": True,
        "sort": ["building", "status"],
        "chart": {"type": "bar", "x": "building", "y": ["units"], "series": "status"},
    },
    "units_by_district": {
        "source": "unit",
        "dimensions": [
            {"name": "district", "field": "region", "level": "district"},
            {"name": "status", "field": "status"},
        ],
        "measures": [
            {"name": "units", "aggregate": "count"},
            VACANT,
            {"name": "rate", "ratio": ["vacant", "units"], "format": "percent"},
        ],
        "rollup": True,
    },
    "lettings_by_month": {
        "source": "unit",
        "params": {"since": {"type": "date", "default": "add_months(today, -24)"}},
        "filters": ["let_on != null and let_on >= params.since"],
        "dimensions": [{"name": "month", "field": "let_on", "bucket": "month"}],
        "measures": [
            {"name": "lettings", "aggregate": "count"},
            {"name": "mom", "change": "lettings"},
            {"name": "yoy", "change": "lettings", "compare": "year"},
        ],
        "sort": ["month"],
    },
    "checks_by_quarter": {
        "source": "unit",
        "dimensions": [{"name": "quarter", "field": "checked_at", "bucket": "quarter"}],
        "measures": [{"name": "units", "aggregate": "count"}],
    },
    "top_building": {
        "source": "unit",
        "dimensions": [{"name": "building", "field": "building"}],
        "measures": [
            {"name": "units", "aggregate": "count"},
            VACANT,
            {"name": "rate", "ratio": ["vacant", "units"]},
        ],
        "sort": ["-rate"],
        "limit": 1,
    },
    "biggest_buildings": {
        "source": "unit",
        "dimensions": [{"name": "building", "field": "building"}],
        "measures": [{"name": "units", "aggregate": "count"}],
        "sort": ["-units"],
        "limit": 1,
    },
    "units_in_status": {
        "source": "unit",
        "params": {
            "status": {"type": "enum", "options": ["vacant", "let"], "required": True},
            "floor_min": {"type": "integer"},
        },
        "filters": [
            "status == params.status",
            "params.floor_min == null or floor >= params.floor_min",
        ],
        "measures": [{"name": "units", "aggregate": "count"}],
        "chart": {"type": "kpi", "y": ["units"]},
    },
    "managers_only": {
        "source": "unit",
        "roles": ["manager"],
        "measures": [{"name": "units", "aggregate": "count"}],
    },
}
DASHBOARD = {
    "label": {"zh": "总览", "en": "Overview"},
    "widgets": [
        {"report": "units_in_status", "params": {"status": "vacant"}, "x": 0, "width": 4},
        {"report": "units_by_building", "x": 4, "width": 8},
        {"report": "managers_only", "y": 4},
    ],
}


def report_folder() -> Folder:
    """The estate folder with regions, grants and the reports above."""
    folder = estate()
    folder["estate/roles.yaml"]["roles"]["viewer"] = {"label": {"zh": "查看", "en": "Viewer"}}
    folder["estate/entities/region.yaml"] = REGION
    unit = entity(folder, "unit")
    unit["fields"]["region"] = {"type": "reference", "entity": "region"}
    unit["permissions"] = {
        "manager": {"actions": ["read", "update", "export"], "scope": "floor >= 7"},
        "viewer": {"actions": ["read"], "fields": {"rent": "hidden"}},
    }
    entity(folder, "building")["permissions"] = {"manager": READ_ALL, "viewer": READ_ALL}
    for name, report in REPORTS.items():
        folder[f"estate/reports/{name}.yaml"] = report
    folder["estate/dashboards/overview.yaml"] = DASHBOARD
    return copy.deepcopy(folder)  # the module's dicts stay as they are when a test edits


def report_settings(root: Path, database_url: str | None) -> Settings:
    settings = estate_settings(root, database_url)
    write_folder(root / "apps_config", report_folder())
    return settings


@contextmanager
def report_runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.create(settings, clock=FixedClock(NOW))
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.dispose()


def unit_rows() -> list[dict[str, Any]]:
    """Twelve units over two buildings and three streets in two districts."""
    rows = []
    for i in range(1, 13):
        vacant = i % 3 == 0
        rows.append(
            {
                "id": i,
                "code": f"A-{i}",
                "building": 1 if i <= 7 else 2,
                "region": 4 if i <= 4 else 5 if i <= 7 else 6,
                "status": "vacant" if vacant else "let",
                "rent": Decimal(1000 + 100 * i) + Decimal("0.50"),
                "floor": i,
                "let_on": None if vacant else date(2025 + i % 2, 1 + i % 3, 10),
                "checked_at": LATE_MARCH
                if i == 12
                else datetime(2026, 3 * (i % 4) + 1, 1, tzinfo=UTC),
                "active": True,
            }
        )
    return rows


def seed(runtime: Runtime) -> list[dict[str, Any]]:
    """Regions, buildings and units, bulk-inserted; returns the units."""
    catalog = runtime.require_catalog()
    regions = [
        {"id": 1, "name": "长沙市", "code": "4301", "level": "city", "parent": None},
        {"id": 2, "name": "芙蓉区", "code": "430102", "level": "district", "parent": 1},
        {"id": 3, "name": "天心区", "code": "430103", "level": "district", "parent": 1},
        {"id": 4, "name": "定王台街道", "code": "430102001", "level": "street", "parent": 2},
        {"id": 5, "name": "文艺路街道", "code": "430102002", "level": "street", "parent": 2},
        {"id": 6, "name": "坡子街街道", "code": "430103001", "level": "street", "parent": 3},
    ]
    buildings = [
        {"id": 1, "name": "一号楼", "code": "B1"},
        {"id": 2, "name": "二号楼", "code": "B2"},
    ]
    units = unit_rows()
    with runtime.engine.begin() as conn:
        insert_rows(conn, catalog.by_path("estate.region"), regions, SYSTEM)
        insert_rows(conn, catalog.by_path("estate.building"), buildings, SYSTEM)
        insert_rows(conn, catalog.by_path("estate.unit"), units, SYSTEM)
        for path in ("estate.region", "estate.building", "estate.unit"):
            _reset(conn, catalog.by_path(path).table)
    return units


def _reset(conn: sa.Connection, table: sa.Table) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'(SELECT max(id) FROM "{table.name}"))'
            )
        )
