"""Device rules on new readings: ingest hands each device's accepted readings on after its
commit (`iot.readings.on_readings`), and every enabled reading rule of the device's type
looks at them, oldest reading first, highest priority first.

Most readings change nothing (the condition does not hold and no streak was running): those
are settled with reads only. Otherwise one write transaction advances the rules' states,
opens alerts, requests commands and logs the runs. A reading also ends the silence of the
device's absence rules, resolving their alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.alerts.raising import resolve_alert
from engine.catalog import Catalog
from engine.database import write_transaction
from iot.readings import Reading, on_readings
from iot.registry import Device
from iot.rules.actions import carry_out, plan
from iot.rules.compile import CompiledDeviceRule, rules_for
from iot.rules.facts import Facts, environment, load_facts, moment_of, variables
from iot.rules.state import RuleState, Step, advance, load_states, save_states

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger("anju.iot.rules")
StateKey = tuple[str, str, int]


@dataclass(frozen=True)
class Round:
    """The rules of one device on one reading: each rule's step, in priority order."""

    reading: Reading
    moment: datetime
    variables: dict[str, Any]
    steps: list[tuple[CompiledDeviceRule, Step]]


def rounds(
    rules: Sequence[CompiledDeviceRule],
    device: Device,
    facts: Facts,
    readings: Sequence[Reading],
    states: dict[StateKey, RuleState],
    timezone: str,
) -> Iterator[Round]:
    """Run the rules over the readings, advancing `states` in place; one round per reading.
    A condition that fails on a reading (a value of an unexpected shape) counts as false."""
    for reading in readings:
        moment = moment_of(reading.ts)
        found: list[tuple[CompiledDeviceRule, Step]] = []
        given = variables(facts, rules[0].device_type, reading) if rules else {}
        for rule in rules:
            held = _holds(rule, facts, given, moment, timezone)
            key = (rule.app, rule.name, device.id)
            states[key], step = advance(
                rule, states.get(key, RuleState()), held, reading.ts, moment
            )
            found.append((rule, step))
        yield Round(reading, moment, given, found)


@on_readings
def evaluate_readings(
    runtime: Runtime, catalog: Catalog, device: Device, readings: list[Reading]
) -> None:
    """The listener ingest calls after each commit."""
    if not device.active:
        return
    rules = rules_for(catalog, device.type_name, "reading")
    absent = rules_for(catalog, device.type_name, "absence")
    if not rules and not absent:
        return
    keys = [(r.app, r.name) for r in [*rules, *absent]]
    baseline_before = readings[0].ts if any(r.reads_baseline for r in rules) else None
    with runtime.engine.connect() as conn:
        device_type = (rules or absent)[0].device_type
        facts = load_facts(conn, catalog, device, device_type, baseline_before)
        states = load_states(conn, [device.id], keys)
    before = dict(states)
    for _ in rounds(rules, device, facts, readings, states, catalog.options.timezone):
        pass
    silences = [r for r in absent if states.get((r.app, r.name, device.id), RuleState()).streak]
    if states == before and not silences:
        return
    with write_transaction(runtime.engine) as conn:
        apply_readings(conn, runtime, catalog, device, rules, absent, facts, readings)


def apply_readings(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    device: Device,
    rules: Sequence[CompiledDeviceRule],
    absent: Sequence[CompiledDeviceRule],
    facts: Facts,
    readings: Sequence[Reading],
) -> None:
    """Advance the rules over the readings in the caller's transaction: fire, resolve, save."""
    keys = [(r.app, r.name) for r in [*rules, *absent]]
    states = load_states(conn, [device.id], keys)
    before = dict(states)
    now = runtime.clock.now()
    timezone = catalog.options.timezone
    for round_ in rounds(rules, device, facts, readings, states, timezone):
        commanded: set[int] = set()
        for rule, step in round_.steps:
            if step.fires:
                planned = plan(
                    conn, catalog, rule, device, round_.variables, round_.moment, commanded
                )
                detail = {"reading": round_.reading.ts, "values": dict(round_.reading.values)}
                carry_out(conn, runtime, catalog, planned, round_.moment, "reading", detail)
            elif step.ended and rule.definition.alert is not None:
                resolve_alert(conn, runtime, rule.app, rule.name, device.id, now, "condition ended")
    for rule in absent:
        key = (rule.app, rule.name, device.id)
        state = states.get(key)
        if state is not None and state.streak:
            states[key] = RuleState(None, 0, state.fired_at)
            if rule.definition.alert is not None:
                resolve_alert(conn, runtime, rule.app, rule.name, device.id, now, "heard again")
    save_states(conn, {k: v for k, v in states.items() if before.get(k) != v}, now)


def _holds(
    rule: CompiledDeviceRule,
    facts: Facts,
    given: dict[str, Any],
    moment: datetime,
    timezone: str,
) -> bool:
    if rule.condition is None:
        return True
    try:
        return rule.condition.test(facts.device, environment(given, moment, timezone))
    except (TypeError, ValueError, ArithmeticError) as exc:
        log.warning("device rule %s failed on device %s: %s", rule.key, facts.device.get("id"), exc)
        return False
