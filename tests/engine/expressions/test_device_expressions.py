"""Device rules' expressions are checked as definitions load: a condition that does not fit
its device type refuses the definitions with file and path — when the folder is loaded, when
the studio stores a draft and when a draft is published — and a sound one compiles to a
closure over what a reading offers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.database import create_database_engine
from engine.expressions import Environment, builtin_functions
from engine.expressions.definitions import load_definitions
from engine.expressions.device_expressions import compile_device_expressions
from engine.settings import Settings
from metamodel import store
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import Folder, estate, to_yaml, write_folder
from tests.identity import authorize

RULE_FILE = "devices/device_rules/leak.yaml"
RULE_URL = "/api/meta/definitions/devices/device_rule/leak"
YAML = {"content-type": "application/yaml"}
DEVICES: Folder = {
    "devices/app.yaml": {"label": {"en": "Devices"}},
    "devices/entities/device.yaml": {
        "fields": {
            "code": {"type": "string", "required": True, "unique": True},
            "device_type": {"type": "string", "required": True},
            "housing_unit": {"type": "reference", "entity": "estate.unit"},
            "status": {"type": "string"},
            "attributes": {"type": "text"},
        },
    },
    "devices/device_types/meter.yaml": {
        "driver": "meter",
        "telemetry": {
            "volume": {"type": "number", "cumulative": True},
            "flow": {"type": "number"},
            "state": {"type": "string", "enum": ["ok", "leak"]},
        },
    },
    "devices/device_types/lock.yaml": {
        "driver": "lock",
        "telemetry": {"battery": {"type": "integer"}},
        "attributes": {"keypad": {"type": "string"}},
    },
}


def rule(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "device_type": "meter",
        "trigger": {"reading": True},
        "condition": 'delta.volume > 0 and unit.status == "vacant"',
        "alert": {
            "message": {"title": {"en": "{{ device.code }}"}},
            "recipients": [{"role": "manager"}],
        },
    }
    found.update(changes)
    return found


def folder(leak: dict[str, Any], devices: bool = True) -> Folder:
    found = estate() | (DEVICES if devices else {})
    if not devices:
        found["estate/device_types/meter.yaml"] = DEVICES["devices/device_types/meter.yaml"]
    found[RULE_FILE if devices else "estate/device_rules/leak.yaml"] = leak
    return found


def load(tmp_path: Path, given: Folder) -> Any:
    return load_definitions(read_folder(write_folder(tmp_path / "apps_config", given)))


def test_a_sound_condition_runs_as_a_closure_over_a_reading(tmp_path: Path) -> None:
    definitions = load(tmp_path, folder(rule()))
    leak = definitions.apps["devices"].device_rules["leak"]

    expressions, problems = compile_device_expressions(
        definitions, builtin_functions(), "devices", leak
    )

    assert problems == [] and expressions.condition is not None
    moment = datetime(2026, 3, 1, 2, tzinfo=UTC)
    variables = {"delta": {"volume": Decimal("0.5")}, "unit": {"status": "vacant"}}
    env = Environment(today=date(2026, 3, 1), now=moment, variables=variables)
    assert expressions.condition.test({"code": "M-1"}, env) is True
    variables["unit"] = {"status": "let"}
    assert expressions.condition.test({"code": "M-1"}, env) is False


@pytest.mark.parametrize(
    ("leak", "path", "message"),
    [
        (rule(condition="colour > 1"), "condition", "unknown field 'colour'"),
        (rule(condition="values.flow > 'high'"), "condition", "cannot compare"),
        (rule(condition="values.state == 'burst'"), "condition", "'burst'"),
        (rule(condition="values.flow * 2"), "condition", "must be a condition"),
        (rule(condition="device.keypad == '1'"), "condition", "no attribute 'keypad'"),
        (rule(condition="unit.colour == 'red'"), "condition", "no attribute 'colour'"),
        (rule(alert={**rule()["alert"], "recipients": [{"expression": "values.flow"}]}),
         "alert.recipients[0].expression", "must give a username"),
        (rule(condition=None, trigger={"cron": "0 99 * * *"}), "trigger.cron", "hour"),
    ],
)  # fmt: skip
def test_a_rule_that_does_not_fit_its_type_is_refused_by_file_and_path(
    tmp_path: Path, leak: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(DefinitionsInvalid) as invalid:
        load(tmp_path, folder(leak))

    found = [(e.file, e.path, e.message) for e in invalid.value.errors]
    assert [(f, p) for f, p, _ in found] == [(RULE_FILE, path)], found
    assert message in found[0][2], found
    assert RULE_FILE in str(invalid.value)


def test_device_rules_need_the_device_entity(tmp_path: Path) -> None:
    with pytest.raises(DefinitionsInvalid) as invalid:
        load(tmp_path, folder(rule(), devices=False))

    [error] = invalid.value.errors
    assert (error.file, error.path) == ("estate/device_rules/leak.yaml", "device_type")
    assert "devices.device" in error.message


@pytest.fixture
def devices_settings(tmp_path: Path, database_url: str | None) -> Settings:
    settings = estate_settings(tmp_path, database_url)
    write_folder(settings.apps_config, folder(rule()))
    return settings


@pytest.fixture
def client(devices_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(devices_settings)) as test_client:
        authorize(test_client)
        yield test_client


def error_details(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    return response.json()["error"]["details"]  # type: ignore[no-any-return]


def test_the_studio_refuses_a_draft_rule_that_does_not_fit(client: TestClient) -> None:
    bad = rule(condition="values.state > 70")
    [detail] = error_details(client.put(RULE_URL, content=to_yaml(bad), headers=YAML))

    assert (detail["file"], detail["path"]) == (RULE_FILE, "condition")
    assert "cannot compare" in detail["message"] and detail["column"] == 1
    assert client.get("/api/meta/draft").json() == []


def test_publishing_a_stored_draft_rule_that_does_not_fit_answers_422(
    client: TestClient, devices_settings: Settings
) -> None:
    """A draft stored before its rule was checked (an older release) cannot be published."""
    engine = create_database_engine(devices_settings)
    try:
        with engine.begin() as conn:
            key = ("devices", "device_rule", "leak")
            store.put_draft(conn, key, rule(condition="values.flow + 1"), "admin")
    finally:
        engine.dispose()

    published = client.post("/api/meta/publish", json={"message": "Leak on any flow"})

    [detail] = error_details(published)
    assert (detail["file"], detail["path"]) == (RULE_FILE, "condition")
    assert "must be a condition" in detail["message"]
    assert client.get("/-/health").json()["definitions_version"] == 1
