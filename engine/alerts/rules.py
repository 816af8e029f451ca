"""Alert rules compiled once per catalog version: the condition as an expression ready for
SQL, recipient expressions, message templates, the cron schedule, and an index of the rules
that watch each entity for on-change checks.

    rule = rule_of(catalog, "supervision", "lease_expiring")
    query = sa.select(rule.table.c.id).where(rule.condition(sql_context))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from engine.alerts.cron import Cron, parse_cron
from engine.catalog import Catalog, CompiledEntity
from engine.errors import ValidationFailed, field_error
from engine.expressions import SqlContext
from engine.expressions.alert_expressions import AlertExpressions, compile_alert_expressions
from metamodel.alerts import AlertRule
from metamodel.labels import LANGUAGES, pick
from metamodel.messages import MessageTemplate

CACHE_KEY = "alerts.rules"
WATCH_KEY = "alerts.watching"
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
SEVERITIES = ("yellow", "orange", "red")
PART_SEPARATOR = "\ue000"  # between title and body in one template; never whitespace
_templates = SandboxedEnvironment(autoescape=False)


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """One rule of one catalog version, with everything a scan needs built once."""

    app: str
    definition: AlertRule
    entity: CompiledEntity
    expressions: AlertExpressions
    version: int
    templates: dict[str, Template] = field(default_factory=dict)  # by language
    cron: Cron | None = None
    variants: dict[tuple[str, str], Template] = field(default_factory=dict)
    """A message template's own texts for a channel, by (channel, language): subject and
    body in one template, as `templates`."""
    variant_sources: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.definition.name)

    @property
    def table(self) -> sa.Table:
        return self.entity.table

    @property
    def interval(self) -> timedelta | None:
        every = self.definition.schedule.every
        if every is None:
            return None
        return timedelta(**{UNITS[every[-1]]: int(every[:-1])})

    @property
    def scheduled(self) -> bool:
        """Scanned on a schedule (every or cron), not only on change."""
        schedule = self.definition.schedule
        return schedule.every is not None or schedule.cron is not None

    @property
    def schedule_text(self) -> str:
        schedule = self.definition.schedule
        return f"every {schedule.every}" if schedule.every else f"cron {schedule.cron}"

    def condition(self, context: SqlContext) -> sa.ColumnElement[bool]:
        """The condition as a WHERE clause over the entity's table."""
        assert self.expressions.condition is not None, "rules compile with their definitions"
        return self.expressions.condition.sql_condition(self.table, context)

    def render(self, language: str, context: dict[str, Any]) -> tuple[str, str]:
        """The title and body in `language`, from one template holding both; `context` must
        hold the environment's globals (`template_globals`): it is used as it is, not
        copied, which makes rendering thousands cheap."""
        return _render(self.templates.get(language), context)

    def render_variant(
        self, channel: str, language: str, context: dict[str, Any]
    ) -> tuple[str, str] | None:
        """The subject and body `channel` sends in `language` when the rule's message
        template gives that channel words of its own (an SMS's short text); else None."""
        template = self.variants.get((channel, language))
        return None if template is None else _render(template, context)

    @cached_property
    def _read_text(self) -> str:
        """Everything that reads the record's fields besides the condition."""
        message = self.definition.message
        sources = [*message.title.values(), *message.body.values()]
        sources += [e.source for e in self.expressions.recipients.values()]
        sources += self.variant_sources
        return "\n".join(sources)

    @cached_property
    def record_columns(self) -> list[str]:
        """The stored columns messages and recipients may read (a field's name anywhere in
        their text, the title field, recipients' fields, `id` and `org_id`): loading only
        these keeps opening thousands of alerts cheap."""
        wanted = {"id", "org_id", self.entity.definition.title_field}
        wanted |= {r.field for r in _all_recipients(self.definition) if r.field}
        wanted |= {name for name in self.entity.columns if name in self._read_text}
        return [name for name in self.entity.columns if name in wanted]

    @cached_property
    def message_fields(self) -> list[str]:
        """The virtual fields messages and recipient expressions may read."""
        return [name for name in self.entity.expressions.virtual if name in self._read_text]


