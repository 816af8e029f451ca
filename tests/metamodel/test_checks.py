"""Semantic checks of definitions that a schema cannot express (see also test_loader.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel.errors import DefinitionsInvalid
from metamodel.loader import build_definitions, read_folder
from tests.definitions import entity, estate, write_folder


@pytest.mark.parametrize("name", ["id__number", "code__bidx", "rent__gte", "phone_"])
def test_field_names_with_double_underscores_are_refused(tmp_path: Path, name: str) -> None:
    folder = estate()
    entity(folder, "unit")["fields"][name] = {"type": "string"}

    with pytest.raises(DefinitionsInvalid) as invalid:
        build_definitions(read_folder(write_folder(tmp_path, folder)))

    [error] = invalid.value.errors
    assert (error.file, error.path) == ("estate/entities/unit.yaml", f"fields.{name}")
    assert error.message == (
        f"{name!r} contains '__' (or ends in '_'): filters read `field__op` and the engine "
        "names its own columns `field__…`; use single underscores"
    )


@pytest.mark.parametrize("name", ["id_number", "a_b_c", "x1_2"])
def test_field_names_with_single_underscores_load(tmp_path: Path, name: str) -> None:
    folder = estate()
    entity(folder, "unit")["fields"][name] = {"type": "string"}

    definitions = build_definitions(read_folder(write_folder(tmp_path, folder)))

    assert name in definitions.apps["estate"].entities["unit"].fields


def test_list_fields_name_fields_of_the_entity(tmp_path: Path) -> None:
    folder = estate()
    entity(folder, "unit")["list_fields"] = ["code", "status", "rent"]

    definitions = build_definitions(read_folder(write_folder(tmp_path, folder)))

    assert definitions.apps["estate"].entities["unit"].list_fields == ["code", "status", "rent"]


@pytest.mark.parametrize(
    ("names", "index", "message"),
    [
        (["code", "colour"], 1, "unknown field 'colour'"),
        (["code", "created_at"], 1, "unknown field 'created_at'"),
        (["code", "rent", "code"], 2, "'code' is listed twice"),
    ],
)
def test_list_fields_outside_the_entity_are_refused_by_path(
    tmp_path: Path, names: list[str], index: int, message: str
) -> None:
    folder = estate()
    entity(folder, "unit")["list_fields"] = names

    with pytest.raises(DefinitionsInvalid) as invalid:
        build_definitions(read_folder(write_folder(tmp_path, folder)))

    [error] = invalid.value.errors
    assert (error.file, error.path, error.message) == (
        "estate/entities/unit.yaml",
        f"list_fields[{index}]",
        message,
    )
