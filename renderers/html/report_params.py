"""The parameters form of a report: one typed input per parameter the definition declares
(date, number, yes/no, a select of an enum's options, a reference by number with the titles
of the first records the user may list), each with its error from `parse_params` beside it.

The form is a plain GET of the report's page, so a report with its parameters is a link
that can be bookmarked and sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from metamodel.labels import pick
from metamodel.reports import Param

INPUT_KINDS = {
    "string": "text",
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "boolean": "select",
    "enum": "select",
    "reference": "reference",
}
SCREEN_WORDS = ("lang",)  # the screen's own query words, never a parameter
TEXTS = {
    "zh": {"any": "全部", "yes": "是", "no": "否", "find": "查找", "required": "必填"},
    "en": {"any": "Any", "yes": "Yes", "no": "No", "find": "Find", "required": "required"},
}


@dataclass(frozen=True)
class ParamChoice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class ParamInput:
    """One labelled input named as the API reads it (`as_of=2026-11-21`). `kind` is text,
    number, date, select or reference (a number input with a `datalist` of `choices`, and
    `picker_url` answering `<option>`s for a search)."""

    name: str
    id: str
    label: str
    kind: str
    value: str
    required: bool = False
    step: str = ""
    choices: list[ParamChoice] = field(default_factory=list)
    picker_url: str = ""
    error: str = ""

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"


def raw_params(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The parameters in a query string: not the drill-down's cell (`k.…`, `m`), paging, the
    export format or the screen's own words, and not empty inputs (their default applies)."""
    skipped = ("cursor", "limit", "format", "m", *SCREEN_WORDS)
    return {k: v for k, v in items if v != "" and not k.startswith("k.") and k not in skipped}


def param_query(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Parameters as query pairs, in the form the API reads back (dates ISO, booleans
    true/false); None left out."""
    pairs = []
    for name, value in values.items():
        if value is None:
            continue
        pairs.append((name, as_text(value)))
    return pairs


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def param_inputs(
    params: Mapping[str, Param],
    values: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]],
    choices: Mapping[str, list[tuple[int, str]]],
    picker_base: str,
    language: str,
) -> list[ParamInput]:
    """An input per parameter holding `values` (what the user sent, else what the report ran
    with); `errors` are the 422's details (`params.<name>`); `choices` the first records of
    each reference parameter's entity."""
    words = TEXTS[language]
    messages = _messages(errors)
    inputs = []
    for name, param in params.items():
        own_id = f"param-{name}"
        label = pick(param.label, language, name)
        current = as_text(values[name]) if values.get(name) is not None else ""
        kind = INPUT_KINDS[param.type]
        step = "1" if param.type == "integer" else "any" if param.type == "decimal" else ""
        options: list[ParamChoice] = []
        picker = ""
        if param.type == "enum":
            options = _choices(current, [(o, o) for o in param.options], words, param.required)
        elif param.type == "boolean":
            pairs = [("true", words["yes"]), ("false", words["no"])]
            options = _choices(current, pairs, words, param.required)
        elif param.type == "reference":
            found = [(str(i), title) for i, title in choices.get(name, [])]
            options = [ParamChoice(v, t, v == current) for v, t in found]
            picker = f"{picker_base}/{name}"
        inputs.append(
            ParamInput(
                name=name,
                id=own_id,
                label=label,
                kind=kind,
                value=current,
                required=param.required,
                step=step,
                choices=options,
                picker_url=picker,
                error=messages.get(name, ""),
            )
        )
    return inputs


def loose_errors(errors: Sequence[Mapping[str, Any]], params: Mapping[str, Param]) -> list[str]:
    """Messages about no parameter of the form (shown above it)."""
    known = set(params)
    return [
        str(e.get("message", ""))
        for e in errors
        if _param_name(str(e.get("path", ""))) not in known
    ]


def _messages(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        name = _param_name(str(error.get("path", "")))
        if name and name not in found:
            found[name] = str(error.get("message", ""))
    return found


def _param_name(path: str) -> str:
    """`params.as_of` → `as_of`; a bare name is taken as it is."""
    head, _, rest = path.partition(".")
    return rest.split(".")[0] if head == "params" and rest else path


def _choices(
    current: str, options: list[tuple[str, str]], words: dict[str, str], required: bool
) -> list[ParamChoice]:
    chosen = [] if required else [ParamChoice("", words["any"], current == "")]
    return chosen + [ParamChoice(v, label, v == current) for v, label in options]
