"""The field editor's panels on an entity's and a form's page: the entity's fields with
their labels and options and an "add a field" form; the form's sections with each field's
moves. View models only; `field_changes` holds the routes they post to."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from metamodel.fields import FIELD_TYPES
from metamodel.labels import pick
from renderers.html.studio.context import Contents, format_word
from renderers.html.studio.edits import NewField, options_text

Errors = dict[str, str]  # input id → message, shown beside that input


@dataclass(frozen=True)
class FieldRow:
    """One field of the entity, with the labels and (for an enum) options to edit."""

    name: str
    type: str
    label_zh: str
    label_en: str
    required: bool
    is_enum: bool
    options: str  # as `value=中文|English` lines


@dataclass(frozen=True)
class EntityEditor:
    """The entity's fields, the add-field form as typed, and where each may point:
    `field_types` (built in and from plugins), `entities` for references, `forms` of the
    entity to add a new field to."""

    action: str  # where the add-field form posts
    fields: list[FieldRow]
    field_types: list[str]
    entities: list[str]
    forms: list[str]
    new: NewField
    errors: Errors = field(default_factory=dict)


@dataclass(frozen=True)
class LayoutField:
    """A field in a form section, as its label, with which moves make sense."""

    name: str
    label: str
    first: bool  # no "up" for the first of a section
    last: bool


@dataclass(frozen=True)
class LayoutSection:
    """A section of the form, by position (`index`, what a move posts)."""

    index: int
    title: str
    fields: list[LayoutField]


@dataclass(frozen=True)
class FormLayout:
    """The form's sections in order; each field posts its moves to `action`."""

    action: str
    sections: list[LayoutSection]
    errors: Errors = field(default_factory=dict)


def field_types_of(plugin_types: Collection[str]) -> list[str]:
    return [*FIELD_TYPES, *sorted(set(plugin_types) - set(FIELD_TYPES))]


def build_entity_editor(
    merged: Contents,
    app: str,
    name: str,
    field_types: list[str],
    language: str,
    new: NewField | None = None,
    errors: Errors | None = None,
) -> EntityEditor:
    content = merged[(app, "entity", name)]
    rows = []
    for field_name, spec in content.get("fields", {}).items():
        label = _labels_of(spec.get("label"))
        rows.append(
            FieldRow(
                name=field_name,
                type=str(spec.get("type", "")),
                label_zh=label.get("zh", ""),
                label_en=label.get("en", ""),
                required=bool(spec.get("required")),
                is_enum=spec.get("type") == "enum",
                options=options_text(spec.get("options", [])),
            )
        )
    entities = sorted(k[2] for k in merged if k[0] == app and k[1] == "entity")
    forms = sorted(
        k[2]
        for k, c in merged.items()
        if k[0] == app and k[1] == "form" and c.get("entity") in (name, f"{app}.{name}")
    )
    return EntityEditor(
        action=f"/studio/{app}/entity/{name}/fields",
        fields=rows,
        field_types=field_types,
        entities=entities,
        forms=forms,
        new=new or NewField(forms=tuple(forms), in_list=True),
        errors=errors or {},
    )


def build_form_layout(
    merged: Contents,
    app: str,
    name: str,
    language: str,
    texts: dict[str, str],
    errors: Errors | None = None,
) -> FormLayout:
    content = merged[(app, "form", name)]
    entity_name = str(content.get("entity", "")).rpartition(".")[2]
    entity_app = str(content.get("entity", "")).rpartition(".")[0] or app
    entity = merged.get((entity_app, "entity", entity_name), {})
    sections = []
    for index, section in enumerate(content.get("sections", [])):
        names = section.get("fields", [])
        fields = [
            LayoutField(
                field_name,
                _field_label(entity, field_name, language),
                position == 0,
                position == len(names) - 1,
            )
            for position, field_name in enumerate(names)
        ]
        title = pick(_labels_of(section.get("title")), language) or format_word(
            texts, "untitled_section", n=index + 1
        )
        sections.append(LayoutSection(index, title, fields))
    return FormLayout(f"/studio/{app}/form/{name}/move", sections, errors or {})


def _field_label(entity: dict[str, Any], name: str, language: str) -> str:
    spec = entity.get("fields", {}).get(name, {})
    return pick(_labels_of(spec.get("label")), language, name)


def _labels_of(label: Any) -> dict[str, str]:
    if isinstance(label, str):
        return {"zh": label}
    return dict(label) if isinstance(label, dict) else {}
