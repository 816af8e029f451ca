"""Checks a flow runs (`{check: name}`): plugins that judge a record — eligibility, duplicate
cases — and say why. A plugin registers them through the `anju_checks` hook.

A check has two halves so that every decision can be re-run exactly: `gather` reads what it
needs from the record and the database into plain JSON `inputs`; `decide(inputs, params,
today)` judges them and reads nothing else. The stored decision keeps the inputs, the params,
the day, the check's and the plugin's versions and the definitions version; `rerun` feeds
them to `decide` again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Literal

Level = Literal["green", "yellow", "orange", "red", "brown"]
LEVELS: tuple[Level, ...] = ("green", "yellow", "brown", "orange", "red")  # mildest first


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict: passed or not, the reasons a person can read, a signal level, and
    the inputs it judged."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    level: Level = "green"
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckInput:
    """What `gather` is given: the record's values (references as ids), a reader for other
    records (`lookup("app.entity", id)`), the records whose reference points at one
    (`related("app.entity", "field", id)`), the records with a field equal to a value
    (`find("app.entity", "field", value)`, sensitive fields through their blind index), the
    flow's params and the day of the check."""

    record: Mapping[str, Any]
    lookup: Callable[[str, int], Mapping[str, Any] | None]
    related: Callable[[str, str, int], list[Mapping[str, Any]]]
    params: Mapping[str, Any]
    today: date
    find: Callable[[str, str, Any], list[Mapping[str, Any]]] = lambda path, name, value: []


Gather = Callable[[CheckInput], dict[str, Any]]
Decide = Callable[[Mapping[str, Any], Mapping[str, Any], date], CheckResult]


@dataclass(frozen=True)
class Check:
    """A registered check. `version` changes whenever `decide` would judge the same inputs
    differently; `plugin` and `plugin_version` are filled in by the plugin manager."""

    name: str
    gather: Gather
    decide: Decide
    version: str = "1"
    description: str = ""
    plugin: str = ""
    plugin_version: str = ""

    def run(self, given: CheckInput) -> CheckResult:
        inputs = self.gather(given)
        result = self.decide(inputs, given.params, given.today)
        if not isinstance(result, CheckResult):
            raise TypeError(f"decide gave {type(result).__name__}, not a CheckResult")
        return replace(result, inputs=inputs)

    def decision(
        self, result: CheckResult, params: Mapping[str, Any], today: date, definitions: int
    ) -> dict[str, Any]:
        """What is stored on the record and the timeline: enough to re-run the decision."""
        return {
            "check": self.name,
            "version": self.version,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "definitions_version": definitions,
            "today": today.isoformat(),
            "params": dict(params),
            **asdict(result),
        }


@dataclass(frozen=True)
class Rerun:
    """A stored decision judged again: `same` when the verdict, level and reasons agree."""

    same: bool
    stored: dict[str, Any]
    now: dict[str, Any]
    notes: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"same": self.same, "stored": self.stored, "now": self.now, "notes": self.notes}


def rerun(check: Check, stored: Mapping[str, Any]) -> Rerun:
    """Judge a stored decision's inputs again with its own params and day."""
    today = date.fromisoformat(str(stored["today"]))
    params = stored.get("params") or {}
    result = check.decide(stored.get("inputs") or {}, params, today)
    result = replace(result, inputs=dict(stored.get("inputs") or {}))
    now = check.decision(result, params, today, int(stored.get("definitions_version") or 0))
    notes = []
    for key in ("version", "plugin_version"):
        if stored.get(key) != now[key]:
            notes.append(f"{key} was {stored.get(key)!r}, now {now[key]!r}")
    verdict = ("passed", "level", "reasons")
    same = all(stored.get(key) == now[key] for key in verdict)
    return Rerun(same, dict(stored), now, notes)
