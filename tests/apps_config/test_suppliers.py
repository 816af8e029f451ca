"""The supplier family: the `ecosystem` app's suppliers, deliveries and incidents, the demo
suppliers, and the seven `supervision/alerts/supplier_*` rules on a small world of them — each
scan alerts exactly the suppliers plain SQL finds, and tells the supplier, the supervisors
and (for the red rules) the district centre it is registered in."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.alerts.scanning import scan_rule
from engine.alerts.tables import alerts
from engine.alerts.tables import recipients as alert_recipients
from engine.auth.realm import Realm
from engine.bulk import insert_rows, next_id, reset_sequence
from engine.clock import FixedClock
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.runtime import Runtime
from engine.settings import Settings
from plugins.builtin import demo_identity, demo_suppliers
from plugins.builtin.demo_common import TODAY, Ids, Row
from plugins.builtin.demo_housing import enterprise_rows, region_rows
from plugins.builtin.demo_suppliers import supplier_batches
from plugins.builtin.identity_numbers import uscc_check_digit
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2, isolated_database

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
PASSWORD = "Demo-Staff-2026!"
NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 on the demo's day in Shanghai

RULES = {  # rule: (severity, whether its district centre is told)
    "supplier_complaint_rate_high": ("orange", False),
    "supplier_deliveries_late": ("orange", False),
    "supplier_work_safety_accident": ("red", True),
    "supplier_environmental_violation": ("red", True),
    "supplier_reputation_low": ("yellow", False),
    "supplier_credit_low": ("orange", False),
    "supplier_blacklisted": ("red", True),
}

DELIVERIES = "(SELECT count(*) FROM {deliveries} d WHERE d.supplier = s.id AND {where})"
THIS_YEAR = "d.status <> 'cancelled' AND d.ordered_on >= :year_ago"
LATE = (
    "d.status <> 'cancelled' AND d.due_date >= :ninety_days_ago AND d.due_date < :today"
    " AND (d.delivered_on IS NULL OR d.delivered_on > d.due_date)"
)
INCIDENT = (
    "EXISTS (SELECT 1 FROM {incidents} i WHERE i.supplier = s.id"
    " AND i.kind = '{kind}' AND i.occurred_on >= :thirty_days_ago)"
)
COMPLAINTS = (
    "(SELECT count(*) FROM {incidents} i WHERE i.supplier = s.id"
    " AND i.kind = 'product_complaint' AND i.occurred_on >= :year_ago)"
)
MATCHING = {  # rule: the WHERE clause over suppliers `s` that should match
    "supplier_complaint_rate_high": f"s.status = 'approved' AND {DELIVERIES} >= 10"
    f" AND {COMPLAINTS} * 20 > {DELIVERIES}".replace("{where}", THIS_YEAR),
    "supplier_deliveries_late": f"s.status = 'approved' AND {DELIVERIES} >= 3".replace(
        "{where}", LATE
    ),
    "supplier_work_safety_accident": "s.status = 'approved' AND "
    + INCIDENT.replace("{kind}", "work_safety"),
    "supplier_environmental_violation": "s.status = 'approved' AND "
    + INCIDENT.replace("{kind}", "environmental"),
    "supplier_reputation_low": "s.status = 'approved' AND s.positive_review_rate < 80",
    "supplier_credit_low": "s.status = 'approved' AND s.credit_score < 60",
    "supplier_blacklisted": "s.status = 'blacklisted'",
}


@dataclass
class World:
    """A runtime holding the demo city's regions, six enterprises and the demo suppliers,
    with their organisations and accounts; the rows as generated."""

    runtime: Runtime
    rows: dict[str, list[Row]]
    district_codes: dict[int, str]  # region id: code

    def __repr__(self) -> str:  # a failing test prints its arguments; keep the catalog out
        return f"World(suppliers={len(self.rows['supplier'])})"


def generated(start_ids: dict[tuple[str, str], int]) -> Iterator[tuple[str, str, list[Row]]]:
    """The city and its districts (suppliers belong to no street), six enterprises and the
    suppliers, as `demo_housing.generate` would yield them."""
    ids = Ids(start_ids)
    rng = random.Random(2026)
    districts, regions = region_rows(ids, rng)
    yield "housing_stock", "region", [r for r in regions if r["level"] in ("city", "district")]
    enterprises = enterprise_rows(6, districts, ids, rng)
    yield "housing_stock", "enterprise", enterprises
    buyers = [row["id"] for row in enterprises]
    yield from supplier_batches(ids, districts, buyers, random.Random("2026-suppliers"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("suppliers")
    with isolated_database() as url:
        settings = Settings(
            data_dir=root / "var",
            apps_config=APPS_CONFIG,
            database_url=url,
            admin_password=ADMIN_PASSWORD,
            job_threads=False,
            catalog_check_seconds=0,
            alerts_send=False,
            **FAST_ARGON2,
        )
        runtime = Runtime.create(settings, FixedClock(NOW))
        runtime.start()
        try:
            yield load_world(runtime, settings)
        finally:
            runtime.dispose()


def load_world(runtime: Runtime, settings: Settings) -> World:
    catalog = runtime.require_catalog()
    with runtime.engine.connect() as conn:
        start_ids = {key: next_id(conn, entity) for key, entity in catalog.entities.items()}
    rows: dict[str, list[Row]] = {}
    for app, name, batch in generated(start_ids):
        entity = catalog.entity(app, name)
        assert entity is not None
        rows.setdefault(name, []).extend(batch)
        with write_transaction(runtime.engine) as conn:
            insert_rows(conn, entity, batch, SYSTEM)
    with write_transaction(runtime.engine) as conn:
        for entity in catalog.entities.values():
            reset_sequence(conn, entity)
    realm = Realm.create(settings, runtime.engine)
    demo_identity.load(realm, catalog, rows["region"], rows["enterprise"], PASSWORD)
    demo_suppliers.load_identity(realm, catalog, rows["region"], rows["supplier"], PASSWORD)
    codes = {r["id"]: r["code"] for r in rows["region"] if r["level"] == "district"}
    return World(runtime, rows, codes)


def supplier_sql(runtime: Runtime, where: str) -> set[int]:
    catalog = runtime.require_catalog()
    tables = {
        name: entity.table.name
        for (app, name), entity in catalog.entities.items()
        if app == "ecosystem"
    }
    statement = sa.text(
        f"SELECT s.id FROM {tables['supplier']} s WHERE {where}".format(
            deliveries=tables["supplier_delivery"], incidents=tables["supplier_incident"]
        )
    )
    days = {"today": 0, "thirty_days_ago": 30, "ninety_days_ago": 90, "year_ago": 365}
    params = [sa.bindparam(k, TODAY - timedelta(days=n), type_=sa.Date) for k, n in days.items()]
    used = [p for p in params if f":{p.key}" in where]
    with runtime.engine.connect() as conn:
        return set(conn.execute(statement.bindparams(*used)).scalars())


def test_the_ecosystem_app_and_the_supplier_family_load(world: World) -> None:
    definitions = world.runtime.require_catalog().definitions  # the shipped folder, published
    ecosystem = definitions.apps["ecosystem"]
    assert set(ecosystem.entities) == {"supplier", "supplier_delivery", "supplier_incident"}
    for entity in ecosystem.entities.values():
        assert entity.org, entity.name
        assert {"supervisor", "supplier", "auditor"} <= set(entity.permissions), entity.name
        assert entity.permissions["auditor"].actions == ["read"], entity.name
    supplier_rules = {
        name: rule
        for name, rule in definitions.apps["supervision"].alerts.items()
        if rule.family == "supplier"
    }
    assert set(supplier_rules) == set(RULES)
    for name, rule in supplier_rules.items():
        assert rule.entity == "ecosystem.supplier"
        assert (rule.severity, any(r.role == "district_centre" for r in rule.recipients)) == RULES[
            name
        ]


def test_demo_suppliers_are_valid_and_reproducible() -> None:
    first = {name: rows for _, name, rows in generated({})}
    again = {name: rows for _, name, rows in generated({})}
    assert first == again
    suppliers = first["supplier"]
    codes = [s["uscc"] for s in suppliers]
    assert len(set(codes)) == len(codes) == 48
    assert all(code[-1] == uscc_check_digit(code[:17]) for code in codes)
    assert not set(codes) & {e["uscc"] for e in first["enterprise"]}
    by_id = {s["id"]: s for s in suppliers}
    for delivery in first["supplier_delivery"]:
        supplier = by_id[delivery["supplier"]]
        assert supplier["status"] in ("approved", "cancelled", "blacklisted")
        assert delivery["ordered_on"] <= delivery["due_date"]
        assert supplier["reviewed_on"] <= delivery["ordered_on"]
        delivered = delivery["delivered_on"]
        assert (delivery["status"] == "delivered") == (delivered is not None)
        assert delivered is None or delivery["ordered_on"] <= delivered < TODAY
    assert all(i["occurred_on"] <= TODAY for i in first["supplier_incident"])


def test_demo_deliveries_give_the_late_rule_hits_and_near_misses() -> None:
    rows = {name: batch for _, name, batch in generated({})}
    window = TODAY - timedelta(days=90)
    late: Counter[int] = Counter(
        d["supplier"]
        for d in rows["supplier_delivery"]
        if d["status"] != "cancelled"
        and window <= d["due_date"] < TODAY
        and (d["delivered_on"] is None or d["delivered_on"] > d["due_date"])
    )
    assert {n for n in late.values()} == {2, 3}  # the late profiles, and the nearly late


@pytest.mark.parametrize("rule", list(RULES))
def test_a_supplier_rule_alerts_the_suppliers_sql_finds_and_tells_their_people(
    world: World, rule: str
) -> None:
    runtime = world.runtime
    expected = supplier_sql(runtime, MATCHING[rule])
    with write_transaction(runtime.engine) as conn:
        result = scan_rule(conn, runtime, runtime.require_catalog(), "supervision", rule, NOW)
    with runtime.engine.connect() as conn:
        opened = conn.execute(
            sa.select(alerts.c.id, alerts.c.record_id, alerts.c.title, alerts.c.severity).where(
                alerts.c.rule == rule, alerts.c.status == "open"
            )
        ).all()
        told = conn.execute(
            sa.select(alert_recipients.c.alert_id, alert_recipients.c.username).where(
                alert_recipients.c.alert_id.in_([row.id for row in opened])
            )
        ).all()
    assert expected, f"the demo suppliers should give {rule} something to find"
    assert result.matched == len(expected)
    assert {row.record_id for row in opened} == expected
    severity, district_told = RULES[rule]
    suppliers = {s["id"]: s for s in world.rows["supplier"]}
    for alert_id, record_id, title, found_severity in opened:
        supplier = suppliers[record_id]
        district = world.district_codes[supplier["district"]]
        people = {"supervisor", f"supervisor_{district}", f"supplier_{supplier['uscc'].lower()}"}
        if district_told:
            people.add(f"district_{district}")
        assert {u for a, u in told if a == alert_id} == people
        assert supplier["name"] in title and found_severity == severity


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=world.runtime)) as test_client:
        yield test_client


def as_user(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def listed(client: TestClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(f"/api/ecosystem/{path}?limit=500", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_supplier_sees_its_own_records_and_an_enterprise_the_admitted_suppliers(
    world: World, client: TestClient
) -> None:
    supplier = next(s for s in world.rows["supplier"] if s["status"] == "approved")
    own = as_user(client, f"supplier_{supplier['uscc'].lower()}")
    assert [s["id"] for s in listed(client, "supplier", own)] == [supplier["id"]]
    deliveries = {
        d["id"] for d in world.rows["supplier_delivery"] if d["supplier"] == supplier["id"]
    }
    assert {d["id"] for d in listed(client, "supplier_delivery", own)} == deliveries
    other = next(s for s in world.rows["supplier"] if s["id"] != supplier["id"])
    response = client.get(f"/api/ecosystem/supplier/{other['id']}", headers=own)
    assert response.status_code == 404
    refused = client.patch(
        f"/api/ecosystem/supplier/{supplier['id']}", json={"credit_score": 100}, headers=own
    )
    assert refused.status_code in (403, 422), refused.text
    enterprise = as_user(client, f"enterprise_{world.rows['enterprise'][0]['uscc'].lower()}")
    approved = {s["id"] for s in world.rows["supplier"] if s["status"] == "approved"}
    admitted = listed(client, "supplier", enterprise)
    assert {s["id"] for s in admitted} == approved
    assert all("*" in s["phone"] for s in admitted)  # masked: the enterprise may not unmask


def test_a_blacklisting_alerts_at_once(world: World, client: TestClient) -> None:
    supplier = next(
        s for s in world.rows["supplier"] if s["status"] == "approved" and s["credit_score"] >= 60
    )
    path = f"/api/ecosystem/supplier/{supplier['id']}"
    supervisor = as_user(client, "supervisor")
    missing = client.patch(path, json={"status": "blacklisted"}, headers=supervisor)
    assert missing.status_code == 422
    assert [d["path"] for d in missing.json()["error"]["details"]] == ["status_reason"]
    reason = "多次逾期交付且拒不整改"
    response = client.patch(
        path, json={"status": "blacklisted", "status_reason": reason}, headers=supervisor
    )
    assert response.status_code == 200, response.text
    assert response.json()["blacklisted"] is True
    with world.runtime.engine.connect() as conn:
        bodies = conn.execute(
            sa.select(alerts.c.body).where(
                alerts.c.rule == "supplier_blacklisted", alerts.c.record_id == supplier["id"]
            )
        ).scalars()
        assert [reason in body for body in bodies] == [True]
