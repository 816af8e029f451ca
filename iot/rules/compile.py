"""Device rules compiled once per catalog version: the condition and recipient expressions
(compiled by the engine, `engine/expressions/device_expressions.py`, which also checks them
while definitions load, so a rule that does not fit its device type is never published), the
message templates, and the trigger's times as `timedelta`s (or a parsed cron).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from engine.alerts.cron import Cron, parse_cron
from engine.alerts.rules import PART_SEPARATOR
from engine.catalog import Catalog
from engine.errors import ValidationFailed, field_error
from engine.expressions import Expression
from engine.expressions.device_expressions import compile_device_expressions
from engine.expressions.device_expressions import resolve_device_type as resolve_type
from iot.registry import device_rules
from metamodel.devices import DeviceRule, DeviceType
from metamodel.labels import LANGUAGES, pick

CACHE_KEY = ("iot", "compiled_rules")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
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
        cached = [compile_rule(catalog, app, rule) for app, rule in device_rules(catalog)]
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
    """Compile `rule` against the catalog. Definitions that loaded hold only rules that fit;
    one that does not (definitions not checked by the engine) is a 422 naming each path."""
    definitions = catalog.definitions
    functions = catalog.options.functions
    expressions, problems = compile_device_expressions(definitions, functions, app, rule)
    found = resolve_type(definitions, app, rule.device_type)
    if found is None:
        message = f"unknown device type {rule.device_type!r}"
        raise ValidationFailed(
            f"device rule {app}/{rule.name}: {message}", [field_error("device_type", message)]
        )
    if problems:
        details = [
            field_error(".".join(map(str, path)), getattr(problem, "message", str(problem)))
            for _, path, problem in problems
        ]
        raise ValidationFailed(f"device rule {app}/{rule.name} does not compile", details)
    templates = {}
    if rule.alert is not None:
        for language in LANGUAGES:
            title = pick(rule.alert.message.title, language)
            body = pick(rule.alert.message.body, language)
            templates[language] = _templates.from_string(f"{title}{PART_SEPARATOR}{body}")
    cron = parse_cron(rule.trigger.cron) if rule.trigger.cron is not None else None
    type_name, device_type = found
    return CompiledDeviceRule(
        app,
        rule,
        device_type,
        type_name,
        expressions.condition,
        expressions.recipients,
        templates,
        cron,
        catalog.version,
    )
