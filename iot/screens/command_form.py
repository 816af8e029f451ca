"""The form of a device command: one input per property of the command's JSON Schema
(`params`), and the submitted form read back into parameters.

The form only shapes input (a number field for an integer, a select for an enum, a local
date and time for `format: date-time`); the command service checks the parameters against
the schema itself, and its errors (`params.<name>`) come back beside the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import ValidationFailed, field_error
from metamodel.devices import Command, DeviceType
from metamodel.labels import pick

PARAM_PREFIX = "param."
BOOLEAN_CHOICES = (("true", True), ("false", False))


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class ParamInput:
    """One parameter: `kind` is select, number, text or datetime-local."""

    name: str
    id: str
    label: str
    kind: str
    value: str
    required: bool
    choices: list[Choice] = field(default_factory=list)
    min: str = ""
    max: str = ""
    step: str = ""
    minlength: str = ""
    maxlength: str = ""
    error: str = ""


@dataclass(frozen=True)
class CommandForm:
    """The form that requests one command; `open` when it comes back with errors."""

    name: str
    label: str
    risk: str
    needs_reason: bool
    inputs: list[ParamInput]
    reason: str = ""
    reason_error: str = ""
    errors: list[str] = field(default_factory=list)
    open: bool = False


@dataclass(frozen=True)
class Failed:
    """A refused request, to show again: what was entered and why it was refused."""

    command: str
    values: dict[str, str]
    details: list[dict[str, Any]]


def command_forms(
    device_type: DeviceType, language: str, failed: Failed | None = None
) -> list[CommandForm]:
    """A form per command of the type, in the order the type lists them."""
    return [
        _form(name, command, language, failed if failed and failed.command == name else None)
        for name, command in device_type.commands.items()
    ]


def _form(name: str, command: Command, language: str, failed: Failed | None) -> CommandForm:
    values = failed.values if failed else {}
    details = failed.details if failed else []
    by_path = {str(d.get("path", "")): str(d.get("message", "")) for d in details}
    properties = command.params.get("properties") or {}
    required = set(command.params.get("required") or [])
    inputs = [
        _input(
            name,
            prop,
            schema if isinstance(schema, dict) else {},
            prop in required,
            values.get(PARAM_PREFIX + prop, ""),
            by_path.get(f"params.{prop}", ""),
        )
        for prop, schema in properties.items()
    ]
    shown = {f"params.{prop}" for prop in properties} | {"reason"}
    loose = [
        f"{d['path']}: {d['message']}" if d.get("path") else str(d.get("message", ""))
        for d in details
        if str(d.get("path", "")) not in shown
    ]
    return CommandForm(
        name=name,
        label=pick(command.label, language, name),
        risk=command.risk,
        needs_reason=command.risk == "high",
        inputs=inputs,
        reason=values.get("reason", ""),
        reason_error=by_path.get("reason", ""),
        errors=loose,
        open=failed is not None,
    )


def _input(
    command: str, name: str, schema: dict[str, Any], required: bool, value: str, error: str
) -> ParamInput:
    plain = ParamInput(
        name=PARAM_PREFIX + name,
        id=f"command-{command}-{name}",
        label=str(schema.get("title") or name),
        kind="text",
        value=value,
        required=required,
        error=error,
    )
    options = _options(schema)
    if options is not None:
        blank = [] if required else [Choice("", "—", value == "")]
        choices = blank + [Choice(text, text, text == value) for text, _ in options]
        return replace(plain, kind="select", choices=choices)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return replace(
            plain,
            kind="number",
            min=_bound(schema.get("minimum")),
            max=_bound(schema.get("maximum")),
            step="1" if kind == "integer" else "any",
        )
    if schema.get("format") == "date-time":
        return replace(plain, kind="datetime-local")
    return replace(
        plain, minlength=_bound(schema.get("minLength")), maxlength=_bound(schema.get("maxLength"))
    )


def _options(schema: Mapping[str, Any]) -> list[tuple[str, Any]] | None:
    """An enum's (text, value) pairs; a boolean's yes and no; else None."""
    if isinstance(schema.get("enum"), list):
        return [(_text(v), v) for v in schema["enum"]]
    if schema.get("type") == "boolean":
        return list(BOOLEAN_CHOICES)
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bound(value: Any) -> str:
    return "" if value is None or isinstance(value, bool) else str(value)


def params_from_form(command: Command, form: Mapping[str, str], timezone: str) -> dict[str, Any]:
    """The parameters a submitted form gives, typed as the schema asks; blank inputs are left
    out (the schema says whether that is allowed). 422 naming `params.<name>` for a value
    that is not what its input asks for."""
    params: dict[str, Any] = {}
    errors = []
    properties = command.params.get("properties") or {}
    for name, schema in properties.items():
        raw = str(form.get(PARAM_PREFIX + name, "")).strip()
        if not raw or not isinstance(schema, dict):
            continue
        try:
            params[name] = _typed(schema, raw, timezone)
        except ValueError as wrong:
            errors.append(field_error(f"params.{name}", str(wrong)))
    if errors:
        raise ValidationFailed("the command's parameters are not valid", errors)
    return params


def _typed(schema: Mapping[str, Any], raw: str, timezone: str) -> Any:
    options = _options(schema)
    if options is not None:
        for text, value in options:
            if text == raw:
                return value
        raise ValueError(f"expected one of {', '.join(t for t, _ in options)}")
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
    if schema.get("format") == "date-time":
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("expected a date and time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        return moment.isoformat()
    return raw
