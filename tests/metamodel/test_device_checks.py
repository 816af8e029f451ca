"""Semantic checks of device types and device rules: each mistake is refused with its file
and path, and a sound pair loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metamodel.errors import DefinitionsInvalid
from metamodel.loader import build_definitions, read_folder
from tests.definitions import APP, estate, write_folder

METER = {
    "driver": "meter",
    "telemetry": {
        "volume": {"type": "number", "cumulative": True},
        "flow": {"type": "number"},
        "state": {"type": "string", "enum": ["ok", "leak"]},
    },
    "commands": {"close_valve": {"risk": "high"}},
}


def rule(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "device_type": "meter",
        "trigger": {"reading": True},
        "condition": "delta.volume > baseline.flow",
        "alert": {
            "message": {"title": {"en": "{{ device.code }}"}},
            "recipients": [{"role": "auditor"}],
        },
        "commands": [{"command": "close_valve"}],
    }
    found.update(changes)
    return found


def load(tmp_path: Path, meter: dict[str, Any], leak: dict[str, Any], **more: Any) -> Any:
    folder = estate()
    folder[f"{APP}/device_types/meter.yaml"] = meter
    folder[f"{APP}/device_rules/leak.yaml"] = leak
    folder.update(more)
    return build_definitions(read_folder(write_folder(tmp_path, folder)))


def test_a_sound_device_type_and_rule_load(tmp_path: Path) -> None:
    definitions = load(tmp_path, METER, rule())
    assert "leak" in definitions.apps[APP].device_rules


@pytest.mark.parametrize(
    ("meter", "leak", "path", "message"),
    [
        (METER, rule(device_type="pump"), "device_type", "unknown device type 'pump'"),
        (METER, rule(condition="values.colour > 1"), "condition", "reports no field 'colour'"),
        (METER, rule(condition="delta.flow > 1"), "condition", "only cumulative fields"),
        (METER, rule(condition="baseline.state == 'ok'"), "condition", "only number fields"),
        (METER, rule(commands=[{"command": "explode"}]), "commands[0].command",
         "meter has no command 'explode'"),
        (METER, rule(commands=[{"command": "x", "target": "unit", "device_type": "pump"}]),
         "commands[0].device_type", "unknown device type 'pump'"),
        (METER, rule(alert={"message": {"title": {"en": "x"}}, "recipients": [{"role": "ghost"}]}),
         "alert.recipients[0].role", "unknown role 'ghost'"),
        (METER, rule(alert={**rule()["alert"], "recipients": [{"role": "auditor", "org": "'X'"}]}),
         "alert.recipients[0].org", "a device rule's alert goes to role holders over the device's"),
        (METER, rule(alert={**rule()["alert"], "message": {"title": {"en": "{{ x"}}}),
         "alert.message.title.en", "template line 1"),
        ({**METER, "telemetry": {"volume": {"type": "number", "enum": ["1"]}}}, rule(condition=None,
         trigger={"absence": "1h"}), "telemetry.volume.enum", "only string fields take an enum"),
        ({**METER, "telemetry": {"flow": {"type": "number", "min": 5, "max": 1}}},
         rule(condition=None, trigger={"absence": "1h"}), "telemetry.flow.min", "above max"),
    ],
)  # fmt: skip
def test_mistakes_are_refused_by_file_and_path(
    tmp_path: Path, meter: dict[str, Any], leak: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(DefinitionsInvalid) as invalid:
        load(tmp_path, meter, leak)

    found = [(e.file, e.path, e.message) for e in invalid.value.errors]
    assert any(p == path and message in m for _, p, m in found), found
    assert any(
        f.endswith(("device_rules/leak.yaml", "device_types/meter.yaml")) for f, _, _ in found
    )


def test_device_type_names_are_unique_across_apps(tmp_path: Path) -> None:
    other = {"other/app.yaml": {"label": {"en": "Other"}}, "other/device_types/meter.yaml": METER}
    with pytest.raises(DefinitionsInvalid) as invalid:
        load(tmp_path, METER, rule(), **other)

    messages = [(e.file, e.path, e.message) for e in invalid.value.errors]
    assert any("also defined by app" in m and p == "name" for _, p, m in messages), messages
