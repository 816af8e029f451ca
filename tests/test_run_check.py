"""`run.py check`: a configurator's first look at a definitions folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import run
from tests.definitions import APP, entity, estate, write_folder


def test_check_points_at_the_column_of_a_bad_expression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = estate()
    entity(folder, "unit")["rules"] = [{"when": "rent >= 1000 and flor > 3", "message": "太高"}]
    monkeypatch.setenv("ANJU_APPS_CONFIG", str(write_folder(tmp_path / "apps_config", folder)))
    monkeypatch.setenv("ANJU_DATA_DIR", str(tmp_path / "var"))

    assert run.main(["check"]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"  {APP}/entities/unit.yaml:54: rules[0].when: unknown field 'flor' in estate.unit; "
        "did you mean 'floor'? (column 18)",
        "      rent >= 1000 and flor > 3",
        "                       ^^^^",
    ]


def test_check_accepts_the_shipped_apps(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ANJU_DATA_DIR", str(tmp_path / "var"))
    assert run.main(["check"]) == 0
    assert "all valid" in capsys.readouterr().out