def _render(template: Template | None, context: dict[str, Any]) -> tuple[str, str]:
    if template is None:
        return "", ""
    text = "".join(template.root_render_func(template.new_context(context, shared=True)))
    title, _, body = text.partition(PART_SEPARATOR)
    return title, body


def _all_recipients(rule: AlertRule) -> list[Any]:
    return [*rule.recipients, *(rule.escalation.recipients if rule.escalation else [])]


def template_globals() -> dict[str, Any]:
    """What every message template sees besides its context (`range`, `namespace`, …)."""
    return dict(_templates.globals)


def rules_of(catalog: Catalog) -> dict[tuple[str, str], CompiledRule]:
    """Every alert rule of the catalog by (app, name), compiled on first use."""
    cached = catalog.cache.get(CACHE_KEY)
    if cached is None:
        cached = {
            (app, rule.name): compile_rule(catalog, app, rule)
            for app, bundle in catalog.definitions.apps.items()
            for rule in bundle.alerts.values()
        }
        catalog.cache[CACHE_KEY] = cached
    return cached  # type: ignore[no-any-return]


def rule_of(catalog: Catalog, app: str, name: str) -> CompiledRule | None:
    return rules_of(catalog).get((app, name))


def rules_watching(catalog: Catalog) -> dict[str, list[CompiledRule]]:
    """Enabled on-change rules by the path of the entity they watch: a dict lookup per write."""
    cached = catalog.cache.get(WATCH_KEY)
    if cached is None:
        cached = {}
        for rule in rules_of(catalog).values():
            if rule.definition.enabled and rule.definition.schedule.on_change:
                cached.setdefault(rule.entity.path, []).append(rule)
        catalog.cache[WATCH_KEY] = cached
    return cached  # type: ignore[no-any-return]


def compile_rule(catalog: Catalog, app: str, rule: AlertRule) -> CompiledRule:
    """Compile `rule` against the catalog's entities; a rule that does not fit (a draft)
    is a 422 naming each problem's path."""
    definitions = catalog.definitions
    message = None
    if rule.message.template is not None:  # checked at load: the app has the template
        message = definitions.apps[app].messages[rule.message.template]
        rule = rule.with_template(message)
    resolved = definitions.resolve(app, rule.entity)
    entity = catalog.entity(*_key(resolved)) if resolved else None
    if entity is None:
        raise ValidationFailed(
            f"alert {app}/{rule.name}: unknown entity {rule.entity!r}",
            [field_error("entity", f"unknown entity {rule.entity!r}")],
        )
    located = definitions.calendar(app)
    calendar = f"{located[0]}.default" if located else None
    functions = catalog.options.functions
    expressions, problems = compile_alert_expressions(definitions, functions, app, rule, calendar)
    if problems:
        details = [
            field_error(".".join(map(str, path)), getattr(problem, "message", str(problem)))
            for _, path, problem in problems
        ]
        raise ValidationFailed(f"alert {app}/{rule.name} does not compile", details)
    templates = {}
    for language in LANGUAGES:
        title = pick(rule.message.title, language)
        body = pick(rule.message.body, language)
        templates[language] = _templates.from_string(f"{title}{PART_SEPARATOR}{body}")
    cron = parse_cron(rule.schedule.cron) if rule.schedule.cron else None
    sources = _variant_sources(message, rule.channels) if message is not None else {}
    variants = {key: _templates.from_string(source) for key, source in sources.items()}
    return CompiledRule(
        app,
        rule,
        entity,
        expressions,
        catalog.version,
        templates,
        cron,
        variants,
        [*sources.values()],
    )


def _variant_sources(
    message: MessageTemplate, channels: Sequence[str]
) -> dict[tuple[str, str], str]:
    """The subject and body, joined by PART_SEPARATOR, of each channel of the rule the
    message template gives words of its own, by (channel, language)."""
    found = {}
    for channel in channels:
        subject, body = message.channel_text(channel)
        if (subject, body) == (message.title, message.body):
            continue
        for language in LANGUAGES:
            found[(channel, language)] = (
                f"{pick(subject, language)}{PART_SEPARATOR}{pick(body, language)}"
            )
    return found


def _key(resolved: Any) -> tuple[str, str]:
    app, entity = resolved
    return app, entity.name


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)
