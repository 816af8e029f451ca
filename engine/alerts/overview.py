"""The rules at a glance, for `GET /api/alerts/rules`: each rule's definition summary, its
last and next scan, how many records matched, and how many of its alerts are unresolved."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.alerts.rules import rules_of
from engine.alerts.state import read_states
from engine.alerts.statuses import RESOLVED
from engine.alerts.tables import alerts
from engine.catalog import Catalog
from metamodel.labels import pick


def list_rules(conn: sa.Connection, catalog: Catalog, language: str = "zh") -> list[dict[str, Any]]:
    """Every rule of the catalog, ordered by app and name."""
    states = read_states(conn)
    open_counts = {
        (row.app, row.rule): row.n
        for row in conn.execute(
            sa.select(alerts.c.app, alerts.c.rule, sa.func.count().label("n"))
            .where(alerts.c.status != RESOLVED)
            .group_by(alerts.c.app, alerts.c.rule)
        )
    }
    found = []
    for key, rule in sorted(rules_of(catalog).items()):
        definition = rule.definition
        state = states.get(key, {})
        found.append(
            {
                "app": rule.app,
                "name": rule.name,
                "label": pick(definition.label, language, rule.name),
                "description": pick(definition.description, language),
                "family": definition.family,
                "entity": rule.entity.path,
                "severity": definition.severity,
                "schedule": definition.schedule.model_dump(exclude_defaults=True),
                "channels": list(definition.channels),
                "enabled": definition.enabled,
                "auto_resolve": definition.auto_resolve,
                "escalation": definition.escalation.model_dump() if definition.escalation else None,
                "last_scan_at": state.get("last_scan_at"),
                "next_scan_at": state.get("next_scan_at"),
                "last_matched": state.get("last_matched"),
                "last_error": state.get("last_error"),
                "open": open_counts.get(key, 0),
            }
        )
    return found
