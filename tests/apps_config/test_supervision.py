"""The shipped reports, dashboards and alert rules on a small demo city: their numbers agree
with plain SQL over the same tables, and each user sees only their part."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.alerts.scanning import scan_rule
from engine.alerts.tables import alerts
from engine.alerts.tables import recipients as alert_recipients
from engine.clock import FixedClock
from engine.principal import SYSTEM
from engine.reports import parse_params, report_of, run_report
from engine.runtime import Runtime
from engine.settings import Settings
from renderers.app import create_app
from run import cmd_demo_data
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2, isolated_database

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
DEMO_PASSWORD = "Demo-Staff-2026!"
UNITS = 3000
TODAY = date(2026, 3, 1)  # the demo data's day (plugins/builtin/demo_common.py)
NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 that day in Shanghai


class Demo:
    """The demo city's runtime, with a short repr: a failing test's report prints its
    arguments, and a runtime's repr holds the whole catalog."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __repr__(self) -> str:
        return f"Demo(units={UNITS}, now={NOW.isoformat()})"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The shipped definitions with demo data, the clock at the demo's day; the load itself
    opens no alerts, so each test's scan starts from nothing."""
    root = tmp_path_factory.mktemp("supervision")
    with isolated_database() as url:
        base: dict[str, Any] = {
            "data_dir": root / "var",
            "apps_config": APPS_CONFIG,
            "database_url": url,
            "admin_password": ADMIN_PASSWORD,
            "job_threads": False,
            "catalog_check_seconds": 0,
            "demo_password": DEMO_PASSWORD,
            "alerts_send": False,
            **FAST_ARGON2,
        }
        with contextlib.redirect_stdout(io.StringIO()):
            loading = Settings(**base, alerts_enabled=False)
            cmd_demo_data(loading, argparse.Namespace(units=UNITS, seed=2026, device_share=0.25))
        started = Runtime.create(Settings(**base), FixedClock(NOW))
        started.start()
        try:
            yield Demo(started)
        finally:
            started.dispose()


def table(runtime: Runtime, app: str, entity: str) -> str:
    found = runtime.require_catalog().entity(app, entity)
    assert found is not None
    return found.table.name


def sql(runtime: Runtime, statement: str, **params: Any) -> list[sa.Row[Any]]:
    """Plain SQL with `{app__entity}` table names and typed date parameters."""
    names = {
        f"{app}__{name}": table(runtime, app, name)
        for (app, name) in runtime.require_catalog().entities
    }
    used = {k: v for k, v in params.items() if f":{k}" in statement}
    text = sa.text(statement.format(**names)).bindparams(
        *(
            sa.bindparam(k, v, type_=sa.Date if isinstance(v, date) else None)
            for k, v in used.items()
        )
    )
    with runtime.engine.connect() as conn:
        return list(conn.execute(text))


