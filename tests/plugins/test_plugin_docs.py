"""Every hook of `plugins/hookspecs.py` is documented in `docs/plugins.md` under a heading
that is its exact signature, as the hookspecs file writes it; and every hook heading there
is a hook that exists."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
HOOK_HEADING = re.compile(r"^### `(anju_\w+)\((.*)`$", re.MULTILINE)


def hook_specs() -> dict[str, Callable[..., Any]]:
    """The functions of `plugins/hookspecs.py` marked `@hookspec`, by name."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, marker)
    }


def written_signature(function: Callable[..., Any]) -> str:
    """`name(arg: Type, …) -> Result` with the annotations as the source writes them (the
    module postpones annotations, so they are the strings of the source)."""
    signature = inspect.signature(function)
    parameters = ", ".join(
        f"{parameter.name}: {parameter.annotation}" for parameter in signature.parameters.values()
    )
    return f"{function.__name__}({parameters}) -> {signature.return_annotation}"


def headings() -> set[str]:
    return {
        line[4:].strip() for line in DOCS.read_text("utf-8").splitlines() if line.startswith("### ")
    }


SPECS = hook_specs()


def test_every_hook_of_the_spec_is_found() -> None:
    assert len(SPECS) >= 12
    assert "anju_field_types" in SPECS and "anju_after_delete" in SPECS


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_signature_is_written_as_in_hookspecs(name: str) -> None:
    source = inspect.getsource(hookspecs)

    assert f"def {written_signature(SPECS[name])}:" in source


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_hook_is_documented_under_its_exact_signature(name: str) -> None:
    heading = f"`{written_signature(SPECS[name])}`"

    assert heading in headings(), (
        f"{name} is not documented: docs/plugins.md needs the heading ### {heading}"
    )


def test_every_documented_hook_exists() -> None:
    documented = {match.group(1) for match in HOOK_HEADING.finditer(DOCS.read_text("utf-8"))}

    assert documented - set(SPECS) == set(), "docs/plugins.md documents hooks that do not exist"
