"""Scenes: device rules on a schedule (`every` an interval, or at `cron` times in the
settings' time zone), run on every active device of the rule's type whose latest values
meet its condition (if it has one) — the monthly self-test of every breaker.

Each scene has a clock row (`anju_device_rule_clock`): a worker claims a due run with a
conditional UPDATE moving `due_at` on from the value it read, and runs the scene in the same
transaction, so however many workers look, a scene runs once per due time.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.alerts.tables import dialect_insert
from engine.catalog import Catalog
from engine.database import write_transaction
from iot.rules.actions import fire_timed
from iot.rules.compile import CompiledDeviceRule, compiled_rules
from iot.rules.facts import devices_of_type, latest_values, load_facts
from iot.rules.state import RuleState, cooling, load_states, save_states
from iot.tables import rule_clocks

if TYPE_CHECKING:
    from engine.runtime import Runtime


def next_due(rule: CompiledDeviceRule, after: datetime, timezone: str) -> datetime | None:
    """The scene's first run time strictly after `after` (None: a cron that never fires)."""
    if rule.cron is not None:
        return rule.cron.next_after(after, timezone)
    assert rule.interval is not None
    return after + rule.interval


def run_due_scenes(runtime: Runtime, catalog: Catalog) -> list[dict[str, Any]]:
    """Run every scene whose time has come (one transaction each); what each did."""
    now = runtime.clock.now()
    timezone = catalog.options.timezone
    done = []
    for rule in compiled_rules(catalog):
        if rule.trigger != "schedule":
            continue
        with write_transaction(runtime.engine) as conn:
            due = ensure_clock(conn, rule, now, timezone)
            if due is None or due > now:
                continue
            following = next_due(rule, now, timezone)
            if not claim(conn, rule, due, following, now):
                continue
            outcomes = run_scene(conn, runtime, catalog, rule, now)
            done.append({"rule": rule.key, "due_at": due.isoformat(), "fired": len(outcomes)})
    return done


def ensure_clock(
    conn: sa.Connection, rule: CompiledDeviceRule, now: datetime, timezone: str
) -> datetime | None:
    """The scene's due time, creating its clock (first due after `now`) if it has none."""
    query = sa.select(rule_clocks.c.due_at).where(
        rule_clocks.c.app == rule.app, rule_clocks.c.rule == rule.name
    )
    due = conn.execute(query).scalar()
    if due is not None:
        return due  # type: ignore[no-any-return]
    first = next_due(rule, now, timezone)
    if first is None:
        return None
    values = {"app": rule.app, "rule": rule.name, "due_at": first}
    conn.execute(dialect_insert(conn, rule_clocks).values(**values).on_conflict_do_nothing())
    return conn.execute(query).scalar()  # type: ignore[no-any-return]


def claim(
    conn: sa.Connection,
    rule: CompiledDeviceRule,
    seen: datetime,
    following: datetime | None,
    now: datetime,
) -> bool:
    """Move the scene's clock from `seen` to `following`; True if this caller did. A cron that
    never fires again parks its clock far ahead of `now` rather than losing the row."""
    parked = following or now.replace(year=now.year + 100)
    result = conn.execute(
        rule_clocks.update()
        .where(
            rule_clocks.c.app == rule.app,
            rule_clocks.c.rule == rule.name,
            rule_clocks.c.due_at == seen,
        )
        .values(due_at=parked, ran_at=now)
    )
    return result.rowcount == 1


def run_scene(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    rule: CompiledDeviceRule,
    now: datetime,
) -> list[dict[str, Any]]:
    """Fire the scene on each active device of its type (condition and cooldown allowing),
    in the caller's transaction; the outcomes."""
    devices = devices_of_type(conn, catalog, rule.type_name)
    ids = [device.id for device in devices]
    states = load_states(conn, ids, [(rule.app, rule.name)])
    values = latest_values(conn, ids)
    changed: dict[tuple[str, str, int], RuleState] = {}
    outcomes = []
    for device in devices:
        key = (rule.app, rule.name, device.id)
        state = states.get(key, RuleState())
        if cooling(rule, state, now):
            continue
        facts = load_facts(conn, catalog, device, rule.device_type)
        detail = {"scheduled": now.isoformat()}
        outcome = fire_timed(
            conn, runtime, catalog, rule, device, facts, values.get(device.id, {}), now, detail
        )
        if outcome is not None:
            outcomes.append(outcome)
            changed[key] = RuleState(None, 0, now)
    save_states(conn, changed, now)
    return outcomes
