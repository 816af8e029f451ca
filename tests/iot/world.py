"""A world for the device tests: the shipped `apps_config/` published, a small demo city (units,
households, leases and twelve months of rent bills, its organisations and staff accounts),
device people, and helpers to register devices with their secrets.

The clock stands at the demo day (2026-03-01, 10:00 in Shanghai) until a test moves it.
People: `operator` (device operator) and `approver`, `approver2` (device supervisors), all
in the city organisation; `street_operator` (device operator in one street).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.auth.realm import Realm
from engine.bulk import insert_rows, next_id, reset_sequence
from engine.clock import FixedClock
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.runtime import Runtime
from engine.settings import Settings
from iot.registry import issue_secret
from plugins.builtin import demo_identity
from plugins.builtin.demo_housing import generate
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.identity import USER_PASSWORD, anonymous, authorize, client_as

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
DEMO_MOMENT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on the demo day
DEVICES = "/api/devices/device"


@dataclass(frozen=True)
class Handle:
    """A registered device: its record id, its code and the secret it authenticates with."""

    id: int
    code: str
    secret: str
    type_name: str
    housing_unit_id: int | None

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials: `client.post(url, json=…, auth=handle.auth)`."""
        return (self.code, self.secret)


@dataclass
class World:
    runtime: Runtime
    clock: FixedClock
    admin: TestClient
    device_client: TestClient  # no user credentials: devices authenticate per request
    people: dict[str, TestClient]
    orgs: dict[str, int]  # organisation code → id
    codes: Iterator[int] = field(default_factory=lambda: count(1))

    def __repr__(self) -> str:
        """Short: pytest shows the world in a failed assertion, and the catalog is vast."""
        return f"World(database={self.runtime.engine.url!r})"

    @property
    def catalog(self) -> Any:
        return self.runtime.require_catalog()

    def table(self, app: str, entity: str) -> sa.Table:
        found = self.catalog.entity(app, entity)
        assert found is not None, f"{app}.{entity}"
        return found.table  # type: ignore[no-any-return]

    def rows(self, app: str, entity: str, *where: Any) -> list[dict[str, Any]]:
        table = self.table(app, entity)
        with self.runtime.engine.connect() as conn:
            query = sa.select(table).where(*where).order_by(table.c.id)
            return [dict(row) for row in conn.execute(query).mappings()]

    def units(self, *where: Any) -> list[dict[str, Any]]:
        return self.rows("housing_stock", "housing_unit", *where)

    def add_device(
        self,
        type_name: str,
        housing_unit_id: int | None = None,
        code: str | None = None,
        **fields: Any,
    ) -> Handle:
        """Register a device through the API (as admin) and issue its secret."""
        code = code or f"{type_name.upper().replace('_', '-')}-{next(self.codes):05d}"
        body = {
            "code": code,
            "name": fields.pop("name", code),
            "device_type": type_name,
            "housing_unit": housing_unit_id,
            **fields,
        }
        response = self.admin.post(DEVICES, json=body)
        assert response.status_code == 201, response.text
        device_id = response.json()["id"]
        with write_transaction(self.runtime.engine) as conn:
            secret = issue_secret(conn, device_id, "admin", self.clock.now())
        return Handle(device_id, code, secret, type_name, housing_unit_id)


def load_demo_city(runtime: Runtime, units: int) -> dict[str, int]:
    """The demo generator's first `units` units with their people, leases and bills, and the
    demo organisations and staff accounts; returns organisation ids by code."""
    catalog = runtime.require_catalog()
    with runtime.engine.connect() as conn:
        start_ids = {key: next_id(conn, entity) for key, entity in catalog.entities.items()}
    kept: dict[str, list[dict[str, Any]]] = {"region": [], "enterprise": []}
    for app, name, rows in generate(units, start_ids):
        entity = catalog.entity(app, name)
        assert entity is not None
        if name in kept:
            kept[name].extend(rows)
        with runtime.engine.begin() as conn:
            insert_rows(conn, entity, rows, SYSTEM)
    with runtime.engine.begin() as conn:
        for entity in catalog.entities.values():
            reset_sequence(conn, entity)
    realm = Realm.create(runtime.settings, runtime.engine)
    demo_identity.load(realm, catalog, kept["region"], kept["enterprise"], USER_PASSWORD)
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT code, id FROM anju_org")).all()
    return {code: org_id for code, org_id in rows}


@contextmanager
def device_world(
    tmp_path: Path, database_url: str | None, units: int = 40, **overrides: Any
) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=APPS_CONFIG,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        **{**FAST_ARGON2, **overrides},
    )
    clock = FixedClock(DEMO_MOMENT)
    runtime = Runtime.create(settings, clock)
    with TestClient(create_app(runtime=runtime)) as admin:
        authorize(admin)
        orgs = load_demo_city(runtime, units)
        city = min(orgs.items(), key=lambda item: len(item[0]))[1]  # the shortest code: the city
        people = {
            "operator": client_as(admin, "operator", "device_operator", org_id=city),
            "approver": client_as(admin, "approver", "device_supervisor", org_id=city),
            "approver2": client_as(admin, "approver2", "device_supervisor", org_id=city),
        }
        yield World(runtime, clock, admin, anonymous(admin), people, orgs)
