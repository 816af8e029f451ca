"""Report, dashboard and hierarchy definitions that are wrong: each error names the file and
the path inside it (no database needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.expressions.definitions import load_definitions
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from tests.definitions import Folder, write_folder
from tests.engine.reports.world import report_folder

Change = Callable[[Folder], None]
BY_BUILDING = "estate/reports/units_by_building.yaml"
BY_MONTH = "estate/reports/lettings_by_month.yaml"


def _set(path: str, *keys: Any, value: Any) -> Change:
    def change(folder: Folder) -> None:
        target: Any = folder[path]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


CASES = [
    (_set(BY_BUILDING, "source", value="nothing"), BY_BUILDING, "source", "unknown entity"),
    (
        _set(BY_BUILDING, "dimensions", 0, "field", value="building.owner"),
        BY_BUILDING,
        "dimensions[0].field",
        "building has no field 'owner'",
    ),
    (
        _set(BY_BUILDING, "dimensions", 0, "bucket", value="month"),
        BY_BUILDING,
        "dimensions[0].bucket",
        "need a date or datetime",
    ),
    (
        _set(BY_BUILDING, "dimensions", 1, "level", value="district"),
        BY_BUILDING,
        "dimensions[1].level",
        "a reference to an entity with a hierarchy",
    ),
    (
        _set("estate/reports/units_by_district.yaml", "dimensions", 0, "level", value="town"),
        "estate/reports/units_by_district.yaml",
        "dimensions[0].level",
        "'town' is not a level of region",
    ),
    (
        _set(BY_BUILDING, "measures", 1, "field", value="code"),
        BY_BUILDING,
        "measures[1].aggregate",
        "sum needs a number field",
    ),
    (
        _set(BY_MONTH, "measures", 1, "change", value="nothing"),
        BY_MONTH,
        "measures[1].change",
        "expected another aggregate or ratio measure",
    ),
    (_set(BY_BUILDING, "sort", value=["height"]), BY_BUILDING, "sort[0]", "not a dimension"),
    (_set(BY_BUILDING, "chart", "y", value=["status"]), BY_BUILDING, "chart.y[0]", "not a measure"),
    (_set(BY_BUILDING, "roles", value=["nobody"]), BY_BUILDING, "roles[0]", "unknown role"),
    (
        _set(BY_MONTH, "filters", value=["let_on >= params.until"]),
        BY_MONTH,
        "filters[0]",
        "params",
    ),
    (
        _set(BY_MONTH, "params", "since", "default", value="'soon'"),
        BY_MONTH,
        "params.since.default",
        "gives a string, but the parameter is a date",
    ),
    (
        _set("estate/dashboards/overview.yaml", "widgets", 1, "x", value=2),
        "estate/dashboards/overview.yaml",
        "widgets[1]",
        "overlaps widget 0",
    ),
    (
        _set("estate/dashboards/overview.yaml", "widgets", 0, "params", value={"colour": "red"}),
        "estate/dashboards/overview.yaml",
        "widgets[0].params.colour",
        "has no parameter 'colour'",
    ),
    (
        _set("estate/entities/region.yaml", "hierarchy", "parent", value="name"),
        "estate/entities/region.yaml",
        "hierarchy.parent",
        "a reference field to region",
    ),
]


@pytest.mark.parametrize(("change", "file", "path", "message"), CASES)
def test_a_wrong_definition_names_file_and_path(
    tmp_path: Path, change: Change, file: str, path: str, message: str
) -> None:
    folder = report_folder()
    change(folder)
    with pytest.raises(DefinitionsInvalid) as invalid:
        load_definitions(read_folder(write_folder(tmp_path, folder)))
    found = [(e.file, e.path) for e in invalid.value.errors]
    assert (file, path) in found, found
    error = next(e for e in invalid.value.errors if (e.file, e.path) == (file, path))
    assert message in error.message


def test_the_report_folder_is_valid(tmp_path: Path) -> None:
    definitions = load_definitions(read_folder(write_folder(tmp_path, report_folder())))
    assert len(definitions.apps["estate"].reports) == 8
