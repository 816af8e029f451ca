"""Checks a flow runs (`{check: name}`): plugins that judge a record — eligibility, duplicate
cases — and say why. Registered by name; a flow refers to them by that name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Level = Literal["green", "yellow", "orange", "red", "brown"]


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict: passed or not, the reasons a person can read, a signal level, and
    the inputs it judged, so the decision can be explained and re-run later."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    level: Level = "green"
    inputs: dict[str, Any] = field(default_factory=dict)

    def as_json(self, name: str, version: str) -> dict[str, Any]:
        return {"check": name, "version": version, **asdict(self)}


@dataclass(frozen=True)
class CheckInput:
    """What a check is given: the record's values (references as ids), a reader for other
    records (`lookup("app.entity", id)`), the flow's params and the moment of the check."""

    record: Mapping[str, Any]
    lookup: Callable[[str, int], Mapping[str, Any] | None]
    related: Callable[[str, str, int], list[Mapping[str, Any]]]
    params: Mapping[str, Any]
    today: Any


Check = Callable[[CheckInput], CheckResult]


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    function: Check
    version: str = "1"
    description: str = ""


CHECKS: dict[str, RegisteredCheck] = {}


def check(name: str, version: str = "1") -> Callable[[Check], Check]:
    """Register a check under `name`: `@check("pre_review")`."""

    def register(function: Check) -> Check:
        CHECKS[name] = RegisteredCheck(name, function, version, (function.__doc__ or "").strip())
        return function

    return register


def import_check_modules(modules: Iterable[str]) -> None:
    """Import the modules named in the `plugins` setting, so their checks register."""
    for module in modules:
        importlib.import_module(module)
