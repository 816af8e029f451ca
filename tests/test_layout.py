"""Imports flow one way: metamodel ← engine ← renderers; plugins, connectors and iot are
reached only via hooks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "metamodel": {"engine", "renderers", "plugins", "connectors", "iot"},
    "engine": {"renderers", "plugins", "connectors", "iot"},
    "renderers": {"connectors", "iot"},  # reached through the plugin hooks only
    "iot": {"plugins", "connectors"},  # a built-in plugin wires iot in; drivers are plugins
}


def imported_packages(path: Path) -> set[str]:
    """Top-level package of every import in a module, including imports inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_imported_packages_sees_nested_and_from_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os.path\nfrom engine.records import x\ndef f():\n    import renderers\n"
    )

    assert imported_packages(module) == {"os", "engine", "renderers"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downstream(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules in {package}/"

    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules
        for name in imported_packages(path) & FORBIDDEN[package]
    }

    assert wrong == set()
