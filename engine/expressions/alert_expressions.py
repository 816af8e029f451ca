"""The expressions of an alert rule: its condition (which must compile to SQL, so a scan is one
query) and the recipients given as expressions — each compiled once, keyed by its path in
the definition, like a flow's (`flow_expressions.py`). The cron schedule is checked here too:
its parser is the engine's (`engine/alerts/cron.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.alerts.cron import CronError, parse_cron
from engine.expressions import Expression, FunctionRegistry, compile_expression
from engine.expressions.errors import ExpressionError
from engine.expressions.scope import CLOCK, ExpressionContext, Scope
from metamodel.alerts import AlertRule
from metamodel.definitions import Definitions, Key
from metamodel.flows import Recipients

Path = tuple[Any, ...]
ALERT_CONDITION = ExpressionContext("an alert condition", CLOCK, sql_only=True)
ALERT_RECIPIENTS = ExpressionContext("an alert's recipients", CLOCK)


@dataclass(frozen=True)
class AlertExpressions:
    """A rule's compiled condition and recipient expressions (by their path in the rule:
    `recipients.<i>.expression`, and `recipients.<i>.org` for a role's organisation)."""

    condition: Expression | None
    recipients: dict[Path, Expression] = field(default_factory=dict)


def recipient_paths(rule: AlertRule) -> list[tuple[Path, Recipients]]:
    """Every recipient entry of the rule with its path: `recipients.<i>` and
    `escalation.recipients.<i>`."""
    found: list[tuple[Path, Recipients]] = [
        (("recipients", i), r) for i, r in enumerate(rule.recipients)
    ]
    if rule.escalation is not None:
        found += [
            (("escalation", "recipients", i), r) for i, r in enumerate(rule.escalation.recipients)
        ]
    return found


def compile_alert_expressions(
    definitions: Definitions,
    functions: FunctionRegistry,
    app: str,
    rule: AlertRule,
    calendar: str | None = None,
) -> tuple[AlertExpressions, list[tuple[Key, Path, ExpressionError | str]]]:
    """The rule's expressions and the problems found (key, path, error), as
    `compile_definitions` reports them: file and path with column and caret."""
    key = (app, "alert", rule.name)
    problems: list[tuple[Key, Path, ExpressionError | str]] = []
    resolved = definitions.resolve(app, rule.entity)
    if resolved is None:
        return AlertExpressions(None), problems  # reported by metamodel/alert_checks.py
    entity_app, entity = resolved

    def compile_at(
        path: Path, source: str, context: ExpressionContext, expected: str | None
    ) -> Expression | None:
        scope = Scope(definitions, entity_app, entity, context, calendar)
        try:
            return compile_expression(source, scope, functions, expected)
        except ExpressionError as exc:
            problems.append((key, path, exc))
            return None

    if rule.schedule.cron is not None:
        try:
            parse_cron(rule.schedule.cron)
        except CronError as exc:
            problems.append((key, ("schedule", "cron"), str(exc)))
    condition = compile_at(("condition",), rule.condition, ALERT_CONDITION, "boolean")
    recipients: dict[Path, Expression] = {}
    for path, entry in recipient_paths(rule):
        if entry.org is not None and entry.role is not None:
            where = path + ("org",)
            expression = compile_at(where, entry.org, ALERT_RECIPIENTS, None)
            if expression is None:
                continue
            if expression.type.kind in ("string", "null"):
                recipients[where] = expression
            else:
                message = f"must give an organisation's code, not {expression.type.kind}"
                problems.append((key, where, _mismatch(message, entry.org)))
        if entry.expression is None:
            continue
        where = path + ("expression",)
        expression = compile_at(where, entry.expression, ALERT_RECIPIENTS, None)
        if expression is None:
            continue
        kind = expression.type
        item = kind.item.kind if kind.kind == "list" and kind.item is not None else None
        if kind.kind in ("string", "null") or item == "string":
            recipients[where] = expression
        else:
            message = f"must give a username or a list of them, not {kind.kind}"
            problems.append((key, where, _mismatch(message, entry.expression)))
    return AlertExpressions(condition, recipients), problems


def _mismatch(message: str, source: str) -> ExpressionError:
    """A type problem of a whole expression, its caret under all of it."""
    return ExpressionError(message, source, 0, len(source))
