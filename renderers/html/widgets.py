"""Building a record form's view model (`form_view.FormView`): the entity's form laid out
in sections and rows of field widgets, each with the widget of its type, its state
(visible, read-only, required) narrowed by permissions, its value and its error.

Built without a database from what the caller read, so the studio can preview a draft's
form with the same code and the same partial (`_form_body.html`) the record screens use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from engine.catalog import Catalog, CompiledEntity
from engine.forms import FieldState
from engine.permissions import FieldLevel, RecordAccess, access_for
from engine.principal import Principal
from metamodel.fields import DateField, DecimalField, FileField, IntegerField
from metamodel.labels import pick
from renderers.html.form_input import input_text, is_checkbox
from renderers.html.form_layout import FormState, layout_of, static_state
from renderers.html.form_view import WORDS, FieldWidget, FormView, Option, SectionView

SIMPLE_KINDS = {"text": "textarea", "json": "json", "date": "date", "datetime": "datetime"}


@dataclass(frozen=True)
class _Context:
    entity: CompiledEntity
    access: RecordAccess
    writable: frozenset[str]
    fixed: frozenset[str]
    editing: bool
    language: str
    timezone: str
    words: dict[str, str]
    choices: Mapping[str, list[tuple[int, str]]]


def build_form_view(
    catalog: Catalog,
    entity: CompiledEntity,
    form_name: str | None,
    values: Mapping[str, Any],
    errors: list[dict[str, Any]],
    principal: Principal,
    language: str,
    *,
    state: FormState | None = None,
    record: Mapping[str, Any] | None = None,
    choices: Mapping[str, list[tuple[int, str]]] | None = None,
) -> FormView:
    """The form `form_name` of `entity` (None: the entity's own form, or the default one).

    `values` are what the inputs show (text as typed, or stored values); `errors` are the
    records service's details (`{"path", "message"}`), shown beside their field or at the
    top. `principal`'s permissions leave out fields it may neither read nor write and make
    read-only those it may not write (or sees masked); the studio previews with
    `engine.principal.SYSTEM` to see every field.
    `state` is the conditions' outcome for `values` (`form_layout.evaluated_state`; without
    it no condition is evaluated); `record` the stored record being edited (None: a new
    one); `choices` the first records each reference field may point at, `(id, title)`.

        view = build_form_view(catalog, unit, None, {"code": "A-1"}, [], SYSTEM, "en")
        view.sections[0].rows[0][0].kind  # "text"
    """
    layout = layout_of(catalog, entity, form_name)
    state = state or static_state(entity, layout)
    access = access_for(entity, principal)
    action = "create" if record is None else "update"
    context = _Context(
        entity=entity,
        access=access,
        writable=access.writable(action) if access.allows(action) else frozenset(),
        fixed=_fixed_by_flow(entity, record),
        editing=record is not None,
        language=language,
        timezone=catalog.options.timezone,
        words=WORDS[language],
        choices=choices or {},
    )
    placed = {e["path"] for e in errors}
    messages = {e["path"]: _message(e["message"], context.words) for e in errors}
    sections = []
    for index, section in enumerate(layout.sections):
        visible = state.sections[index] if index < len(state.sections) else True
        widgets = [
            _widget(context, name, values.get(name), state.fields.get(name), messages.get(name))
            for name in section.fields
            if name in entity.fields and (access.readable(name) or name in context.writable)
        ]
        shown = [w for w in widgets if w.state.visible and visible]
        placed -= {w.name for w in shown}
        rows = tuple(
            tuple(widgets[i : i + section.columns]) for i in range(0, len(widgets), section.columns)
        )
        title = pick(section.title, language)
        sections.append(SectionView(index, title, section.columns, rows, visible))
    top = tuple(
        _top_message(entity, e, language, context.words) for e in errors if e["path"] in placed
    )
    kinds = {w.kind for s in sections for w in s.widgets}
    return FormView(
        app=entity.app,
        entity=entity.name,
        form_name=layout.name,
        title=pick(layout.label, language) or pick(entity.definition.label, language, entity.name),
        sections=tuple(sections),
        errors=top,
        live=layout.conditional,
        multipart="file" in kinds,
        texts=context.words,
    )


def _fixed_by_flow(entity: CompiledEntity, record: Mapping[str, Any] | None) -> frozenset[str]:
    """Fields the record's flow state does not let an update change."""
    if record is None or entity.flow is None:
        return frozenset()
    editable = entity.flow.editable(record.get("state"))
    return frozenset() if editable is None else entity.input_fields - editable