def report_rows(
    runtime: Runtime, app: str, name: str, raw: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    catalog = runtime.require_catalog()
    report = report_of(catalog, app, name)
    assert report is not None
    with runtime.engine.connect() as conn:
        result = run_report(
            conn, catalog, report, SYSTEM, parse_params(report, raw or {}), cache=False
        )
    rows: list[dict[str, Any]] = result.as_json()["rows"]
    return rows


def test_units_by_status_counts_every_unit_once(demo: Demo) -> None:
    runtime = demo.runtime
    rows = report_rows(runtime, "housing_stock", "units_by_status")
    cells = {
        (r["_key"]["district"], r["_key"]["status"]): r["units"] for r in rows if r["_level"] == 2
    }
    expected = sql(
        runtime,
        """SELECT district, status, count(*) FROM {housing_stock__housing_unit}
        GROUP BY district, status""",
    )
    assert cells == {(int(d), s): n for d, s, n in expected} and len(cells) > 4
    totals = {r["_key"]["district"]: r["units"] for r in rows if r["_level"] == 1}
    assert sum(totals.values()) == [r["units"] for r in rows if r["_level"] == 0][0] == UNITS


def test_arrears_per_district_as_sql(demo: Demo) -> None:
    runtime = demo.runtime
    rows = report_rows(runtime, "public_rental", "arrears_by_district")
    found = {
        r["_key"]["district"]: (Decimal(str(r["arrears"])), r["bills"], r["households"])
        for r in rows
        if r["_level"] == 1
    }
    expected = sql(
        runtime,
        """SELECT u.district, sum(b.amount_due - b.amount_paid), count(*),
        count(DISTINCT b.household) FROM {public_rental__rent_bill} b
        JOIN {housing_stock__housing_unit} u ON u.id = b.housing_unit
        WHERE b.status IN ('unpaid', 'partial') AND b.due_date < :today GROUP BY u.district""",
        today=TODAY,
    )
    assert found and found == {
        int(d): (Decimal(str(a)).quantize(Decimal("0.01")), n, h) for d, a, n, h in expected
    }


def test_contracts_expiring_per_month_as_sql(demo: Demo) -> None:
    runtime = demo.runtime
    rows = report_rows(runtime, "public_rental", "contracts_expiring", {"months": "6"})
    found = {r["month"]: r["contracts"] for r in rows}
    ends = sql(
        runtime,
        """SELECT end_date FROM {public_rental__lease_contract}
        WHERE status = 'active' AND end_date >= :today AND end_date < :until""",
        today=TODAY,
        until=date(2026, 9, 1),
    )
    expected: dict[str, int] = {}
    for (end,) in ends:
        end = end if isinstance(end, date) else date.fromisoformat(end)
        expected[f"{end:%Y-%m}"] = expected.get(f"{end:%Y-%m}", 0) + 1
    assert found and found == expected


@pytest.mark.parametrize(
    "rule, statement",
    [
        (
            "rent_arrears_one_month",
            """SELECT c.id FROM {public_rental__lease_contract} c
            WHERE c.status IN ('active', 'expired')
            AND (SELECT count(*) FROM {public_rental__rent_bill} b WHERE b.contract = c.id
                 AND b.status IN ('unpaid', 'partial') AND b.due_date < :today) = 1""",
        ),
        (
            "rent_arrears_two_months",
            """SELECT c.id FROM {public_rental__lease_contract} c
            WHERE c.status IN ('active', 'expired')
            AND (SELECT count(*) FROM {public_rental__rent_bill} b WHERE b.contract = c.id
                 AND b.status IN ('unpaid', 'partial') AND b.due_date < :today) >= 2""",
        ),
        (
            "lease_expiring",
            """SELECT c.id FROM {public_rental__lease_contract} c
            JOIN {housing_stock__housing_unit} u ON u.id = c.housing_unit
            WHERE c.status = 'active' AND u.housing_type = 'public_rental'
            AND c.end_date >= :today AND c.end_date <= :in_three_months""",
        ),
        (
            "unit_vacant_too_long",
            """SELECT id FROM {housing_stock__housing_unit}
            WHERE status = 'vacant' AND vacant_since < :a_year_ago""",
        ),
        (
            "subsidy_overdue",
            """SELECT id FROM {subsidy__subsidy_disbursement}
            WHERE status IN ('scheduled', 'overdue') AND paid_on IS NULL AND due_date < :today""",
        ),
    ],
)
def test_a_scan_opens_one_alert_per_record_the_sql_finds(
    demo: Demo, rule: str, statement: str
) -> None:
    runtime = demo.runtime
    expected = {
        row[0]
        for row in sql(
            runtime,
            statement,
            today=TODAY,
            in_three_months=date(2026, 6, 1),
            a_year_ago=date(2025, 3, 1),
        )
    }
    catalog = runtime.require_catalog()
    with runtime.engine.begin() as conn:
        result = scan_rule(conn, runtime, catalog, "supervision", rule, NOW)
    with runtime.engine.connect() as conn:
        opened = conn.execute(
            sa.select(alerts.c.record_id, alerts.c.title).where(
                alerts.c.rule == rule, alerts.c.status == "open"
            )
        ).all()
    assert expected, f"the demo data should give {rule} something to find"
    assert result.matched == result.opened == len(expected)
    assert {record_id for record_id, _ in opened} == expected


def test_arrears_alerts_name_the_contract_and_reach_its_street(demo: Demo) -> None:
    runtime = demo.runtime
    with runtime.engine.begin() as conn:
        scan_rule(
            conn, runtime, runtime.require_catalog(), "supervision", "rent_arrears_two_months", NOW
        )
    contracts = {
        row[0]: (row[1], row[2])
        for row in sql(
            runtime,
            """SELECT c.id, c.contract_no, s.code FROM {public_rental__lease_contract} c
            JOIN {housing_stock__housing_unit} u ON u.id = c.housing_unit
            JOIN {housing_stock__region} s ON s.id = u.street""",
        )
    }
    with runtime.engine.connect() as conn:
        found = conn.execute(
            sa.select(alerts.c.id, alerts.c.record_id, alerts.c.title, alerts.c.severity).where(
                alerts.c.rule == "rent_arrears_two_months"
            )
        ).all()
        recipients = conn.execute(
            sa.select(alert_recipients.c.alert_id, alert_recipients.c.username)
        ).all()
    assert found
    for alert_id, record_id, title, severity in found:
        number, street = contracts[record_id]
        assert number in title and "欠缴租金" in title and severity == "red"
        names = {u for a, u in recipients if a == alert_id}
        assert {f"street_{street}", "supervisor"} <= names


@pytest.fixture(scope="module")
def client(demo: Demo) -> Iterator[TestClient]:
    runtime = demo.runtime
    with TestClient(create_app(runtime=runtime)) as test_client:
        yield test_client


def as_user(client: TestClient, username: str) -> dict[str, str]:
    response = client.post(
        "/api/auth/token", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_district_centre_sees_only_its_district(demo: Demo, client: TestClient) -> None:
    runtime = demo.runtime
    district, code = sql(
        runtime,
        """SELECT r.id, r.code FROM {housing_stock__region} r
        JOIN {housing_stock__housing_unit} u ON u.district = r.id
        GROUP BY r.id, r.code ORDER BY count(*) DESC""",
    )[0]
    response = client.get(
        "/api/housing_stock/reports/units_by_status", headers=as_user(client, f"district_{code}")
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert {r["_key"]["district"] for r in rows if r["_level"] == 2} == {district}
    expected = sql(
        runtime,
        "SELECT count(*) FROM {housing_stock__housing_unit} WHERE district = :district",
        district=district,
    )[0][0]
    assert [r["units"] for r in rows if r["_level"] == 0] == [expected]


def test_dashboards_open_for_their_roles(client: TestClient) -> None:
    supervisor = as_user(client, "supervisor")
    home = client.get("/api/supervision/dashboards/home", headers=supervisor)
    assert home.status_code == 200, home.text
    widgets = home.json()["widgets"]
    assert len(widgets) == 9 and all(w.get("result") for w in widgets), widgets
    kpi = {
        w["report"]: w["result"]["rows"][0]
        for w in widgets
        if w["result"]["chart"]["type"] == "kpi"
    }
    assert kpi["housing_stock.unit_total"]["units"] == UNITS
    street = as_user(client, "street_430121001")
    assert client.get("/api/supervision/dashboards/home", headers=street).status_code in (403, 404)
