"""Device rules compiled once per catalog version: the condition as a checked expression over
the variables a reading offers, the recipient expressions, the message templates, and the
trigger's times as `timedelta`s (or a parsed cron).

A condition reads `values.<field>` (this reading), `previous.<field>` (the device's latest
value before it), `delta.<field>` (the change of a cumulative field), `baseline.<field>`
(each number field's 7-day average; for a cumulative field, its average increase per
reading), `device.<field or attribute>`, `unit.<field>` (the bound housing unit), `now` and
`today`::

    values.temperature > 70
    delta.volume > 0 and unit.status == "vacant"
    delta.volume > baseline.volume * 3

Numbers are decimals, so arithmetic with literals such as `1.5` is exact.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from engine.alerts.cron import Cron, CronError, parse_cron
from engine.alerts.rules import PART_SEPARATOR
from engine.catalog import Catalog
from engine.errors import ValidationFailed, field_error
from engine.expressions import (
    Expression,
    ExpressionContext,
    ExpressionError,
    FunctionRegistry,
    Scope,
    compile_expression,
)
from engine.expressions.scope import CLOCK
from engine.expressions.types import Type, field_type
from iot.registry import DEVICE_ENTITY, device_rules
from metamodel.definitions import Definitions
from metamodel.devices import DeviceRule, DeviceType
from metamodel.fields import ReferenceField
from metamodel.labels import LANGUAGES, pick
from metamodel.models import Entity

CACHE_KEY = ("iot", "compiled_rules")
log = logging.getLogger("anju.iot.rules")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
NUMBER = Type("decimal", scale=6)
TELEMETRY_TYPES = {"number": NUMBER, "integer": Type("integer"), "boolean": Type("boolean")}
Path = tuple[Any, ...]
_templates = SandboxedEnvironment(autoescape=False)


def duration(text: str) -> timedelta:
    """`45m` → 45 minutes; the units are s, m, h and d."""
    return timedelta(**{UNITS[text[-1]]: int(text[:-1])})


@dataclass(frozen=True, eq=False)
class CompiledDeviceRule:
    """One device rule of one catalog version, with everything an evaluation needs."""

    app: str
    definition: DeviceRule
    device_type: DeviceType
    type_name: str
    condition: Expression | None
    recipients: dict[int, Expression] = field(default_factory=dict)  # by recipient index
    templates: dict[str, Template] = field(default_factory=dict)  # by language
    cron: Cron | None = None
    version: int = 0

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def key(self) -> str:
        """`app.rule`: the source of the commands it sends and the name in its log."""
        return f"{self.app}.{self.definition.name}"

    @property
    def trigger(self) -> str:
        """`reading`, `absence` or `schedule` (every or cron): how it is run."""
        trigger = self.definition.trigger
        if trigger.reading:
            return "reading"
        return "absence" if trigger.absence else "schedule"

    @property
    def absence(self) -> timedelta | None:
        given = self.definition.trigger.absence
        return duration(given) if given else None

    @property
    def interval(self) -> timedelta | None:
        given = self.definition.trigger.every
        return duration(given) if given else None

    @property
    def cooldown(self) -> timedelta:
        return duration(self.definition.cooldown)

    @property
    def sustain_readings(self) -> int:
        sustain = self.definition.sustain
        return sustain.readings if sustain and sustain.readings else 1

    @property
    def sustain_duration(self) -> timedelta | None:
        sustain = self.definition.sustain
        return duration(sustain.duration) if sustain and sustain.duration else None

    @property
    def reads_baseline(self) -> bool:
        """Whether anything reads `baseline` (a query of a week of rollups per evaluation)."""
        sources = [self.definition.condition or ""]
        if self.definition.alert is not None:
            message = self.definition.alert.message
            sources += [*message.title.values(), *message.body.values()]
        return any("baseline" in source for source in sources)

    def render(self, language: str, context: dict[str, Any]) -> tuple[str, str]:
        """The alert's title and body in `language`."""
        template = self.templates.get(language)
        if template is None:
            return "", ""
        title, _, body = template.render(context).partition(PART_SEPARATOR)
        return title.strip(), body.strip()


def compiled_rules(catalog: Catalog) -> list[CompiledDeviceRule]:
    """Every enabled device rule of the catalog, highest priority first, compiled once."""
    cached = catalog.cache.get(CACHE_KEY)
    if cached is None:
        cached = []
        for app, rule in device_rules(catalog):
            try:
                cached.append(compile_rule(catalog, app, rule))
            except ValidationFailed as exc:  # one bad rule must not stop the others
                log.error("device rule %s/%s left out: %s %s", app, rule.name, exc, exc.details)
        catalog.cache[CACHE_KEY] = cached
    return cached  # type: ignore[no-any-return]


def rules_for(catalog: Catalog, type_name: str, trigger: str) -> list[CompiledDeviceRule]:
    """The enabled rules of a device type with this trigger, highest priority first."""
    return [r for r in compiled_rules(catalog) if r.type_name == type_name and r.trigger == trigger]


