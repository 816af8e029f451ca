"""The studio's view models and the field editor's edits, built without HTTP or database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.dry_run import DryRunReport, Finding
from engine.expressions.definitions import load_definitions
from metamodel import store
from metamodel.diff import diff_contents
from metamodel.fields import FIELD_TYPES
from metamodel.loader import read_folder
from renderers.html.chrome import Chrome
from renderers.html.environment import build_environment
from renderers.html.studio.browse import build_browse_page, check_new_definition, notice_of
from renderers.html.studio.changes import Review, build_diff_page
from renderers.html.studio.context import DefinitionsState, Problem
from renderers.html.studio.editor import build_editor_page
from renderers.html.studio.edits import (
    EditRefused,
    NewField,
    add_field,
    append_to_form,
    append_to_list,
    move_field,
    options_text,
    parse_options,
    relabel_field,
)
from renderers.html.studio.field_editor import build_form_layout, field_types_of
from renderers.html.studio.history import build_history_page
from renderers.html.studio.words import TEXTS
from renderers.html.texts import words
from tests.apps_config.shipped import SHIPPED

APP = ("estate", "app", "estate")
UNIT = ("estate", "entity", "unit")
METER = ("estate", "entity", "meter")
FORM = ("estate", "form", "unit")
PUBLISHED: dict[tuple[str, str, str], dict[str, Any]] = {
    APP: {"name": "estate", "label": {"zh": "物业", "en": "Estate"}},
    UNIT: {
        "name": "unit",
        "label": {"zh": "房屋", "en": "Unit"},
        "fields": {
            "code": {"type": "string", "required": True, "label": {"zh": "编号", "en": "Code"}},
            "status": {
                "type": "enum",
                "options": [{"value": "vacant", "label": {"zh": "空置", "en": "Vacant"}}],
            },
        },
    },
    METER: {"name": "meter", "fields": {"serial": {"type": "string"}}},
    FORM: {
        "name": "unit",
        "entity": "unit",
        "sections": [
            {"title": {"en": "Unit"}, "fields": ["code"]},
            {"fields": ["status"]},
        ],
    },
}


def chrome(language: str = "en") -> Chrome:
    return Chrome(
        language=language,
        texts=words(language, TEXTS),
        title="",
        path="/studio",
        username="admin",
        csrf_token="token",
        switch_language_url="/-/language",
    )


def with_deposit() -> dict[str, Any]:
    return add_field(PUBLISHED[UNIT], NewField(name="deposit", type="decimal"), FIELD_TYPES)


def test_browse_groups_definitions_by_kind_and_marks_each_draft_change() -> None:
    garage = ("estate", "entity", "garage")
    state = DefinitionsState(
        3, PUBLISHED, {UNIT: with_deposit(), METER: None, garage: {"name": "garage"}}
    )

    page = build_browse_page(chrome(), state, can_change=True)

    (app,) = page.apps
    assert (app.name, app.label, app.pending, page.pending, page.version) == (
        "estate",
        "Estate",
        3,
        3,
        3,
    )
    entities = next(g for g in app.groups if g.kind == "entity")
    assert [(e.name, e.change) for e in entities.entries] == [
        ("garage", "new"),
        ("meter", "deleted"),
        ("unit", "changed"),
    ]
    assert entities.entries[2].url == "/studio/estate/entity/unit"
    assert entities.entries[2].label == "Unit"
    assert [g.kind for g in app.groups] == ["app", "entity", "form"]


@pytest.mark.parametrize(
    ("app", "kind", "name", "errors"),
    [
        ("estate", "entity", "garage", {}),
        ("estate", "roles", "", {}),
        ("Estate", "entity", "garage", {"app": "bad_name"}),
        ("estate", "widget", "garage", {"kind": "bad_kind"}),
        ("estate", "form", "1st", {"name": "bad_name"}),
    ],
)
def test_a_new_definitions_key_is_checked(
    app: str, kind: str, name: str, errors: dict[str, str]
) -> None:
    assert check_new_definition(app, kind, name).errors == errors


def test_notices_name_the_version_and_ignore_anything_else() -> None:
    texts = chrome().texts

    assert notice_of({"published": "4"}, texts) == "Published version 4."
    assert notice_of({"published": "5", "rolled_back_to": "2"}, texts).startswith("Rolled back")
    assert notice_of({"published": "<b>"}, texts) == ""
    assert (
        notice_of({"deleted": "estate/entity/meter"}, texts)
        == "The draft deletes estate/entity/meter."
    )


def test_add_field_appends_the_typed_field() -> None:
    new = NewField(
        name="heating",
        type="enum",
        label_zh="供暖",
        required=True,
        options="gas=燃气|Gas\n\nnone",
    )

    content = add_field(PUBLISHED[UNIT], new, FIELD_TYPES)

    assert list(content["fields"]) == ["code", "status", "heating"]
    assert content["fields"]["heating"] == {
        "type": "enum",
        "label": {"zh": "供暖"},
        "required": True,
        "options": [{"value": "gas", "label": {"zh": "燃气", "en": "Gas"}}, {"value": "none"}],
    }
    assert "heating" not in PUBLISHED[UNIT]["fields"]  # the original is left alone


def test_add_field_sets_a_strings_max_length_and_a_references_entity() -> None:
    text = add_field(PUBLISHED[UNIT], NewField("note", "string", max_length="40"), FIELD_TYPES)
    link = add_field(PUBLISHED[UNIT], NewField("meter", "reference", entity="meter"), FIELD_TYPES)

    assert text["fields"]["note"] == {"type": "string", "max_length": 40}
    assert link["fields"]["meter"] == {"type": "reference", "entity": "meter"}


@pytest.mark.parametrize(
    ("new", "errors"),
    [
        (NewField(name="code"), {"name": "name_taken"}),
        (NewField(name="Code"), {"name": "bad_name"}),
        (NewField(name="state"), {"name": "name_reserved"}),
        (NewField(name="x", type="money"), {"type": "type_unknown"}),
        (NewField(name="x", max_length="long"), {"max_length": "bad_max_length"}),
        (NewField(name="x", type="enum"), {"options": "options_needed"}),
        (NewField(name="x", type="enum", options="a=A\na=B"), {"options": "duplicate_option"}),
        (NewField(name="x", type="reference"), {"entity": "entity_needed"}),
    ],
)
def test_add_field_refuses_what_cannot_be_a_field(new: NewField, errors: dict[str, str]) -> None:
    with pytest.raises(EditRefused) as refused:
        add_field(PUBLISHED[UNIT], new, FIELD_TYPES)

    assert refused.value.errors == errors


def test_a_field_shown_in_the_list_keeps_the_default_columns_before_it() -> None:
    wide = {
        "title_field": "code",
        "fields": {
            n: {"type": "text" if n == "notes" else "string"}
            for n in ["code", "a", "b", "notes", "c", "d", "e", "f", "g"]
        },
    }

    listed = add_field(wide, NewField("deposit", "decimal", in_list=True), FIELD_TYPES)
    again = append_to_list(listed, "deposit")

    assert listed["list_fields"] == ["code", "a", "b", "c", "d", "e", "f", "deposit"]
    assert again["list_fields"] == listed["list_fields"]
    assert "list_fields" not in add_field(wide, NewField("x", "string"), FIELD_TYPES)


def test_plugin_field_types_are_accepted_when_offered() -> None:
    content = add_field(
        PUBLISHED[UNIT], NewField("id_no", "id_number"), [*FIELD_TYPES, "id_number"]
    )

    assert content["fields"]["id_no"] == {"type": "id_number"}


def test_relabel_sets_labels_and_options_and_drops_an_empty_label() -> None:
    status = relabel_field(PUBLISHED[UNIT], "status", "状态", "", "vacant=空置|Vacant\nlet=已租")
    code = relabel_field(PUBLISHED[UNIT], "code", "", "")

    assert status["fields"]["status"]["label"] == {"zh": "状态"}
    assert [o["value"] for o in status["fields"]["status"]["options"]] == ["vacant", "let"]
    assert "label" not in code["fields"]["code"]
    with pytest.raises(EditRefused):
        relabel_field(PUBLISHED[UNIT], "nope", "x", "")


def test_options_read_back_as_they_are_written() -> None:
    options = [
        {"value": "gas", "label": {"zh": "燃气", "en": "Gas"}},
        {"value": "none", "label": {"zh": "无"}},
        {"value": "other"},
    ]

    assert options_text(options) == "gas=燃气|Gas\nnone=无\nother"
    assert parse_options(options_text(options)) == options


def test_move_field_within_and_between_sections() -> None:
    form = {"sections": [{"fields": ["a", "b", "c"]}, {"fields": ["d"]}]}

    assert move_field(form, "b", "up")["sections"][0]["fields"] == ["b", "a", "c"]
    assert move_field(form, "b", "down")["sections"][0]["fields"] == ["a", "c", "b"]
    assert move_field(form, "a", "up")["sections"][0]["fields"] == ["a", "b", "c"]
    moved = move_field(form, "a", "section", 1)
    assert [s["fields"] for s in moved["sections"]] == [["b", "c"], ["d", "a"]]
    with pytest.raises(EditRefused) as refused:
        move_field(form, "d", "section", 0)
    assert refused.value.errors == {"section": "last_in_section"}


def test_append_to_form_adds_to_the_last_section_once() -> None:
    form = append_to_form(PUBLISHED[FORM], "deposit")

    assert form["sections"][-1]["fields"] == ["status", "deposit"]
    assert append_to_form(form, "deposit") == form


def test_form_layout_lists_sections_with_labels_and_the_moves_allowed() -> None:
    layout = build_form_layout(PUBLISHED, "estate", "unit", "en", chrome().texts)

    assert [s.title for s in layout.sections] == ["Unit", "Section 2"]
    (code,) = layout.sections[0].fields
    assert (code.name, code.label, code.first, code.last) == ("code", "Code", True, True)
    assert layout.action == "/studio/estate/form/unit/move"


@pytest.mark.parametrize(
    ("draft", "status", "shows_deposit"),
    [
        ({}, "published", False),
        ({UNIT: "deposit"}, "draft", True),
        ({UNIT: None}, "deleted", False),
    ],
)
def test_editor_shows_the_draft_else_the_published_definition(
    draft: dict[Any, Any], status: str, shows_deposit: bool
) -> None:
    pending = {key: (with_deposit() if value else None) for key, value in draft.items()}
    state = DefinitionsState(1, PUBLISHED, pending)

    page = build_editor_page(chrome(), state, UNIT, True, list(FIELD_TYPES))

    assert page.status == status
    assert ("deposit:" in page.text) is shows_deposit
    assert "name: unit" in page.text
    assert (page.entity_editor is not None) is (status != "deleted")


def test_editor_of_an_unknown_definition_starts_a_new_one() -> None:
    state = DefinitionsState(1, PUBLISHED, {})

    page = build_editor_page(chrome(), state, ("estate", "entity", "garage"), True, [])

    assert page.status == "new" and "fields:" in page.text and not page.can_delete


def test_editor_keeps_the_typed_text_and_its_problems() -> None:
    state = DefinitionsState(1, PUBLISHED, {})
    problems = [Problem("unknown field type", "fields.code.type", 3)]

    page = build_editor_page(chrome(), state, UNIT, True, [], "fields: {}", problems)

    assert page.text == "fields: {}" and page.problems == problems


def test_diff_page_shows_each_path_with_old_and_new_values() -> None:
    draft = store.apply_draft(PUBLISHED, {UNIT: with_deposit(), METER: None})
    report = DryRunReport([Finding("warning", "estate.meter", "entity removed", rows=4)])
    review = Review(2, diff_contents(PUBLISHED, draft), report)

    page = build_diff_page(chrome(), review, can_change=True)

    assert [(d.name, d.change) for d in page.definitions] == [
        ("meter", "removed"),
        ("unit", "modified"),
    ]
    (added,) = page.definitions[1].paths
    assert (added.path, added.change, added.old, added.new) == (
        "fields.deposit",
        "added",
        "",
        '{"type": "decimal"}',
    )
    assert page.dry_run is not None and not page.dry_run.blocked
    assert [(f.severity, f.badge, f.rows) for f in page.dry_run.findings] == [
        ("warning", "warn", 4)
    ]


def test_diff_page_for_a_reader_has_no_dry_run() -> None:
    changed = relabel_field(PUBLISHED[UNIT], "code", "代码", "Code")
    review = Review(2, diff_contents(PUBLISHED, {**PUBLISHED, UNIT: changed}), None)

    page = build_diff_page(chrome(), review, can_change=False)

    (path,) = page.definitions[0].paths
    assert (path.path, path.old, path.new) == ("fields.code.label.zh", "编号", "代码")
    assert page.dry_run is None


def test_history_lists_the_newest_first_in_local_time() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    versions = [
        store.VersionInfo(1, None, "a" * 64, "system", moment, "Imported apps_config"),
        store.VersionInfo(2, 1, "b" * 64, "li", moment, "押金"),
    ]

    page = build_history_page(chrome(), versions, "Asia/Shanghai", can_change=True)

    assert [(r.version, r.current) for r in page.versions] == [(2, True), (1, False)]
    assert page.versions[0].created_at == "2026-01-02 11:04:05"
    assert page.versions[1].diff_url == "/audit/versions/1"


def test_every_shipped_definition_is_listed_and_its_editor_renders() -> None:
    folder = Path(__file__).resolve().parents[2] / "apps_config"
    contents = load_definitions(
        read_folder(folder), SHIPPED.functions, SHIPPED.field_types
    ).contents
    state = DefinitionsState(1, contents, {})
    templates = build_environment()
    types = field_types_of(SHIPPED.field_types)

    listed = templates.get_template("studio/browse.html").render(
        page=build_browse_page(chrome("zh"), state, can_change=True)
    )

    for key in contents:
        assert f'id="definition-{"-".join(key)}"' in listed
        page = build_editor_page(chrome("zh"), state, key, True, types)
        html = templates.get_template("studio/editor.html").render(page=page)
        assert 'id="definition-yaml"' in html, key
    assert "id_number" in types
