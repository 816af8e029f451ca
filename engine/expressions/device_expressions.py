"""The expressions of a device rule: its condition over what a reading offers, and the
recipients given as expressions — checked while definitions load (`compile_definitions`), so
a condition that does not fit its device type refuses the definitions with file and path,
and compiled again per catalog by `iot/rules/compile.py`, which runs them. The cron of a
scene is checked here too, like an alert rule's (`alert_expressions.py`).

A condition reads `values.<field>` (this reading), `previous.<field>` (the device's latest
value before it), `delta.<field>` (the change of a cumulative field), `baseline.<field>`
(each number field's 7-day average; for a cumulative field, its average increase per
reading), `device.<field or attribute>`, `unit.<field>` (the bound housing unit), `now` and
`today`; a bare name is a field of the device record::

    values.temperature > 70
    delta.volume > 0 and unit.status == "vacant"
    delta.volume > baseline.volume * 3

Numbers are decimals, so arithmetic with literals such as `1.5` is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.alerts.cron import CronError, parse_cron
from engine.expressions import Expression, FunctionRegistry, compile_expression
from engine.expressions.errors import ExpressionError
from engine.expressions.scope import CLOCK, ExpressionContext, Scope
from engine.expressions.types import Type, described, field_type
from metamodel.definitions import Definitions, Key
from metamodel.device_checks import find_type
from metamodel.devices import (
    DEVICE_ENTITY,
    DEVICE_UNIT_FIELD,
    DeviceRule,
    DeviceType,
    TelemetryField,
)
from metamodel.fields import ReferenceField
from metamodel.models import Entity

Path = tuple[Any, ...]
NUMBER = Type("decimal", scale=6)
TELEMETRY_TYPES = {"number": NUMBER, "integer": Type("integer"), "boolean": Type("boolean")}


@dataclass(frozen=True)
class DeviceExpressions:
    """A rule's compiled condition and recipient expressions (by recipient index)."""

    condition: Expression | None
    recipients: dict[int, Expression] = field(default_factory=dict)


def resolve_device_type(
    definitions: Definitions, app: str, given: str
) -> tuple[str, DeviceType] | None:
    """The device type a rule names (`smart_lock`, or `devices.smart_lock`) with its name."""
    found = find_type(definitions, app, given)
    return (found.name, found) if found is not None else None


def compile_device_expressions(
    definitions: Definitions, functions: FunctionRegistry, app: str, rule: DeviceRule
) -> tuple[DeviceExpressions, list[tuple[Key, Path, ExpressionError | str]]]:
    """The rule's expressions and the problems found (key, path, error), as
    `compile_definitions` reports them: file and path with column and caret."""
    key = (app, "device_rule", rule.name)
    problems: list[tuple[Key, Path, ExpressionError | str]] = []
    if rule.trigger.cron is not None:
        try:
            parse_cron(rule.trigger.cron)
        except CronError as exc:
            problems.append((key, ("trigger", "cron"), str(exc)))
    found = resolve_device_type(definitions, app, rule.device_type)
    if found is None:
        return DeviceExpressions(None), problems  # reported by metamodel/device_checks.py
    device = definitions.resolve(*DEVICE_ENTITY)
    if device is None:
        message = f"devices are records of {'.'.join(DEVICE_ENTITY)}, which no app defines"
        problems.append((key, ("device_type",), message))
        return DeviceExpressions(None), problems
    context = device_rule_context(definitions, found[1], device[1])
    scope = Scope(definitions, device[0], device[1], context)

    def compile_at(path: Path, source: str, expected: str | None) -> Expression | None:
        try:
            return compile_expression(source, scope, functions, expected)
        except ExpressionError as exc:
            problems.append((key, path, exc))
            return None

    condition = None
    if rule.condition is not None:
        condition = compile_at(("condition",), rule.condition, "boolean")
    recipients: dict[int, Expression] = {}
    for i, entry in enumerate(rule.alert.recipients if rule.alert else []):
        if entry.expression is None:
            continue
        where = ("alert", "recipients", i, "expression")
        expression = compile_at(where, entry.expression, None)
        if expression is None:
            continue
        kind = expression.type
        item = kind.item.kind if kind.kind == "list" and kind.item is not None else None
        if kind.kind in ("string", "null") or item == "string":
            recipients[i] = expression
        else:
            message = f"must give a username or a list of them, not {described(kind)}"
            source = entry.expression
            problems.append((key, where, ExpressionError(message, source, 0, len(source))))
    return DeviceExpressions(condition, recipients), problems


def device_rule_context(
    definitions: Definitions, device_type: DeviceType, device: Entity
) -> ExpressionContext:
    """What an expression of a rule on `device_type` may read (see the module's docstring)."""
    telemetry = device_type.telemetry
    values = {name: telemetry_type(spec) for name, spec in telemetry.items()}
    numbers = {name: NUMBER for name, spec in telemetry.items() if spec.type == "number"}
    cumulative = {name: NUMBER for name, spec in telemetry.items() if spec.cumulative}
    device_fields: dict[str, Type] = {
        "id": Type("integer", nullable=False),
        "org_id": Type("integer"),
    }
    device_fields.update(_entity_types(definitions, DEVICE_ENTITY[0], device))
    for name, attribute in device_type.attributes.items():
        device_fields.setdefault(name, TELEMETRY_TYPES.get(attribute.type, Type("string")))
    unit: dict[str, Type] = {}
    spec = device.fields.get(DEVICE_UNIT_FIELD)
    if isinstance(spec, ReferenceField):
        resolved = definitions.resolve(DEVICE_ENTITY[0], spec.entity)
        if resolved is not None:
            unit = {"id": Type("integer"), **_entity_types(definitions, *resolved)}
    variables: dict[str, Type | Mapping[str, Type]] = {
        **CLOCK,
        "values": values,
        "previous": values,
        "delta": cumulative,
        "baseline": numbers,
        "device": device_fields,
        "unit": unit,
    }
    return ExpressionContext("a device rule", variables, aggregates=False, references=False)


def telemetry_type(spec: TelemetryField) -> Type:
    """A telemetry field's type in the language: numbers are decimals, strings keep their
    enum as options."""
    if spec.type == "string":
        return Type("string", options=tuple(spec.enum or ()))
    return TELEMETRY_TYPES[spec.type]


def _entity_types(definitions: Definitions, app: str, entity: Entity) -> dict[str, Type]:
    """The stored, readable fields of an entity with their types (no virtual or sensitive
    fields: a rule reads rows as stored, in Python)."""
    found: dict[str, Type] = {}
    for name, spec in entity.fields.items():
        if spec.virtual or spec.sensitive:
            continue
        target = None
        if isinstance(spec, ReferenceField):
            resolved = definitions.resolve(app, spec.entity)
            target = f"{resolved[0]}.{resolved[1].name}" if resolved else None
        found[name] = field_type(spec, target)
    return found
