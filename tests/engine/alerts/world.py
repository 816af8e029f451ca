"""The alert tests' world: the estate definitions with units in streets, three alert rules,
a city with two streets and their people, and a clock the tests move.

- `vacant_unit` (every 1h): a vacant, active unit; to the street's officers; escalates to
  orange after 3 days, also to the city's managers; `as_of: let_on`.
- `high_rent` (on change only): rent above 5000; to the unit's `keeper`.
- `morning_check` (cron 08:30 on working days): a unit with a negative floor; to officers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.runtime import Runtime
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import APP, Folder, entity, estate, write_folder
from tests.identity import authorize, client_as, create_org, create_user

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Shanghai

VACANT_UNIT: dict[str, Any] = {
    "label": {"zh": "房屋空置", "en": "Vacant unit"},
    "family": "unit",
    "entity": "unit",
    "condition": "status == 'vacant' and active",
    "severity": "yellow",
    "schedule": {"every": "1h"},
    "message": {
        "title": {"zh": "房屋 {{ record.code }} 空置", "en": "Unit {{ record.code }} is vacant"},
        "body": {"zh": "{{ labels.rent }}：{{ record.rent }}", "en": "Rent: {{ record.rent }}"},
    },
    "recipients": [{"role": "officer"}],
    "channels": ["in_app"],
    "escalation": {"after_days": 3, "severity": "orange", "recipients": [{"role": "manager"}]},
    "as_of": "let_on",
}
HIGH_RENT: dict[str, Any] = {
    "label": "租金过高",
    "entity": "unit",
    "condition": "rent > 5000",
    "severity": "orange",
    "schedule": {"on_change": True},
    "message": {"title": "房屋 {{ record.code }} 租金 {{ record.rent }}"},
    "recipients": [{"field": "keeper"}],
}
MORNING_CHECK: dict[str, Any] = {
    "entity": "unit",
    "condition": "floor < 0",
    "schedule": {"cron": "30 8 * * 1-5"},
    "message": {"title": "地下室 {{ record.code }}"},
    "recipients": [{"role": "officer"}],
}


def alert_folder(**rules: dict[str, Any]) -> Folder:
    """The estate folder with `office` (a street code, the unit's org) and `keeper` on units,
    the roles officer and manager, and the given rules (the three above by default)."""
    folder = estate()
    folder[f"{APP}/roles.yaml"]["roles"]["officer"] = {"label": {"zh": "街道专管员"}}
    unit = entity(folder, "unit")
    unit["fields"]["office"] = {"type": "string", "max_length": 40}
    unit["fields"]["keeper"] = {"type": "string", "max_length": 100}
    unit["org"] = "office"
    unit["permissions"] = {
        "officer": {"actions": ["read", "update"], "scope": "org_subtree"},
        "manager": {"actions": ["read"], "scope": "org_subtree"},
    }
    given = rules or {
        "vacant_unit": VACANT_UNIT,
        "high_rent": HIGH_RENT,
        "morning_check": MORNING_CHECK,
    }
    for name, rule in given.items():
        folder[f"{APP}/alerts/{name}.yaml"] = copy.deepcopy(rule)
    return folder


@dataclass
class World:
    admin: TestClient
    runtime: Runtime
    clock: FixedClock
    people: dict[str, TestClient]
    orgs: dict[str, dict[str, Any]]

    def unit(self, code: str, street: str = "S1", **values: Any) -> dict[str, Any]:
        body = {"code": code, "status": "vacant", "office": street, "rent": "1000", **values}
        response = self.admin.post(f"/api/{APP}/unit", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def update(self, unit: dict[str, Any], **values: Any) -> dict[str, Any]:
        current = self.admin.get(f"/api/{APP}/unit/{unit['id']}").json()
        response = self.admin.patch(
            f"/api/{APP}/unit/{unit['id']}",
            json=values,
            headers={"If-Match": f'"{current["row_version"]}"'},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@contextmanager
def alert_world(
    root: Path, database_url: str | None, folder: Folder | None = None, **settings: Any
) -> Iterator[World]:
    """The app over HTTP with a clock at `START`: a city C with streets S1 and S2; officers
    `officer1` (S1) and `officer2` (S2), `manager1` (manager in C), `keeper1` (no role),
    `auditor1` (auditor)."""
    config = estate_settings(root, database_url, **settings)
    write_folder(config.apps_config, folder or alert_folder())
    clock = FixedClock(START)
    runtime = Runtime.create(config, clock)
    with TestClient(create_app(runtime=runtime)) as admin:
        authorize(admin)
        city = create_org(admin, "C", "city")
        s1 = create_org(admin, "S1", "street", parent_id=city["id"])
        s2 = create_org(admin, "S2", "street", parent_id=city["id"])
        create_user(admin, "keeper1", org_id=s1["id"])
        people = {
            "officer1": client_as(admin, "officer1", "officer", org_id=s1["id"]),
            "officer2": client_as(admin, "officer2", "officer", org_id=s2["id"]),
            "manager1": client_as(admin, "manager1", "manager", org_id=city["id"]),
            "auditor1": client_as(admin, "auditor1", "auditor", org_id=city["id"]),
        }
        yield World(admin, runtime, clock, people, {"C": city, "S1": s1, "S2": s2})
