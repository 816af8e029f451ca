"""Bad alert rules are definition errors naming file and path: unknown entity, roles and
fields, escalation going down, a date-less `as_of`, templates and cron that do not parse,
and conditions or recipient expressions that are not SQL-expressible conditions. A good
folder loads; `run.py check` reports the same errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import run
from engine.expressions.definitions import load_definitions
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from tests.definitions import write_folder
from tests.engine.alerts.world import HIGH_RENT, VACANT_UNIT, alert_folder

FILE = "estate/alerts/vacant_unit.yaml"


def errors_of(root: Path, rule: dict[str, Any]) -> list[tuple[str, str, str]]:
    write_folder(root, alert_folder(vacant_unit=rule, high_rent=HIGH_RENT))
    with pytest.raises(DefinitionsInvalid) as raised:
        load_definitions(read_folder(root))
    return [(e.file, e.path, e.message) for e in raised.value.errors]


def changed(**values: Any) -> dict[str, Any]:
    rule = copy.deepcopy(VACANT_UNIT)
    for dotted, value in values.items():
        *parents, last = dotted.split("__")
        target = rule
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    return rule


def test_the_alert_folder_loads(tmp_path: Path) -> None:
    definitions = load_definitions(read_folder(write_folder(tmp_path, alert_folder())))
    assert sorted(definitions.apps["estate"].alerts) == [
        "high_rent",
        "morning_check",
        "vacant_unit",
    ]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"entity": "flat"}, "entity", "unknown entity 'flat'"),
        ({"recipients__0__role": "mayor"}, "recipients[0].role", "unknown role 'mayor'"),
        (
            {"recipients": [{"field": "rent"}]},
            "recipients[0].field",
            "'rent' is not a string field",
        ),
        (
            {"escalation__severity": "yellow", "escalation__recipients": []},
            "escalation.severity",
            "an escalation at the rule's own severity 'yellow' must add recipients",
        ),
        (
            {"severity": "orange", "escalation__severity": "yellow"},
            "escalation.severity",
            "an escalation never lowers the severity: 'yellow' is below the rule's 'orange'",
        ),
        (
            {"escalation__recipients": [{"role": "nobody"}]},
            "escalation.recipients[0].role",
            "unknown role 'nobody'",
        ),
        ({"as_of": "code"}, "as_of", "'code' is not a date or datetime field"),
        (
            {"message__title__zh": "房屋 {{ record.code }"},
            "message.title.zh",
            "template line 1: unexpected '}'",
        ),
        ({"message__body__en": "{% if %}"}, "message.body.en", "template line 1"),
        ({"schedule": {"cron": "61 * * * *"}}, "schedule.cron", "minute: 61 is outside 0–59"),
        ({"channels": ["in_app", "in_app"]}, "channels", "a channel is listed twice"),
    ],
)
def test_a_bad_rule_names_file_and_path(
    tmp_path: Path, change: dict[str, Any], path: str, message: str
) -> None:
    found = errors_of(tmp_path, changed(**change))
    assert any(f == FILE and p == path and message in m for f, p, m in found), found


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"condition": "stauts == 'vacant'"}, "condition", "stauts"),
        ({"condition": "rent + 1"}, "condition", "must be a condition"),
        (
            {"condition": "add_working_days(let_on, 3) < today"},
            "condition",
            "add_working_days",
        ),
        ({"recipients": [{"expression": "rent"}]}, "recipients[0].expression", "a username"),
    ],
)
def test_conditions_and_recipient_expressions_are_checked_with_their_column(
    tmp_path: Path, change: dict[str, Any], path: str, message: str
) -> None:
    found = errors_of(tmp_path, changed(**change))
    assert any(f == FILE and p == path and message in m for f, p, m in found), found


def test_run_py_check_reports_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = alert_folder(vacant_unit=changed(condition="rent > 'x'"))
    monkeypatch.setenv("ANJU_APPS_CONFIG", str(write_folder(tmp_path / "apps_config", folder)))
    monkeypatch.setenv("ANJU_DATA_DIR", str(tmp_path / "var"))
    assert run.main(["check"]) == 1
    [line, *_] = capsys.readouterr().err.splitlines()[1:]
    assert line.startswith(f"  {FILE}:") and ": condition: " in line and "(column " in line
