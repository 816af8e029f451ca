"""A small permit flow on the estate app, for the flow engine's tests.

`permit` records go draft → checking (the `amount_ok` check) → review (two manager steps,
the second switched by `params.second_review`) → publicity (3 working days, a reminder after
one day) → granted (a certificate document); refusal needs a 15-character note; the clerk
who created a permit may withdraw it; a reviewer may send it back a step, or to `returned`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.flows.checks import Check, CheckInput, CheckResult
from engine.runtime import Runtime
from engine.settings import Settings
from plugins.hookspecs import hookimpl
from renderers.app import create_app
from tests.databases import estate_settings
from tests.definitions import Folder, estate, write_folder
from tests.identity import authorize

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Shanghai


PLUGIN_NAME = "permit_checks"  # this module is also the plugin of the permit flow's check


def gather_amount(given: CheckInput) -> dict[str, Any]:
    return {"amount": given.record.get("amount") or 0}


def decide_amount(inputs: Mapping[str, Any], params: Mapping[str, Any], today: date) -> CheckResult:
    """Amounts up to 1,000 pass; above, the permit goes back to its clerk."""
    amount = inputs["amount"]
    passed = amount <= params.get("amount_limit", 1000)
    reasons = [] if passed else [f"amount {amount} is above the limit"]
    return CheckResult(passed, reasons, "green" if passed else "red")


AMOUNT_OK = Check("amount_ok", gather_amount, decide_amount, version="1.2")


@hookimpl
def anju_checks(settings: Settings) -> list[Check]:
    return [AMOUNT_OK]


PERMIT_FLOW: dict[str, Any] = {
    "entity": "permit",
    "label": {"zh": "许可审批", "en": "Permit approval"},
    "initial": "draft",
    "params": {"publicity_days": 3, "second_review": True, "amount_limit": 1000},
    "states": {
        "draft": {"label": {"zh": "草稿", "en": "Draft"}, "category": "draft", "editable": "all"},
        "checking": {"on_enter": [{"check": "amount_ok", "store": "check_report"}]},
        "review": {
            "label": {"zh": "审核", "en": "Review"},
            "editable": ["note"],
            "approval": {
                "steps": [
                    {"name": "first", "assignee": {"role": "manager"}},
                    {
                        "name": "second",
                        "assignee": {"role": "manager"},
                        "when": "params.second_review",
                    },
                ]
            },
        },
        "publicity": {
            "on_enter": [{"set": {"decided_on": "today"}}],
            "timers": [
                {
                    "name": "publicity_over",
                    "after": "params.publicity_days",
                    "unit": "working_days",
                    "transition": "publicity_ends",
                },
                {
                    "name": "reminder",
                    "after": 1,
                    "actions": [
                        {"notify": {"role": "manager"}, "title": "公示中：{{ record.title }}"}
                    ],
                },
            ],
        },
        "granted": {
            "category": "done",
            "on_enter": [{"document": "permit_certificate", "store": "certificate"}],
        },
        "refused": {"category": "rejected"},
        "returned": {"category": "draft", "editable": "all"},
        "withdrawn": {"category": "rejected"},
    },
    "transitions": {
        "submit": {"from": ["draft", "returned"], "to": "checking", "roles": ["clerk"]},
        "check_passed": {
            "from": "checking",
            "to": "review",
            "trigger": "auto",
            "when": "checks.amount_ok",
        },
        "check_failed": {"from": "checking", "to": "returned", "trigger": "auto"},
        "approve": {"from": "review", "to": "publicity", "approve": True},
        "send_back": {
            "from": "review",
            "to": "returned",
            "return_step": True,
            "comment": {"required": True},
        },
        "refuse": {
            "from": "review",
            "to": "refused",
            "fields": ["note"],
            "required": ["note"],
            "rules": [
                {
                    "when": "len(note) < 15",
                    "message": {
                        "zh": "驳回原因不少于 15 个字",
                        "en": "give at least 15 characters",
                    },
                    "field": "note",
                }
            ],
        },
        "publicity_ends": {"from": "publicity", "to": "granted", "trigger": "timer"},
        "withdraw": {
            "from": ["checking", "review", "publicity"],
            "to": "withdrawn",
            "submitter": True,
            "comment": {"required": True, "min_length": 4},
        },
    },
}


def permit_folder() -> Folder:
    folder = estate()
    folder["estate/roles.yaml"]["roles"].update(
        {"clerk": {"label": "经办"}, "reviewer": {"label": "复核"}}
    )
    folder["estate/entities/permit.yaml"] = {
        "label": {"zh": "许可", "en": "Permit"},
        "fields": {
            "title": {"type": "string", "required": True, "max_length": 100},
            "amount": {"type": "integer", "min": 0},
            "note": {"type": "text", "max_length": 500},
            "decided_on": {"type": "date"},
            "certificate": {"type": "file"},
            "check_report": {"type": "json"},
        },
        "title_field": "title",
        "permissions": {
            "clerk": {
                "actions": ["read", "create", "update"],
                "scope": "org_subtree",
                "fields": {"note": "hidden"},
            },
            "manager": {"actions": ["read", "update"], "scope": "org_subtree"},
        },
    }
    folder["estate/flows/permit.yaml"] = PERMIT_FLOW
    folder["estate/templates/permit_certificate.yaml"] = {
        "label": "许可证",
        "body": (
            "<h1>许可证 {{ record.title }}</h1>"
            "<p>{{ labels.decided_on }}：{{ record.decided_on }}</p>"
        ),
    }
    return folder


def permit_settings(root: Path, database_url: str | None, **overrides: Any) -> Settings:
    overrides.setdefault("plugins", ["plugins.builtin", __name__])
    settings = estate_settings(root, database_url, **overrides)
    write_folder(settings.apps_config, permit_folder())
    return settings


@contextmanager
def permit_client(settings: Settings) -> Iterator[tuple[TestClient, Runtime, FixedClock]]:
    """The app over HTTP as admin, with a clock standing at `START`."""
    clock = FixedClock(START)
    runtime = Runtime.create(settings, clock)
    with TestClient(create_app(runtime=runtime)) as client:
        authorize(client)
        yield client, runtime, clock
