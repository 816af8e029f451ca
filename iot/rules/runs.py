"""The device rules as configured, with their last run, and each rule's execution log
(`anju_device_rule_run`: one line per firing, with the alert and commands it led to)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.errors import NotFound
from iot.rules.compile import resolve_type
from iot.tables import rule_runs
from metamodel.devices import DeviceRule
from metamodel.labels import pick


def list_rules(conn: sa.Connection, catalog: Catalog, language: str = "zh") -> list[dict[str, Any]]:
    """Every device rule of every app (disabled ones too), highest priority first."""
    last = {
        (row.app, row.rule): (row.at, row.runs)
        for row in conn.execute(
            sa.select(
                rule_runs.c.app,
                rule_runs.c.rule,
                sa.func.max(rule_runs.c.at).label("at"),
                sa.func.count().label("runs"),
            ).group_by(rule_runs.c.app, rule_runs.c.rule)
        )
    }
    found = []
    for app, bundle in catalog.definitions.apps.items():
        for rule in bundle.device_rules.values():
            at, runs = last.get((app, rule.name), (None, 0))
            found.append(
                {**rule_view(catalog, app, rule, language), "last_run_at": at, "runs": runs}
            )
    return sorted(found, key=lambda r: (-r["priority"], r["app"], r["name"]))


def rule_view(catalog: Catalog, app: str, rule: DeviceRule, language: str) -> dict[str, Any]:
    resolved = resolve_type(catalog.definitions, app, rule.device_type)
    trigger = rule.trigger.model_dump(exclude_defaults=True)
    return {
        "app": app,
        "name": rule.name,
        "label": pick(rule.label, language, rule.name),
        "device_type": resolved[0] if resolved else rule.device_type,
        "trigger": trigger,
        "condition": rule.condition,
        "sustain": rule.sustain.model_dump(exclude_none=True) if rule.sustain else None,
        "priority": rule.priority,
        "severity": rule.alert.severity if rule.alert else None,
        "commands": [c.command for c in rule.commands],
        "cooldown": rule.cooldown,
        "enabled": rule.enabled,
    }


def list_runs(
    conn: sa.Connection,
    catalog: Catalog,
    app: str,
    name: str,
    cursor: int | None,
    limit: int,
    device_id: int | None = None,
) -> dict[str, Any]:
    """`{"items", "next_cursor"}`: the rule's runs, newest first, `limit` per page."""
    bundle = catalog.definitions.apps.get(app)
    if bundle is None or name not in bundle.device_rules:
        raise NotFound(f"no device rule {app}/{name}")
    query = sa.select(rule_runs).where(rule_runs.c.app == app, rule_runs.c.rule == name)
    if device_id is not None:
        query = query.where(rule_runs.c.device_id == device_id)
    if cursor is not None:
        query = query.where(rule_runs.c.id < cursor)
    rows = conn.execute(query.order_by(rule_runs.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [
        {
            "id": row["id"],
            "device": row["device_id"],
            "at": row["at"],
            "trigger": row["trigger"],
            "outcome": json.loads(row["outcome"]),
        }
        for row in rows[:limit]
    ]
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1]["id"]) if len(rows) > limit else None,
    }
