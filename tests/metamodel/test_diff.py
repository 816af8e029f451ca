"""Semantic diff: which definitions changed, and inside each, which paths."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.canonical import canonical
from metamodel.diff import Change, DefinitionChange, diff_contents
from metamodel.models import Entity

UNIT = ("estate", "entity", "unit")
BUILDING = ("estate", "entity", "building")
STATUS = {
    "type": "enum",
    "options": [{"value": "vacant", "label": {"en": "Vacant"}}, {"value": "let"}],
}


def unit(**fields: dict[str, Any]) -> dict[str, Any]:
    base = {"rent": {"type": "decimal", "min": 0}, "status": STATUS}
    return canonical(Entity.model_validate({"name": "unit", "fields": {**base, **fields}}))


def building() -> dict[str, Any]:
    return canonical(
        Entity.model_validate({"name": "building", "fields": {"name": {"type": "string"}}})
    )


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    [change] = diff_contents({UNIT: old}, {UNIT: new})
    assert (change.app, change.kind, change.name, change.change) == (*UNIT, "modified")
    return change.changes


def test_equal_contents_have_no_changes() -> None:
    assert (
        diff_contents({UNIT: unit(), BUILDING: building()}, {UNIT: unit(), BUILDING: building()})
        == []
    )


def test_added_and_removed_definitions_are_named() -> None:
    changes = diff_contents({UNIT: unit()}, {BUILDING: building()})

    assert [(c.name, c.change) for c in changes] == [("building", "added"), ("unit", "removed")]


def test_added_definition_lists_its_content() -> None:
    [change] = diff_contents({}, {BUILDING: building()})

    assert [(c.path, c.change) for c in change.changes] == [("name", "added"), ("fields", "added")]


def test_changed_bound_is_reported_by_field_path() -> None:
    new = unit(rent={"type": "decimal", "min": 1})

    assert field_changes(unit(), new) == [Change("fields.rent.min", "modified", "0", "1")]


def test_added_and_removed_fields_are_reported() -> None:
    old = unit(notes={"type": "text"})
    new = unit(deposit={"type": "decimal"})

    assert [(c.path, c.change) for c in field_changes(old, new)] == [
        ("fields.notes", "removed"),
        ("fields.deposit", "added"),
    ]


def test_added_attribute_is_reported_with_its_value() -> None:
    new = unit(rent={"type": "decimal", "min": 0, "max": 9000})

    assert field_changes(unit(), new) == [Change("fields.rent.max", "added", None, "9000")]


def options(*values: str) -> dict[str, Any]:
    return {"type": "enum", "options": [{"value": v} for v in values]}


ENUM_CHANGES = {
    "option inserted before others": (
        options("vacant", "let"),
        options("reserved", "vacant", "let"),
        [("fields.status.options.reserved", "added")],
    ),
    "option removed from the middle": (
        options("vacant", "reserved", "let"),
        options("vacant", "let"),
        [("fields.status.options.reserved", "removed")],
    ),
    "label of one option changed": (
        options("vacant", "let"),
        {"type": "enum", "options": [{"value": "vacant"}, {"value": "let", "label": "已租"}]},
        [("fields.status.options.let.label", "added")],
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), ENUM_CHANGES.values(), ids=ENUM_CHANGES.keys())
def test_enum_options_are_diffed_by_value_not_position(
    old: dict[str, Any], new: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    changes = field_changes(unit(status=old), unit(status=new))

    assert [(c.path, c.change) for c in changes] == expected


def test_reordered_options_say_what_changed() -> None:
    changes = field_changes(
        unit(status=options("vacant", "let")), unit(status=options("let", "vacant"))
    )

    assert changes != []


def test_type_change_is_one_modified_value() -> None:
    changes = field_changes(unit(code={"type": "string"}), unit(code={"type": "integer"}))

    assert changes == [Change("fields.code.type", "modified", "string", "integer")]


def test_changes_are_json_for_the_api() -> None:
    [change] = diff_contents({UNIT: unit()}, {UNIT: unit(rent={"type": "decimal", "min": 1})})

    assert change.as_json() == {
        "app": "estate",
        "kind": "entity",
        "name": "unit",
        "change": "modified",
        "changes": [{"path": "fields.rent.min", "change": "modified", "old": "0", "new": "1"}],
    }
    assert isinstance(change, DefinitionChange)
