"""The expressions of a report: its filters and measure conditions (which must compile to SQL,
as they become part of the report's one query) and its parameters' defaults — compiled once,
with `params.<name>` typed from the report's parameters, like a flow's (`flow_expressions.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.expressions import Expression, FunctionRegistry, compile_expression
from engine.expressions.errors import ExpressionError
from engine.expressions.scope import CLOCK, FILTER, ExpressionContext, Scope
from engine.expressions.typed import TAggregate, TField, Typed
from engine.expressions.types import BOOLEAN, DATE, INTEGER, STRING, Type, described
from metamodel.definitions import Definitions, Key
from metamodel.reports import Param, Report

Path = tuple[Any, ...]
PARAM_DEFAULT = ExpressionContext("a parameter default", CLOCK, aggregates=False, references=False)


@dataclass(frozen=True)
class ReportExpressions:
    """A report's compiled filters, measure `where` conditions (by measure name) and
    parameter defaults (by parameter name)."""

    filters: list[Expression] = field(default_factory=list)
    wheres: dict[str, Expression] = field(default_factory=dict)
    defaults: dict[str, Expression] = field(default_factory=dict)


def param_type(param: Param, definitions: Definitions | None = None, app: str = "") -> Type:
    """The expression type of `params.<name>`: null unless required."""
    base: Type
    match param.type:
        case "string":
            base = STRING
        case "integer":
            base = INTEGER
        case "decimal":
            base = Type("decimal", nullable=False, scale=6)
        case "date":
            base = DATE
        case "boolean":
            base = BOOLEAN
        case "enum":
            base = Type("string", nullable=False, options=tuple(param.options))
        case _:
            target = None
            if definitions is not None and param.entity:
                resolved = definitions.resolve(app, param.entity)
                target = f"{resolved[0]}.{resolved[1].name}" if resolved else None
            base = Type("integer", nullable=False, target=target)
    return base if param.required else base.maybe_null()


def report_context(definitions: Definitions, app: str, report: Report) -> ExpressionContext:
    """A filter's context (SQL only, the clock and the user) with the report's parameters."""
    params = {name: param_type(p, definitions, app) for name, p in report.params.items()}
    return FILTER.with_variables(params=params)


def compile_report_expressions(
    definitions: Definitions,
    functions: FunctionRegistry,
    app: str,
    report: Report,
    calendar: str | None = None,
) -> tuple[ReportExpressions, list[tuple[Key, Path, ExpressionError | str]]]:
    """The report's expressions and the problems found (key, path, error), reported by
    `compile_definitions` with file, path, column and caret."""
    key = (app, "report", report.name)
    problems: list[tuple[Key, Path, ExpressionError | str]] = []
    resolved = definitions.resolve(app, report.source)
    if resolved is None:
        return ReportExpressions(), problems  # reported by metamodel/report_checks.py
    source_app, source = resolved
    context = report_context(definitions, app, report)

    def compile_at(
        path: Path, text: str, where: ExpressionContext, expected: str | None
    ) -> Expression | None:
        scope = Scope(definitions, source_app, source, where, calendar)
        try:
            return compile_expression(text, scope, functions, expected)
        except ExpressionError as exc:
            problems.append((key, path, exc))
            return None

    found = ReportExpressions()
    for i, text in enumerate(report.filters):
        expression = compile_at(("filters", i), text, context, "boolean")
        if expression is not None:
            found.filters.append(expression)
    for i, measure in enumerate(report.measures):
        if measure.where is not None:
            expression = compile_at(("measures", i, "where"), measure.where, context, "boolean")
            if expression is not None:
                found.wheres[measure.name] = expression
    for name, param in report.params.items():
        if param.default is None:
            continue
        path = ("params", name, "default")
        expression = compile_at(path, param.default, PARAM_DEFAULT, None)
        if expression is None:
            continue
        problem = _default_problem(expression, param_type(param))
        if problem is None:
            found.defaults[name] = expression
        else:
            problems.append((key, path, problem))
    return found, problems


def _default_problem(expression: Expression, expected: Type) -> str | None:
    if _reads_fields(expression.tree):
        return "a parameter default cannot read fields; it is computed before any record"
    kind = expression.type
    if kind.kind == "null" or kind.kind == expected.kind:
        return None
    if expected.kind == "decimal" and kind.numeric:
        return None
    return f"gives {described(kind)}, but the parameter is {described(expected.required())}"


def _reads_fields(node: Typed) -> bool:
    return any(isinstance(n, TField) for n in _nodes(node))


def _nodes(node: Typed) -> list[Typed]:
    """The node and every typed node below it."""
    found = [node]
    for value in vars(node).values():
        items = value if isinstance(value, tuple | list) else (value,)
        for item in items:
            if isinstance(item, Typed):
                found += _nodes(item)
    return found


def read_entities(expression: Expression) -> set[str]:
    """Every entity ("app.entity") the expression reads besides its own record's: through
    references and aggregates over related records."""
    found: set[str] = set()
    for node in _nodes(expression.tree):
        if isinstance(node, TField):
            found.update(step.entity for step in node.steps)
        elif isinstance(node, TAggregate):
            found.add(node.relation.entity)
    return found
