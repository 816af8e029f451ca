"""The filter form of a list screen, built from field types: enum choices, date and number
ranges, yes/no, reference pickers and the text search.

Every input is named as the JSON API reads it (`status=let`, `rent__gte=100`, `q=`), so the
form works as a plain GET without script; htmx only swaps the results in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.catalog import CompiledEntity
from engine.permissions import RecordAccess
from metamodel.fields import EnumField, FieldDefinition
from metamodel.labels import pick
from renderers.html.values import field_label

MAX_FILTERS = 8
RANGE_INPUTS = {
    "date": "date",
    "datetime": "datetime-local",
    "integer": "number",
    "decimal": "number",
}
FILTERED_TYPES = ("enum", "boolean", "reference", *RANGE_INPUTS)
ALWAYS_FILTERED = ("enum", "date", "datetime", "reference")  # offered even when not a column


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class FilterInput:
    """One labelled input (in a range, labelled "from"/"to" under the field's legend).

    `kind` is an HTML input type, or "select". A reference's input also has `picker_url`,
    whose `?q=` answers `<option value="id">title</option>` for the datalist
    `options-<field>`."""

    name: str
    id: str
    label: str
    kind: str
    value: str
    choices: list[Choice] = field(default_factory=list)
    step: str = ""
    picker_url: str = ""


@dataclass(frozen=True)
class Filter:
    """A field's filter: one input, or two for a from/to range."""

    name: str
    label: str
    inputs: list[FilterInput]

    @property
    def is_range(self) -> bool:
        return len(self.inputs) > 1


def filters_of(
    entity: CompiledEntity,
    access: RecordAccess,
    columns: list[str],
    params: Sequence[tuple[str, str]],
    texts: dict[str, str],
    language: str,
    path: str,
) -> list[Filter]:
    """Filters for the list's columns, then its other enum, date and reference fields, up to
    MAX_FILTERS; only fields the user sees in clear (the others allow exact matches only)."""
    values = dict(params)
    names = [*columns, *(n for n, s in entity.fields.items() if s.type in ALWAYS_FILTERED)]
    chosen: list[str] = []
    for name in names:
        spec = entity.fields[name]
        if name in chosen or spec.type not in FILTERED_TYPES:
            continue
        if not access.clear(name) or name in entity.sensitive_fields:
            continue
        chosen.append(name)
    return [
        _filter(
            name,
            entity.fields[name],
            field_label(entity, name, language),
            values,
            texts,
            language,
            path,
        )
        for name in chosen[:MAX_FILTERS]
    ]


def search_of(
    entity: CompiledEntity,
    access: RecordAccess,
    params: Sequence[tuple[str, str]],
    texts: dict[str, str],
) -> FilterInput | None:
    """The `q` box, when the entity has search fields the user sees in clear."""
    if not any(access.clear(n) for n in entity.search_fields):
        return None
    return FilterInput("q", "filter-q", texts["search"], "search", dict(params).get("q", ""))


def _filter(
    name: str,
    spec: FieldDefinition,
    label: str,
    values: dict[str, str],
    texts: dict[str, str],
    language: str,
    path: str,
) -> Filter:
    own_id = f"filter-{name}"
    current = values.get(name, "")
    if isinstance(spec, EnumField):
        options = [(o.value, pick(o.label, language, o.value)) for o in spec.options]
        return Filter(name, label, [_select(name, own_id, label, current, options, texts)])
    if spec.type == "boolean":
        options = [("true", texts["yes"]), ("false", texts["no"])]
        return Filter(name, label, [_select(name, own_id, label, current, options, texts)])
    if spec.type == "reference":
        picker = f"{path}/pick/{name}"
        return Filter(
            name, label, [FilterInput(name, own_id, label, "number", current, picker_url=picker)]
        )
    kind = RANGE_INPUTS[spec.type]
    step = "1" if spec.type == "integer" else "any" if spec.type == "decimal" else ""
    low, high = ("min", "max") if kind == "number" else ("from", "to")
    inputs = [
        FilterInput(
            f"{name}__{op}",
            f"{own_id}-{op}",
            texts[word],
            kind,
            values.get(f"{name}__{op}", ""),
            step=step,
        )
        for op, word in (("gte", low), ("lte", high))
    ]
    return Filter(name, label, inputs)


def _select(
    name: str,
    own_id: str,
    label: str,
    current: str,
    options: list[tuple[str, str]],
    texts: dict[str, str],
) -> FilterInput:
    choices = [Choice("", texts["any"], current == "")]
    choices += [Choice(value, shown, value == current) for value, shown in options]
    return FilterInput(name, own_id, label, "select", current, choices)
