"""Semantic checks of alert rules: the target entity exists, recipients name declared roles
and username fields, `as_of` is a time field, an escalation raises the severity or widens
the recipients, the message parses as sandboxed Jinja2 or names a message template of the
app.

The condition and recipient expressions and the cron schedule are checked by the engine's
pass (`engine/expressions/alert_expressions.py`), which reports them with file and path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from metamodel.alerts import AlertRule
from metamodel.definitions import Definitions, Key
from metamodel.errors import DefinitionError
from metamodel.fields import DateField, DateTimeField, StringField
from metamodel.flows import ORG_WITHOUT_ROLE, Recipients
from metamodel.models import PLATFORM_ROLES, Entity

Report = Callable[[Key, tuple[Any, ...], str], DefinitionError]
Problems = list[tuple[tuple[Any, ...], str]]
SEVERITY_ORDER = ("yellow", "orange", "red")
USERNAME_COLUMNS = ("created_by", "updated_by")  # system columns holding a username
TIME_COLUMNS = ("created_at", "updated_at")


def check_alerts(definitions: Definitions, report: Report) -> list[DefinitionError]:
    """Every problem of every `alerts/<name>.yaml`, each naming its file and path."""
    errors: list[DefinitionError] = []
    roles = known_roles(definitions)
    for app_name, bundle in definitions.apps.items():
        for rule in bundle.alerts.values():
            key = (app_name, "alert", rule.name)
            errors.extend(
                report(key, path, message)
                for path, message in rule_problems(definitions, app_name, rule, roles)
            )
    return errors


def known_roles(definitions: Definitions) -> set[str]:
    roles = set(PLATFORM_ROLES)
    for bundle in definitions.apps.values():
        roles.update(bundle.roles.roles)
    return roles


def rule_problems(definitions: Definitions, app: str, rule: AlertRule, roles: set[str]) -> Problems:
    found: Problems = []
    resolved = definitions.resolve(app, rule.entity)
    if resolved is None:
        found.append((("entity",), f"unknown entity {rule.entity!r}"))
    entity = resolved[1] if resolved else None
    for i, recipients in enumerate(rule.recipients):
        found += _recipients(("recipients", i), recipients, entity, roles)
    if rule.escalation is not None:
        escalation = rule.escalation
        rank = SEVERITY_ORDER.index
        if rank(escalation.severity) < rank(rule.severity):
            message = (
                f"an escalation never lowers the severity: {escalation.severity!r} is below "
                f"the rule's {rule.severity!r}"
            )
            found.append((("escalation", "severity"), message))
        elif rank(escalation.severity) == rank(rule.severity) and not escalation.recipients:
            message = (
                f"an escalation at the rule's own severity {rule.severity!r} must add "
                "recipients, or it changes nothing"
            )
            found.append((("escalation", "severity"), message))
        for i, recipients in enumerate(escalation.recipients):
            path = ("escalation", "recipients", i)
            found += _recipients(path, recipients, entity, roles)
    if rule.as_of is not None and entity is not None:
        spec = entity.fields.get(rule.as_of)
        if not (isinstance(spec, DateField | DateTimeField) or rule.as_of in TIME_COLUMNS):
            found.append((("as_of",), f"{rule.as_of!r} is not a date or datetime field"))
    template = rule.message.template
    if template is not None and template not in definitions.apps[app].messages:
        message = f"no message template {template!r} in {app}/messages/"
        found.append((("message", "template"), message))
    for part in ("title", "body"):
        for language, source in getattr(rule.message, part).items():
            problem = template_problem(source)
            if problem:
                found.append((("message", part, language), problem))
    if len(set(rule.channels)) != len(rule.channels):
        found.append((("channels",), "a channel is listed twice"))
    return found


def _recipients(
    path: tuple[Any, ...], recipients: Recipients, entity: Entity | None, roles: set[str]
) -> Problems:
    if recipients.role is not None and recipients.role not in roles:
        return [(path + ("role",), f"unknown role {recipients.role!r}; declare it in a roles.yaml")]
    if recipients.role is None and recipients.org is not None:
        return [(path + ("org",), ORG_WITHOUT_ROLE)]
    if recipients.field is not None and entity is not None:
        spec = entity.fields.get(recipients.field)
        if not (isinstance(spec, StringField) or recipients.field in USERNAME_COLUMNS):
            message = (
                f"{recipients.field!r} is not a string field of {entity.name!r}; "
                "it must hold a username"
            )
            return [(path + ("field",), message)]
    return []


def template_problem(source: str) -> str | None:
    """Why a message template does not parse as sandboxed Jinja2, or None."""
    try:
        SandboxedEnvironment(autoescape=False).parse(source)
    except TemplateSyntaxError as exc:
        return f"template line {exc.lineno}: {exc.message}"
    return None
