"""Absence rules: a device of the rule's type heard nothing for `trigger.absence` (a lock
silent for 45 minutes). A periodic sweep finds them by their state's `last_seen` and fires
once per silence — the rule's state remembers which silence (`since` = the `last_seen` it
fired for); the device's next reading ends the silence and resolves the alert
(`evaluate.apply_readings`). Devices never heard from have no silence to measure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.database import write_transaction
from iot.registry import device_entity
from iot.rules.actions import fire_timed
from iot.rules.compile import CompiledDeviceRule, compiled_rules
from iot.rules.facts import devices_of_type, latest_values, load_facts, millis
from iot.rules.state import RuleState, cooling, load_states, save_states
from iot.tables import device_states, rule_states

if TYPE_CHECKING:
    from engine.runtime import Runtime

BATCH = 500  # silent devices handled per rule and sweep; the next sweep takes the rest


def sweep_absences(runtime: Runtime, catalog: Catalog) -> list[dict[str, Any]]:
    """Fire every absence rule on the devices silent for longer than it allows; one
    transaction per rule. The outcomes of the firings."""
    outcomes = []
    for rule in compiled_rules(catalog):
        if rule.trigger == "absence":
            with write_transaction(runtime.engine) as conn:
                outcomes += sweep_rule(conn, runtime, catalog, rule)
    return outcomes


def sweep_rule(
    conn: sa.Connection, runtime: Runtime, catalog: Catalog, rule: CompiledDeviceRule
) -> list[dict[str, Any]]:
    """One absence rule over the silent devices of its type, in the caller's transaction."""
    assert rule.absence is not None
    now = runtime.clock.now()
    fresh = silent_devices(conn, catalog, rule, millis(now - rule.absence))
    chosen = sorted(fresh)
    states = load_states(conn, chosen, [(rule.app, rule.name)])
    values = latest_values(conn, chosen)
    changed: dict[tuple[str, str, int], RuleState] = {}
    outcomes = []
    for device in devices_of_type(conn, catalog, rule.type_name, chosen):
        key = (rule.app, rule.name, device.id)
        state = states.get(key, RuleState())
        last_seen = fresh[device.id]
        fired_at = state.fired_at
        if not cooling(rule, state, now):
            facts = load_facts(conn, catalog, device, rule.device_type)
            detail = {"last_seen": last_seen}
            outcome = fire_timed(
                conn, runtime, catalog, rule, device, facts, values.get(device.id, {}), now, detail
            )
            if outcome is not None:
                fired_at = now
                outcomes.append(outcome)
        changed[key] = RuleState(last_seen, 1, fired_at)
    save_states(conn, changed, now)
    return outcomes


def silent_devices(
    conn: sa.Connection, catalog: Catalog, rule: CompiledDeviceRule, before: int
) -> dict[int, int]:
    """Active devices of the rule's type last heard before `before` (ms) whose silence the
    rule has not seen yet: their last_seen by id, at most `BATCH`."""
    table = device_entity(catalog).table
    seen = sa.and_(
        rule_states.c.app == rule.app,
        rule_states.c.rule == rule.name,
        rule_states.c.device_id == device_states.c.device_id,
    )
    query = (
        sa.select(device_states.c.device_id, device_states.c.last_seen)
        .select_from(
            device_states.join(table, table.c.id == device_states.c.device_id).outerjoin(
                rule_states, seen
            )
        )
        .where(
            table.c.device_type == rule.type_name,
            table.c.status == "active",
            device_states.c.last_seen.is_not(None),
            device_states.c.last_seen < before,
            sa.or_(rule_states.c.since.is_(None), rule_states.c.since != device_states.c.last_seen),
        )
        .order_by(device_states.c.device_id)
        .limit(BATCH)
    )
    return {row.device_id: row.last_seen for row in conn.execute(query)}