def _widget(
    context: _Context, name: str, value: Any, condition: FieldState | None, error: str | None
) -> FieldWidget:
    spec = context.entity.fields[name]
    condition = condition or FieldState(visible=True, readonly=False, required=spec.required)
    # a masked value cannot be edited, but a new record's may be typed in
    masked = context.editing and context.access.level(name) == FieldLevel.MASKED
    readonly = (
        condition.readonly
        or spec.computed is not None
        or masked
        or name not in context.writable
        or name in context.fixed
    )
    state = FieldState(condition.visible, readonly, condition.required and not readonly)
    note = ""
    if spec.computed is not None:
        note = context.words["computed"]
    elif masked:
        note = context.words["masked"]
    widget = FieldWidget(
        name=name,
        label=pick(spec.label, context.language, name),
        kind="text",
        value=input_text(spec, value, context.timezone),
        state=state,
        error=error or "",
        help=pick(spec.help, context.language),
        note=note,
    )
    return widget if masked else _typed(widget, spec, context)


def _typed(widget: FieldWidget, spec: Any, context: _Context) -> FieldWidget:
    """The widget of the field's type, with the type's limits."""
    words, kind = context.words, spec.type
    if kind in SIMPLE_KINDS:
        limit = getattr(spec, "max_length", None) if kind == "text" else None
        return _limited(replace(widget, kind=SIMPLE_KINDS[kind], maxlength=limit), spec)
    if kind in ("integer", "decimal"):
        scale = spec.scale if isinstance(spec, DecimalField) else 0
        step = "1" if scale == 0 else f"0.{'0' * (scale - 1)}1"
        return _limited(replace(widget, kind="number", step=step), spec)
    if kind == "boolean":
        if is_checkbox(spec):  # an unchecked box is an answer (no): never missing
            return replace(widget, kind="checkbox", state=replace(widget.state, required=False))
        choices = [("", words["choose"]), ("true", words["yes"]), ("false", words["no"])]
        return replace(widget, kind="select", options=_options(choices, widget.value))
    if kind == "enum":
        choices = [("", words["choose"])]
        choices += [(o.value, pick(o.label, context.language, o.value)) for o in spec.options]
        return replace(widget, kind="select", options=_options(choices, widget.value))
    if kind == "reference":
        found = [(str(i), title) for i, title in context.choices.get(widget.name, [])]
        if widget.value and widget.value not in {i for i, _ in found}:
            found.insert(0, (widget.value, f"#{widget.value}"))
        entity = context.entity
        return replace(
            widget,
            kind="reference",
            options=_options([("", words["choose"]), *found], widget.value),
            pick_url=f"/{entity.app}/{entity.name}/pick/{widget.name}",
        )
    if isinstance(spec, FileField):
        url = f"/api/files/{widget.value}" if widget.value else ""
        return replace(widget, kind="file", accept=",".join(spec.accept), file_url=url)
    maxlength = getattr(spec, "max_length", None)  # strings and plugin types
    return replace(widget, maxlength=maxlength)


def _limited(widget: FieldWidget, spec: Any) -> FieldWidget:
    if isinstance(spec, IntegerField | DecimalField | DateField):
        low, high = spec.min, spec.max
        return replace(
            widget,
            minimum="" if low is None else _bound(low),
            maximum="" if high is None else _bound(high),
        )
    return widget


def _bound(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value.isoformat() if isinstance(value, date) else str(value)


def _options(choices: list[tuple[str, str]], value: str) -> tuple[Option, ...]:
    return tuple(Option(v, label, v == value) for v, label in choices)


def _message(message: str, words: dict[str, str]) -> str:
    return words["is_required"] if message == "is required" else message


def _top_message(
    entity: CompiledEntity, error: dict[str, Any], language: str, words: dict[str, str]
) -> str:
    """A message with no field on the form: named after its field when it has one."""
    path, message = error["path"], _message(error["message"], words)
    if not path:
        return message
    spec = entity.fields.get(path)
    label = pick(spec.label, language, path) if spec is not None else path
    return f"{label}: {message}"
