"""docs/expressions.md documents every function a configurator can call, under its own heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.expressions import builtin_functions
from engine.expressions.functions import AGGREGATES

DOC = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"
HEADING = re.compile(r"^### ([a-z_][a-z0-9_]*)\(", re.MULTILINE)
NAMES = sorted({f.name for f in builtin_functions()} | {"if", "coalesce"} | set(AGGREGATES))


def documented() -> set[str]:
    return set(HEADING.findall(DOC.read_text(encoding="utf-8")))


def test_headings_are_found() -> None:
    assert {"if", "days_between", "count"} <= documented()


@pytest.mark.parametrize("name", NAMES)
def test_function_has_a_heading(name: str) -> None:
    assert name in documented(), f"docs/expressions.md needs a '### {name}(…)' heading"


@pytest.mark.parametrize("name", sorted(set(AGGREGATES) & {f.name for f in builtin_functions()}))
def test_function_and_aggregate_of_one_name_both_have_a_heading(name: str) -> None:
    """`min(a, b)` and `min(bills.amount)` are different things; each gets its own entry."""
    headings = HEADING.findall(DOC.read_text(encoding="utf-8"))
    assert headings.count(name) >= 2
