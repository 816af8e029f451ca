"""Where each rule stands for each device (`anju_device_rule_state`): the streak of readings
its condition held for, since when, and when it last fired.

A rule fires when its condition has held for `sustain.readings` readings in a row (1
without `sustain`) or for `sustain.duration` since the streak's first reading, at most once
per streak, and never again within `cooldown` of its last firing for the device. A reading
for which the condition does not hold ends the streak; ending a streak that fired resolves
the rule's alert. `advance` is pure, so test mode runs the same steps in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.alerts.tables import dialect_insert
from iot.rules.compile import CompiledDeviceRule
from iot.rules.facts import CHUNK, moment_of
from iot.tables import rule_states

Key = tuple[str, str]  # (app, rule)
UPDATED = ("since", "streak", "fired_at", "updated_at")


@dataclass(frozen=True)
class RuleState:
    since: int | None = None  # ms: the first reading of the current streak
    streak: int = 0
    fired_at: datetime | None = None

    def fired_in_streak(self, start: datetime | None) -> bool:
        return self.fired_at is not None and start is not None and self.fired_at >= start


@dataclass(frozen=True)
class Step:
    """What one reading did to a rule: whether the condition held, the streak after it,
    whether the sustain was met, and whether the rule fires (or would, but for `cooling`)."""

    held: bool
    streak: int
    sustained: bool
    fires: bool
    cooling: bool = False
    ended: bool = False  # a streak that had fired ended: resolve the rule's alert

    def as_json(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "streak": self.streak,
            "sustained": self.sustained,
            "fires": self.fires,
            "cooling": self.cooling,
        }


def advance(
    rule: CompiledDeviceRule,
    state: RuleState,
    held: bool,
    ts: int,
    moment: datetime,
) -> tuple[RuleState, Step]:
    """The state after a reading at `ts` (ms; `moment` as a datetime) for which the condition
    did (`held`) or did not hold."""
    if not held:
        start = _start(state.since)
        ended = state.streak > 0 and state.fired_in_streak(start)
        return RuleState(None, 0, state.fired_at), Step(False, 0, False, False, ended=ended)
    since = state.since if state.since is not None else ts
    streak = state.streak + 1
    sustained = streak >= rule.sustain_readings
    duration = rule.sustain_duration
    if duration is not None:
        sustained = ts - since >= duration / timedelta(milliseconds=1)
    already = state.fired_in_streak(_start(since))
    cooling = state.fired_at is not None and moment - state.fired_at < rule.cooldown
    fires = sustained and not already and not cooling
    fired_at = moment if fires else state.fired_at
    after = RuleState(since, streak, fired_at)
    return after, Step(True, streak, sustained, fires, sustained and not already and cooling)


def cooling(rule: CompiledDeviceRule, state: RuleState, moment: datetime) -> bool:
    return state.fired_at is not None and moment - state.fired_at < rule.cooldown


def load_states(
    conn: sa.Connection, device_ids: Iterable[int], keys: Iterable[Key]
) -> dict[tuple[str, str, int], RuleState]:
    """The states of these rules for these devices, by (app, rule, device id): one query
    per `CHUNK` devices."""
    ids, wanted = sorted(set(device_ids)), set(keys)
    if not ids or not wanted:
        return {}
    found = {}
    for start in range(0, len(ids), CHUNK):
        query = sa.select(rule_states).where(
            rule_states.c.app.in_({app for app, _ in wanted}),
            rule_states.c.rule.in_({rule for _, rule in wanted}),
            rule_states.c.device_id.in_(ids[start : start + CHUNK]),
        )
        for row in conn.execute(query).mappings():
            if (row["app"], row["rule"]) in wanted:
                key = (row["app"], row["rule"], row["device_id"])
                found[key] = RuleState(row["since"], row["streak"], row["fired_at"])
    return found


def save_states(
    conn: sa.Connection, changed: dict[tuple[str, str, int], RuleState], now: datetime
) -> None:
    """Write the states that changed (one upsert statement for all of them)."""
    if not changed:
        return
    rows = [
        {
            "app": app,
            "rule": rule,
            "device_id": device_id,
            "since": state.since,
            "streak": state.streak,
            "fired_at": state.fired_at,
            "updated_at": now,
        }
        for (app, rule, device_id), state in changed.items()
    ]
    statement = dialect_insert(conn, rule_states)
    updated = {name: statement.excluded[name] for name in UPDATED}
    conn.execute(
        statement.on_conflict_do_update(index_elements=["app", "rule", "device_id"], set_=updated),
        rows,
    )


def _start(since: int | None) -> datetime | None:
    return None if since is None else moment_of(since)
