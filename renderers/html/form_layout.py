"""Which form an entity's screens use, and the state of its fields for given values.

An entity's form is a form definition that names it (`?form=name` picks another); without
one, a default layout of one section holds every field a client may set. The state (visible,
read-only, required) comes from the definition's conditions, evaluated server-side by
`engine.forms.form_state`; permissions narrow it further in `renderers.html.widgets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine import forms
from engine.catalog import Catalog, CompiledEntity
from engine.errors import NotFound
from engine.forms import FieldState
from engine.principal import Principal
from metamodel.labels import Labels
from metamodel.models import FormSection

DEFAULT_COLUMNS = 2


@dataclass(frozen=True)
class Layout:
    """Where an entity's fields go: a form definition's sections, or the default section.

    `app` and `name` name the form definition (`name` is None for the default layout);
    `conditional` says whether any condition needs re-evaluating as the user types.
    """

    app: str
    name: str | None
    label: Labels
    sections: tuple[FormSection, ...]
    conditional: bool

    @property
    def field_names(self) -> list[str]:
        return [name for section in self.sections for name in section.fields]


@dataclass(frozen=True)
class FormState:
    """Each field's state and each section's visibility, before permissions narrow them."""

    fields: dict[str, FieldState]
    sections: tuple[bool, ...]


def layout_of(catalog: Catalog, entity: CompiledEntity, form_name: str | None = None) -> Layout:
    """The form `form_name` (404 if no form of that name lays out `entity`), else the
    entity's own form, else the default layout."""
    candidates = [
        (app, name)
        for (app, name), compiled in catalog.forms.items()
        if (compiled.app, compiled.entity) == (entity.app, entity.name)
    ]
    # the entity's own app first, and there a form named after the entity
    candidates.sort(key=lambda key: (key[0] != entity.app, key[1] != entity.name, key))
    if form_name:
        candidates = [key for key in candidates if key[1] == form_name]
        if not candidates:
            raise NotFound(f"no form {form_name} for {entity.path}")
    if not candidates:
        return default_layout(entity)
    app, name = candidates[0]
    definition = catalog.definitions.apps[app].forms[name]
    compiled = catalog.forms[(app, name)]
    return Layout(
        app=app,
        name=name,
        label=definition.label,
        sections=tuple(definition.sections),
        conditional=bool(compiled.fields or compiled.sections),
    )


def default_layout(entity: CompiledEntity) -> Layout:
    names = [name for name in entity.fields if name in entity.input_fields]
    sections = (FormSection(columns=DEFAULT_COLUMNS, fields=names),) if names else ()
    return Layout(entity.app, None, entity.definition.label, sections, conditional=False)


def static_state(entity: CompiledEntity, layout: Layout) -> FormState:
    """The state with no condition evaluated: every field visible, computed ones read-only,
    required as the field definition says."""
    fields = {
        name: FieldState(
            visible=True,
            readonly=entity.fields[name].computed is not None,
            required=entity.fields[name].computed is None and entity.fields[name].required,
        )
        for name in layout.field_names
        if name in entity.fields
    }
    return FormState(fields, tuple(True for _ in layout.sections))


def evaluated_state(
    conn: sa.Connection,
    catalog: Catalog,
    entity: CompiledEntity,
    layout: Layout,
    values: dict[str, Any],
    principal: Principal,
) -> FormState:
    """The state for `values` (text as typed, or stored values): the definition's conditions
    evaluated through the engine, as the JSON API's form state does."""
    if layout.name is None or not layout.conditional:
        return static_state(entity, layout)
    found = forms.form_state(conn, catalog, layout.app, layout.name, values, principal)
    fields = {name: FieldState(**state) for name, state in found["fields"].items()}
    return FormState(fields, tuple(found["sections"]))
