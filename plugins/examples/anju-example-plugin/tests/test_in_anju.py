"""The plugin inside a running Anju, loaded the way an installation loads it: through the
`anju.plugins` entry point, which `pip install -e .` declares.

The definitions are a small housing centre app written into `tmp_path`: households with a
`mobile_number` phone and a flow that runs `elderly_priority`, and their members. The
database is SQLite in `tmp_path`; the app is driven over HTTP as `admin`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app

ADMIN_PASSWORD = "Example-Admin-2026"

pytestmark = pytest.mark.skipif(
    "example" not in metadata.entry_points(group="anju.plugins").names,
    reason="the package is not installed: run `pip install -e .` with Anju's pip",
)

DEFINITIONS: dict[str, dict[str, Any]] = {
    "centre/app.yaml": {"label": {"zh": "住房保障中心", "en": "Housing centre"}},
    "centre/roles.yaml": {"roles": {"officer": {"label": {"zh": "经办", "en": "Officer"}}}},
    "centre/entities/household.yaml": {
        "label": {"zh": "家庭", "en": "Household"},
        "fields": {
            "name": {"type": "string", "required": True, "max_length": 50},
            "phone": {"type": "mobile_number", "label": {"zh": "联系电话", "en": "Mobile"}},
            "priority_report": {"type": "json"},
        },
        "title_field": "name",
    },
    "centre/entities/member.yaml": {
        "label": {"zh": "家庭成员", "en": "Member"},
        "fields": {
            "household": {"type": "reference", "entity": "household", "on_delete": "cascade"},
            "name": {"type": "string", "required": True, "max_length": 30},
            "birth_date": {"type": "date", "required": True},
        },
    },
    "centre/flows/household.yaml": {
        "entity": "household",
        "initial": "draft",
        "params": {"elderly_age": 60, "elderly_members": "centre.member"},
        "states": {
            "draft": {"category": "draft", "editable": "all"},
            "assessed": {
                "category": "done",
                "on_enter": [{"check": "elderly_priority", "store": "priority_report"}],
            },
        },
        "transitions": {"assess": {"from": "draft", "to": "assessed", "submitter": True}},
    },
}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """Anju with the definitions above and only entry-point plugins, logged in as admin."""
    for name in list(os.environ):
        if name.startswith("ANJU_"):
            monkeypatch.delenv(name)  # the test's settings, not the developer's
    for relative, content in DEFINITIONS.items():
        path = tmp_path / "apps_config" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=tmp_path / "apps_config",
        admin_password=ADMIN_PASSWORD,
        plugins=[],  # no built-ins: this plugin alone, from its entry point
        job_threads=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    with TestClient(create_app(settings)) as test_client:
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        token = test_client.post("/api/auth/token", json=login).json()["access_token"]
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def test_anju_lists_the_plugin_from_its_entry_point(client: TestClient) -> None:
    listed = {p["name"]: p for p in client.get("/api/meta/plugins").json()["items"]}

    example = listed["example"]
    assert (example["version"], example["status"], example["error"]) == ("0.1.0", "active", None)
    assert (example["source"], example["module"]) == ("entry point", "anju_example.plugin")
    assert example["hooks"] == ["anju_checks", "anju_field_types"]


def test_a_mobile_number_field_stores_the_normalised_number(client: TestClient) -> None:
    created = client.post(
        "/api/centre/household", json={"name": "王", "phone": "+86 138-0013-8000"}
    )

    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "13800138000"  # admin may unmask


def test_a_mobile_number_field_refuses_a_bad_number_naming_the_field(client: TestClient) -> None:
    refused = client.post("/api/centre/household", json={"name": "王", "phone": "12800138000"})

    assert refused.status_code == 422, refused.text
    [detail] = refused.json()["error"]["details"]
    assert detail["path"] == "phone"
    assert "11 位数字" in detail["message"]
    assert client.get("/api/centre/household").json()["count"] == 0


def test_the_flow_stores_the_elderly_priority_with_its_inputs(client: TestClient) -> None:
    household = client.post("/api/centre/household", json={"name": "王"}).json()
    for name, born in (("王建国", "1950-05-01"), ("王小明", "2015-09-01")):
        member = {"household": household["id"], "name": name, "birth_date": born}
        assert client.post("/api/centre/member", json=member).status_code == 201

    moved = client.post(f"/api/centre/household/{household['id']}/transitions/assess", json={})

    assert moved.status_code == 200, moved.text
    report = moved.json()["priority_report"]
    assert report["check"] == "elderly_priority"
    assert (report["plugin"], report["plugin_version"]) == ("example", "0.1.0")
    assert report["passed"] is True
    assert len(report["reasons"]) == 1 and "年满 60 周岁" in report["reasons"][0]
    assert [m["birth_date"] for m in report["inputs"]["members"]] == ["1950-05-01", "2015-09-01"]
    rerun = client.post("/api/checks/rerun", json=report).json()
    assert rerun["same"] is True
