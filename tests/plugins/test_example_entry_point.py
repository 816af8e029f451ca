"""The example third-party plugin (`plugins/examples/anju-example-plugin`), installed in the
environment as `scripts/_venv.sh` installs it, found through the `anju.plugins` entry point:
listed, its `elderly_priority` check run by a flow and its `mobile_number` field type used by
an entity.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.runtime import Runtime
from engine.settings import Settings
from plugins.manager import build_extensions
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import Folder, estate, write_folder
from tests.flows import START
from tests.identity import authorize

pytestmark = pytest.mark.skipif(
    "example" not in metadata.entry_points(group="anju.plugins").names,
    reason="the example plugin is not installed: "
    "pip install -e plugins/examples/anju-example-plugin (scripts/_venv.sh does)",
)


def centre_folder(phone: bool = False) -> Folder:
    """The estate app with households (a flow runs `elderly_priority` on them) and their
    members; with `phone`, households have a `mobile_number` field."""
    folder = estate()
    fields: dict[str, Any] = {
        "name": {"type": "string", "required": True, "max_length": 50},
        "priority_report": {"type": "json"},
    }
    if phone:
        fields["phone"] = {"type": "mobile_number"}
    folder["estate/entities/household.yaml"] = {"fields": fields, "title_field": "name"}
    folder["estate/entities/member.yaml"] = {
        "fields": {
            "household": {"type": "reference", "entity": "household", "on_delete": "cascade"},
            "birth_date": {"type": "date", "required": True},
        },
    }
    folder["estate/flows/household.yaml"] = {
        "entity": "household",
        "initial": "draft",
        "params": {"elderly_age": 65, "elderly_members": "estate.member"},
        "states": {
            "draft": {"category": "draft", "editable": "all"},
            "assessed": {
                "category": "done",
                "on_enter": [{"check": "elderly_priority", "store": "priority_report"}],
            },
        },
        "transitions": {"assess": {"from": "draft", "to": "assessed", "submitter": True}},
    }
    return folder


def serving(root: Path, database_url: str | None, folder: Folder) -> Iterator[TestClient]:
    """The app over HTTP as admin, on `folder`, on Monday 2 March 2026."""
    settings = estate_settings(root, database_url)
    write_folder(settings.apps_config, folder)
    runtime = Runtime.create(settings, FixedClock(START))
    with TestClient(create_app(runtime=runtime)) as client:
        authorize(client)
        yield client


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    yield from serving(tmp_path, database_url, centre_folder())


@pytest.fixture
def with_phone(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    yield from serving(tmp_path, database_url, centre_folder(phone=True))


def test_the_example_is_listed_from_its_entry_point(client: TestClient) -> None:
    listed = {p["name"]: p for p in client.get("/api/meta/plugins").json()["items"]}

    assert listed["example"] == {
        "name": "example",
        "version": "0.1.0",
        "source": "entry point",
        "module": "anju_example.plugin",
        "status": "active",
        "error": None,
        "hooks": ["anju_checks", "anju_field_types"],
        "description": (
            "The example plugin's hooks: a `mobile_number` field type and an "
            "`elderly_priority` check."
        ),
    }


def test_its_check_runs_in_a_flow_and_its_decision_reruns(client: TestClient) -> None:
    household = client.post("/api/estate/household", json={"name": "王"}).json()
    for born in ("1958-03-02", "1961-03-03"):  # 68 and 64 on 2 March 2026
        member = {"household": household["id"], "birth_date": born}
        assert client.post("/api/estate/member", json=member).status_code == 201

    moved = client.post(f"/api/estate/household/{household['id']}/transitions/assess", json={})

    assert moved.status_code == 200, moved.text
    report = moved.json()["priority_report"]
    assert (report["check"], report["plugin"], report["plugin_version"]) == (
        "elderly_priority",
        "example",
        "0.1.0",
    )
    assert report["params"]["elderly_age"] == 65
    assert report["passed"] is True
    assert [m["birth_date"] for m in report["inputs"]["members"]] == ["1958-03-02", "1961-03-03"]
    assert report["today"] == "2026-03-02"
    member = report["inputs"]["members"][0]["member"]
    assert report["reasons"] == [f"家庭成员 #{member} 年满 65 周岁（68 岁），享受老年人优先"]
    assert client.post("/api/checks/rerun", json=report).json()["same"] is True


def test_its_field_type_stores_a_normalised_number_and_refuses_a_bad_one(
    with_phone: TestClient,
) -> None:
    created = with_phone.post(
        "/api/estate/household", json={"name": "王", "phone": "+86 138-0013-8000"}
    )
    refused = with_phone.post("/api/estate/household", json={"name": "李", "phone": "12800138000"})

    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "13800138000"
    assert refused.status_code == 422, refused.text
    assert [d["path"] for d in refused.json()["error"]["details"]] == ["phone"]


def test_anju_plugins_disabled_leaves_the_example_out() -> None:
    enabled = build_extensions(Settings(plugins=[]))
    disabled = build_extensions(Settings(plugins=[], plugins_disabled=["example"]))

    assert enabled.plugin("example") is not None
    assert "elderly_priority" in enabled.checks and "mobile_number" in enabled.field_types
    assert disabled.plugin("example") is None
    assert "elderly_priority" not in disabled.checks
    assert "mobile_number" not in disabled.field_types
