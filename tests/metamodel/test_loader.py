"""Loading a definitions folder: YAML and JSON in, checked definitions or every error out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metamodel.definitions import Definitions
from metamodel.errors import DefinitionError, DefinitionsInvalid
from metamodel.loader import build_definitions, read_folder
from tests.definitions import entity, estate, to_yaml, write_files, write_folder

BUILDING = "estate/entities/building.yaml"
RESERVED = ["api", "meta", "auth", "studio", "audit", "inbox", "static"]
SYSTEM_COLUMNS = [
    "id", "created_at", "created_by", "updated_at", "updated_by",
    "row_version", "org_id", "def_version", "state",
]  # fmt: skip


def load(root: Path) -> Definitions:
    return build_definitions(read_folder(root))


def errors_of(root: Path) -> list[DefinitionError]:
    with pytest.raises(DefinitionsInvalid) as raised:
        load(root)
    return raised.value.errors


def minimal_app(root: Path, files: dict[str, str]) -> Path:
    """An app `estate` with just the given files besides its app.yaml."""
    return write_files(root, {"estate/app.yaml": "label: Estate\n", **files})


def test_estate_folder_loads_every_kind(tmp_path: Path) -> None:
    definitions = load(write_folder(tmp_path, estate()))

    bundle = definitions.apps["estate"]
    assert set(bundle.entities) == {"building", "unit", "meter", "inspection"}
    assert set(bundle.forms) == {"unit"}
    assert set(bundle.roles.roles) == {"manager"}
    assert ("estate", "entity", "unit") in definitions.contents
    assert bundle.entities["unit"].fields["rent"].type == "decimal"


def test_json_file_loads_like_the_same_yaml(tmp_path: Path) -> None:
    folder = estate()
    from_yaml = load(write_folder(tmp_path / "yaml", folder)).contents

    unit = folder.pop("estate/entities/unit.yaml")
    root = write_folder(tmp_path / "json", folder)
    write_files(root, {"estate/entities/unit.json": json.dumps(unit, ensure_ascii=False)})

    assert load(root).contents == from_yaml


def test_reference_to_another_app_resolves(tmp_path: Path) -> None:
    folder = estate()
    folder["ledger/app.yaml"] = {"label": "台账"}
    folder["ledger/entities/charge.yaml"] = {
        "fields": {"unit": {"type": "reference", "entity": "estate.unit"}}
    }

    definitions = load(write_folder(tmp_path, folder))

    assert definitions.resolve("ledger", "estate.unit") == (
        "estate",
        definitions.apps["estate"].entities["unit"],
    )


BAD_INPUT = {
    "malformed YAML": (
        {BUILDING: "fields:\n  name: {type: string\n  code: x\n"},
        BUILDING, 3, "", "malformed YAML",
    ),
    "duplicate key": (
        {BUILDING: "fields:\n  name:\n    type: string\n  name:\n    type: text\n"},
        BUILDING, 4, "fields.name", "duplicate key",
    ),
    "unknown key in a field": (
        {BUILDING: "fields:\n  name:\n    type: string\n    maxlength: 5\n"},
        BUILDING, 4, "fields.name.maxlength", "unknown key 'maxlength'",
    ),
    "unknown top-level key": (
        {BUILDING: "lable: Building\nfields:\n  name:\n    type: string\n"},
        BUILDING, 1, "lable", "unknown key 'lable'",
    ),
    "wrong type": (
        {BUILDING: "fields:\n  floor:\n    type: integer\n    min: low\n"},
        BUILDING, 4, "fields.floor.min", "integer",
    ),
    "wrong type of a flag": (
        {BUILDING: "fields:\n  name:\n    type: string\n    required: maybe\n"},
        BUILDING, 4, "fields.name.required", "boolean",
    ),
    "unknown field type": (
        {BUILDING: "fields:\n  name:\n    type: str\n"},
        BUILDING, 3, "fields.name.type", "unknown field type 'str'",
    ),
    "field name not lower_snake_case": (
        {BUILDING: "fields:\n  Name:\n    type: string\n"},
        BUILDING, 2, "fields.Name", "pattern",
    ),
    "dangling reference": (
        {BUILDING: "fields:\n  owner:\n    type: reference\n    entity: person\n"},
        BUILDING, 4, "fields.owner.entity", "unknown entity 'person'",
    ),
    "name differs from the file name": (
        {BUILDING: "name: house\nfields:\n  name:\n    type: string\n"},
        BUILDING, 1, "name", "differs from the file name",
    ),
    "enum default not among the options": (
        {BUILDING: "fields:\n  status:\n    type: enum\n    options:\n      - value: a\n"
                   "    default: b\n"},
        BUILDING, 6, "fields.status.default", "not one of the options",
    ),
    "min greater than max": (
        {BUILDING: "fields:\n  floor:\n    type: integer\n    min: 5\n    max: 1\n"},
        BUILDING, 4, "fields.floor.min", "greater than max",
    ),
    "bad regular expression": (
        {BUILDING: "fields:\n  code:\n    type: string\n    pattern: '[a-'\n"},
        BUILDING, 4, "fields.code.pattern", "not a valid regular expression",
    ),
    "unknown title_field": (
        {BUILDING: "fields:\n  code:\n    type: string\ntitle_field: nam\n"},
        BUILDING, 4, "title_field", "unknown field 'nam'",
    ),
    "unknown search field": (
        {BUILDING: "fields:\n  code:\n    type: string\nsearch_fields:\n  - code\n  - nme\n"},
        BUILDING, 6, "search_fields[1]", "unknown field 'nme'",
    ),
    "unknown index field": (
        {BUILDING: "fields:\n  code:\n    type: string\nindexes:\n  - fields: [code, cod]\n"},
        BUILDING, 5, "indexes[0].fields[1]", "unknown field 'cod'",
    ),
    "form places an unknown field": (
        {BUILDING: "fields:\n  code:\n    type: string\n",
         "estate/forms/building.yaml": "entity: building\nsections:\n  - fields: [code, nope]\n"},
        "estate/forms/building.yaml", 3, "sections[0].fields[1]", "no field 'nope'",
    ),
    "form places a field twice": (
        {BUILDING: "fields:\n  code:\n    type: string\n",
         "estate/forms/building.yaml": "entity: building\nsections:\n  - fields: [code]\n"
                                       "  - fields:\n      - code\n"},
        "estate/forms/building.yaml", 5, "sections[1].fields[0]", "placed twice",
    ),
    "malformed JSON": (
        {"estate/entities/building.json": '{\n  "fields": {\n}\n'},
        "estate/entities/building.json", 4, "", "malformed JSON",
    ),
    "wrong type in JSON": (
        {"estate/entities/building.json":
            '{\n  "fields": {\n    "floor": {\n      "type": "integer",\n      "min": "low"\n'
            "    }\n  }\n}\n"},
        "estate/entities/building.json", 5, "fields.floor.min", "integer",
    ),
    "duplicate key in JSON": (
        {"estate/entities/building.json":
            '{\n  "fields": {\n    "name": {"type": "string"},\n    "name": {"type": "text"}\n'
            "  }\n}\n"},
        "estate/entities/building.json", 4, "fields.name", "duplicate key",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("files", "file", "line", "path", "message"), BAD_INPUT.values(), ids=BAD_INPUT.keys()
)
def test_bad_input_names_file_line_and_path(
    tmp_path: Path, files: dict[str, str], file: str, line: int, path: str, message: str
) -> None:
    errors = errors_of(minimal_app(tmp_path, files))

    assert [(e.file, e.line, e.path) for e in errors] == [(file, line, path)]
    assert message in errors[0].message


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_app_name_is_refused(tmp_path: Path, name: str) -> None:
    write_files(tmp_path, {f"{name}/app.yaml": "label: x\n"})

    errors = errors_of(tmp_path)

    assert [(e.file, e.line, e.path) for e in errors] == [(f"{name}/app.yaml", 1, "name")]
    assert "reserved" in errors[0].message


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_entity_name_is_refused(tmp_path: Path, name: str) -> None:
    file = f"estate/entities/{name}.yaml"
    errors = errors_of(minimal_app(tmp_path, {file: "fields:\n  code:\n    type: string\n"}))

    assert [(e.file, e.line, e.path) for e in errors] == [(file, 1, "name")]
    assert "reserved" in errors[0].message


@pytest.mark.parametrize("column", SYSTEM_COLUMNS)
def test_system_column_name_cannot_be_a_field(tmp_path: Path, column: str) -> None:
    text = f"fields:\n  code:\n    type: string\n  {column}:\n    type: integer\n"

    errors = errors_of(minimal_app(tmp_path, {BUILDING: text}))

    assert [(e.file, e.line, e.path) for e in errors] == [(BUILDING, 4, f"fields.{column}")]
    assert "system column" in errors[0].message


def test_app_folder_without_app_yaml_is_reported(tmp_path: Path) -> None:
    write_files(tmp_path, {BUILDING: "fields:\n  code:\n    type: string\n"})

    errors = errors_of(tmp_path)

    assert [(e.file, e.message) for e in errors] == [(BUILDING, "app 'estate' has no app.yaml")]


def test_file_outside_the_known_folders_is_reported(tmp_path: Path) -> None:
    errors = errors_of(minimal_app(tmp_path, {"estate/screens/unit.yaml": "a: 1\n"}))

    assert [e.file for e in errors] == ["estate/screens/unit.yaml"]
    assert "not a definition file" in errors[0].message


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    errors = errors_of(tmp_path / "nowhere")

    assert "definitions folder not found" in errors[0].message


def test_several_structural_errors_are_reported_at_once(tmp_path: Path) -> None:
    folder = estate()
    entity(folder, "building")["fields"]["name"]["maxlen"] = 5
    entity(folder, "unit")["fields"]["floor"]["min"] = "low"
    entity(folder, "meter")["fields"]["serial"]["type"] = "str"

    errors = errors_of(write_folder(tmp_path, folder))

    assert [(e.file, e.path.split(".")[:2]) for e in errors] == [
        ("estate/entities/building.yaml", ["fields", "name"]),
        ("estate/entities/meter.yaml", ["fields", "serial"]),
        ("estate/entities/unit.yaml", ["fields", "floor"]),
    ]


def test_several_semantic_errors_are_reported_at_once(tmp_path: Path) -> None:
    folder = estate()
    entity(folder, "building")["title_field"] = "title"
    entity(folder, "unit")["fields"]["floor"]["min"] = 100
    entity(folder, "meter")["fields"]["building"]["entity"] = "tower"
    folder["estate/forms/unit.yaml"]["sections"][1]["fields"].append("floor")

    errors = errors_of(write_folder(tmp_path, folder))

    assert [(e.file, e.path) for e in errors] == [
        ("estate/entities/building.yaml", "title_field"),
        ("estate/entities/meter.yaml", "fields.building.entity"),
        ("estate/entities/unit.yaml", "fields.floor.min"),
        ("estate/forms/unit.yaml", "sections[1].fields[3]"),
    ]
    assert all(e.line is not None for e in errors)


def test_parse_errors_of_several_files_are_reported_at_once(tmp_path: Path) -> None:
    files = {
        BUILDING: "fields: [\n",
        "estate/entities/unit.yaml": "fields:\n  a:\n    type: string\n  a:\n    type: text\n",
    }

    errors = errors_of(minimal_app(tmp_path, files))

    assert [(e.file, e.line) for e in errors] == [(BUILDING, 2), ("estate/entities/unit.yaml", 4)]


def test_error_text_reads_file_line_path_message(tmp_path: Path) -> None:
    text = to_yaml({"fields": {"floor": {"type": "integer", "min": 5, "max": 1}}})

    errors = errors_of(minimal_app(tmp_path, {BUILDING: text}))

    assert str(errors[0]) == f"{BUILDING}:4: fields.floor.min: min 5 is greater than max 1"