def rule_named(catalog: Catalog, app: str, name: str) -> CompiledDeviceRule | None:
    """A device rule by app and name, enabled or not."""
    bundle = catalog.definitions.apps.get(app)
    rule = bundle.device_rules.get(name) if bundle else None
    if rule is None:
        return None
    for compiled in compiled_rules(catalog):
        if compiled.app == app and compiled.definition is rule:
            return compiled
    return compile_rule(catalog, app, rule)


def compile_rule(catalog: Catalog, app: str, rule: DeviceRule) -> CompiledDeviceRule:
    """Compile `rule` against the catalog; one that does not fit is a 422 naming each path."""
    definitions = catalog.definitions
    found = resolve_type(definitions, app, rule.device_type)
    if found is None:
        message = f"unknown device type {rule.device_type!r}"
        raise ValidationFailed(
            f"device rule {app}/{rule.name}: {message}", [field_error("device_type", message)]
        )
    type_name, device_type = found
    condition, recipients, problems = compile_rule_expressions(
        definitions, catalog.options.functions, app, rule
    )
    cron = None
    if rule.trigger.cron is not None:
        try:
            cron = parse_cron(rule.trigger.cron)
        except CronError as exc:
            problems.append((("trigger", "cron"), str(exc)))
    if problems:
        details = [field_error(".".join(map(str, path)), text) for path, text in problems]
        raise ValidationFailed(f"device rule {app}/{rule.name} does not compile", details)
    templates = {}
    if rule.alert is not None:
        for language in LANGUAGES:
            title = pick(rule.alert.message.title, language)
            body = pick(rule.alert.message.body, language)
            templates[language] = _templates.from_string(f"{title}{PART_SEPARATOR}{body}")
    return CompiledDeviceRule(
        app, rule, device_type, type_name, condition, recipients, templates, cron, catalog.version
    )


def resolve_type(definitions: Definitions, app: str, given: str) -> tuple[str, DeviceType] | None:
    """The device type a rule names (`smart_lock`, or `devices.smart_lock`) with its name."""
    owner, _, name = given.rpartition(".")
    if owner:
        bundle = definitions.apps.get(owner)
        found = bundle.device_types.get(name) if bundle else None
        return (name, found) if found else None
    own = definitions.apps.get(app)
    if own is not None and name in own.device_types:
        return name, own.device_types[name]
    for bundle in definitions.apps.values():
        if name in bundle.device_types:
            return name, bundle.device_types[name]
    return None


def compile_rule_expressions(
    definitions: Definitions, functions: FunctionRegistry, app: str, rule: DeviceRule
) -> tuple[Expression | None, dict[int, Expression], list[tuple[Path, str]]]:
    """The rule's condition and recipient expressions, and the problems found (path, text
    with the column of the mistake)."""
    problems: list[tuple[Path, str]] = []
    found = resolve_type(definitions, app, rule.device_type)
    device = definitions.resolve(*DEVICE_ENTITY)
    if found is None or device is None:
        return None, {}, problems
    context = rule_context(definitions, found[1], device[1])
    scope = Scope(definitions, device[0], device[1], context)

    def compile_at(path: Path, source: str, expected: str | None) -> Expression | None:
        try:
            return compile_expression(source, scope, functions, expected)
        except ExpressionError as exc:
            problems.append((path, f"{exc.message} (column {exc.column})"))
            return None

    condition = None
    if rule.condition is not None:
        condition = compile_at(("condition",), rule.condition, "boolean")
    recipients: dict[int, Expression] = {}
    for i, entry in enumerate(rule.alert.recipients if rule.alert else []):
        if entry.expression is None:
            continue
        expression = compile_at(("alert", "recipients", i, "expression"), entry.expression, None)
        if expression is not None:
            kind = expression.type
            item = kind.item.kind if kind.kind == "list" and kind.item is not None else None
            if kind.kind in ("string", "null") or item == "string":
                recipients[i] = expression
            else:
                path = ("alert", "recipients", i, "expression")
                problems.append((path, f"must give a username or a list of them, not {kind}"))
    return condition, recipients, problems


def rule_context(definitions: Definitions, device_type: DeviceType, device: Entity) -> Any:
    """What a condition of a rule on `device_type` may read (see the module's docstring)."""
    values = {name: telemetry_type(spec) for name, spec in device_type.telemetry.items()}
    numbers = {
        name: NUMBER for name, spec in device_type.telemetry.items() if spec.type == "number"
    }
    cumulative = {name: NUMBER for name, spec in device_type.telemetry.items() if spec.cumulative}
    device_fields: dict[str, Type] = {
        "id": Type("integer", nullable=False),
        "org_id": Type("integer"),
    }
    device_fields.update(_entity_types(definitions, DEVICE_ENTITY[0], device))
    for name, attribute in device_type.attributes.items():
        device_fields.setdefault(name, TELEMETRY_TYPES.get(attribute.type, Type("string")))
    unit: dict[str, Type] = {}
    spec = device.fields.get("housing_unit")
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


def telemetry_type(spec: Any) -> Type:
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
