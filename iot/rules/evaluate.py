"""Device rules on new readings: ingest hands the accepted readings of all the devices of a
transaction on after its commit (`iot.readings.on_reading_batches`), and every enabled reading
rule of each device's type looks at that device's readings, oldest reading first, highest
priority first.

The devices' records, units, baselines and rule states are read for the whole batch at once
(a few `IN (...)` queries, not a few per device: a bridge batch mixes hundreds of devices);
devices whose type has no rules are skipped. Most readings change nothing (the condition does
not hold and no streak was running): those are settled with reads only. Otherwise one write
transaction for the batch advances the rules' states, opens alerts, requests commands and
logs the runs. A reading also ends the silence of the device's absence rules, resolving
their alerts.
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
from iot.readings import Reading, on_reading_batches
from iot.registry import Device
from iot.rules.actions import carry_out, plan
from iot.rules.compile import CompiledDeviceRule, rules_for
from iot.rules.facts import Facts, environment, facts_of, moment_of, variables
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


@dataclass(frozen=True)
class Watched:
    """One device of a batch, its new readings and the rules that look at them: its type's
    reading rules, and its absence rules (a reading ends their silence)."""

    device: Device
    readings: list[Reading]
    rules: list[CompiledDeviceRule]
    absent: list[CompiledDeviceRule]

    def state_keys(self) -> list[StateKey]:
        return [(r.app, r.name, self.device.id) for r in [*self.rules, *self.absent]]

    def silence_keys(self) -> list[StateKey]:
        return [(r.app, r.name, self.device.id) for r in self.absent]


@on_reading_batches
def evaluate_readings(
    runtime: Runtime, catalog: Catalog, batches: list[tuple[Device, list[Reading]]]
) -> None:
    """The listener ingest calls after each commit, with every device of the transaction:
    the facts and rule states of all of them are read at once (a few queries, however many
    devices), and only if some rule moved does one write transaction follow."""
    watched = watching(catalog, batches)
    if not watched:
        return
    with runtime.engine.connect() as conn:
        facts = batch_facts(conn, catalog, watched)
        states = load_states(conn, [w.device.id for w in watched], _rule_keys(watched))
    before = dict(states)
    timezone = catalog.options.timezone
    for one in watched:
        for _ in rounds(
            one.rules, one.device, facts[one.device.id], one.readings, states, timezone
        ):
            pass
    moving = [
        one
        for one in watched
        if any(states.get(key) != before.get(key) for key in one.state_keys())
        or any(states.get(key, RuleState()).streak for key in one.silence_keys())
    ]
    if not moving:
        return
    try:
        with write_transaction(runtime.engine) as conn:
            apply_readings(conn, runtime, catalog, moving, facts)
    except Exception:
        if len(moving) == 1:
            raise
        log.exception("device rules failed on a batch of %d devices; trying each", len(moving))
        for one in moving:  # one device's failure must not keep the others' alerts back
            try:
                with write_transaction(runtime.engine) as conn:
                    apply_readings(conn, runtime, catalog, [one], facts)
            except Exception:
                log.exception("device rules failed for device %s", one.device.code)


def watching(catalog: Catalog, batches: list[tuple[Device, list[Reading]]]) -> list[Watched]:
    """The active devices of the batch whose type has reading or absence rules."""
    found = []
    for device, readings in batches:
        if not device.active or not readings:
            continue
        rules = rules_for(catalog, device.type_name, "reading")
        absent = rules_for(catalog, device.type_name, "absence")
        if rules or absent:
            found.append(Watched(device, readings, rules, absent))
    return found


def batch_facts(conn: sa.Connection, catalog: Catalog, watched: list[Watched]) -> dict[int, Facts]:
    """The facts of the devices with reading rules (with the week's baseline before their
    first reading where a rule reads it); the others' rules never look at facts."""
    wanted = [
        (
            one.device,
            one.rules[0].device_type,
            one.readings[0].ts if any(r.reads_baseline for r in one.rules) else None,
        )
        for one in watched
        if one.rules
    ]
    facts = facts_of(conn, catalog, wanted)
    return {
        one.device.id: facts.get(one.device.id, Facts({"id": one.device.id})) for one in watched
    }


def apply_readings(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    watched: Sequence[Watched],
    facts: dict[int, Facts],
) -> None:
    """Advance the rules over the readings in the caller's transaction, device by device:
    fire, resolve, save the states that changed."""
    states = load_states(conn, [w.device.id for w in watched], _rule_keys(watched))
    before = dict(states)
    now = runtime.clock.now()
    timezone = catalog.options.timezone
    for one in watched:
        device = one.device
        for round_ in rounds(one.rules, device, facts[device.id], one.readings, states, timezone):
            commanded: set[int] = set()
            for rule, step in round_.steps:
                if step.fires:
                    planned = plan(
                        conn, catalog, rule, device, round_.variables, round_.moment, commanded
                    )
                    detail = {"reading": round_.reading.ts, "values": dict(round_.reading.values)}
                    carry_out(conn, runtime, catalog, planned, round_.moment, "reading", detail)
                elif step.ended and rule.definition.alert is not None:
                    resolve_alert(
                        conn, runtime, rule.app, rule.name, device.id, now, "condition ended"
                    )
        for rule in one.absent:
            key = (rule.app, rule.name, device.id)
            state = states.get(key)
            if state is not None and state.streak:
                states[key] = RuleState(None, 0, state.fired_at)
                if rule.definition.alert is not None:
                    resolve_alert(conn, runtime, rule.app, rule.name, device.id, now, "heard again")
    save_states(conn, {k: v for k, v in states.items() if before.get(k) != v}, now)


def _rule_keys(watched: Sequence[Watched]) -> set[tuple[str, str]]:
    return {(r.app, r.name) for one in watched for r in [*one.rules, *one.absent]}


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
