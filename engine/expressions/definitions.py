"""Expressions inside definitions: computed fields, defaults, validation rules, form conditions,
flows, alert and device rules, reports.

`compile_definitions` compiles every one of them once per definition version; the same pass,
run by `expression_checks` while definitions load, turns each mistake into a definition error
with file, line, path, column and caret — so a bad rule is never published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.expressions import (
    Expression,
    FunctionRegistry,
    builtin_functions,
    compile_expression,
)
from engine.expressions.alert_expressions import compile_alert_expressions
from engine.expressions.calendar import WorkingCalendar
from engine.expressions.device_expressions import compile_device_expressions
from engine.expressions.errors import ExpressionError
from engine.expressions.flow_expressions import compile_flow_expressions
from engine.expressions.report_expressions import compile_report_expressions
from engine.expressions.scope import (
    COMPUTED,
    DEFAULT,
    FORM,
    ORG,
    RULE,
    SCOPE,
    VIRTUAL,
    ExpressionContext,
    Scope,
)
from engine.expressions.types import assignment_problem, described
from metamodel.definitions import Definitions, Key
from metamodel.errors import DefinitionError
from metamodel.fields import FieldDefinition
from metamodel.loader import NO_PLUGIN_TYPES, Document, FieldTypes, build_definitions
from metamodel.models import SCOPE_WORDS, Calendar, Entity, Form, Rule

Problem = tuple[Key, tuple[Any, ...], ExpressionError | str]
FORM_CONDITIONS = ("visible", "readonly", "required")


@dataclass(frozen=True)
class EntityExpressions:
    """An entity's compiled expressions; `computed` in field order, so later ones see earlier."""

    computed: dict[str, Expression] = field(default_factory=dict)
    virtual: dict[str, Expression] = field(default_factory=dict)
    defaults: dict[str, Expression] = field(default_factory=dict)
    rules: list[tuple[Rule, Expression]] = field(default_factory=list)
    scopes: dict[str, list[Expression]] = field(default_factory=dict)  # role → expressions
    org: Expression | None = None


@dataclass(frozen=True)
class FormExpressions:
    """A form's conditions: per field {visible|readonly|required: expression}, per section."""

    app: str
    entity: str
    fields: dict[str, dict[str, Expression]] = field(default_factory=dict)
    sections: dict[int, Expression] = field(default_factory=dict)


FlowExpressions = dict[tuple[Any, ...], Expression]
"""A flow's expressions by their path in the definition: ("transitions", "submit", "when")."""


@dataclass
class CompiledDefinitions:
    entities: dict[tuple[str, str], EntityExpressions] = field(default_factory=dict)
    forms: dict[tuple[str, str], FormExpressions] = field(default_factory=dict)
    calendars: dict[str, WorkingCalendar] = field(default_factory=dict)  # "app.name"
    flows: dict[tuple[str, str], FlowExpressions] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def compile_definitions(
    definitions: Definitions, functions: FunctionRegistry
) -> CompiledDefinitions:
    compiled = CompiledDefinitions()
    for app_name, bundle in definitions.apps.items():
        for name, definition in bundle.calendars.items():
            compiled.calendars[f"{app_name}.{name}"] = working_calendar(definition)
    for app_name, bundle in definitions.apps.items():
        located = definitions.calendar(app_name)
        calendar = f"{located[0]}.default" if located else None
        for entity in bundle.entities.values():
            key = (app_name, entity.name)
            compiler = _Compiler(definitions, functions, app_name, calendar, compiled.problems)
            compiled.entities[key] = compiler.entity(entity)
        for form in bundle.forms.values():
            compiler = _Compiler(definitions, functions, app_name, calendar, compiled.problems)
            compiled.forms[(app_name, form.name)] = compiler.form(form)
        for flow in bundle.flows.values():
            compiler = _Compiler(definitions, functions, app_name, calendar, compiled.problems)
            compiled.flows[(app_name, flow.name)] = compile_flow_expressions(compiler, flow)
        for rule in bundle.alerts.values():  # compiled again per catalog by engine.alerts
            _, found = compile_alert_expressions(definitions, functions, app_name, rule, calendar)
            compiled.problems.extend(found)
        for device_rule in bundle.device_rules.values():  # compiled again per catalog by iot
            _, found = compile_device_expressions(definitions, functions, app_name, device_rule)
            compiled.problems.extend(found)
        for report in bundle.reports.values():  # compiled again per catalog by engine.reports
            _, found = compile_report_expressions(
                definitions, functions, app_name, report, calendar
            )
            compiled.problems.extend(found)
    return compiled


def working_calendar(calendar: Calendar) -> WorkingCalendar:
    days_off = []
    for holiday in calendar.holidays:
        day, last = holiday.start, holiday.end or holiday.start
        while day <= last:
            days_off.append(day)
            day = day.fromordinal(day.toordinal() + 1)
    return WorkingCalendar.build(calendar.weekend, days_off, calendar.workdays)


def expression_checks(
    functions: FunctionRegistry,
) -> Callable[[Definitions, Callable[..., DefinitionError]], list[DefinitionError]]:
    """A load-time check (for `build_definitions`) reporting every expression mistake."""

    def check(
        definitions: Definitions, report: Callable[..., DefinitionError]
    ) -> list[DefinitionError]:
        errors = []
        for key, path, problem in compile_definitions(definitions, functions).problems:
            if isinstance(problem, str):
                errors.append(report(key, path, problem))
                continue
            error = report(key, path, f"{problem.message} (column {problem.column})")
            errors.append(
                DefinitionError(
                    error.file,
                    error.path,
                    error.message,
                    error.line,
                    problem.column,
                    problem.excerpt,
                )
            )
        return errors

    return check


class _Compiler:
    def __init__(
        self,
        definitions: Definitions,
        functions: FunctionRegistry,
        app: str,
        calendar: str | None,
        problems: list[Problem],
    ) -> None:
        self.definitions = definitions
        self.functions = functions
        self.app = app
        self.calendar = calendar
        self.problems = problems

    def compile(
        self,
        key: Key,
        path: tuple[Any, ...],
        source: str,
        entity: Entity,
        context: ExpressionContext,
        expected: str | None = None,
    ) -> Expression | None:
        scope = Scope(self.definitions, self.app, entity, context, self.calendar)
        try:
            return compile_expression(source, scope, self.functions, expected)
        except ExpressionError as exc:
            self.problems.append((key, path, exc))
            return None

    def entity(self, entity: Entity) -> EntityExpressions:
        key = (self.app, "entity", entity.name)
        found = EntityExpressions()
        for name, spec in entity.fields.items():
            path: tuple[Any, ...]
            if spec.computed is not None:
                context = VIRTUAL if spec.virtual else COMPUTED
                path = ("fields", name, "computed")
                expression = self.compile(key, path, spec.computed, entity, context)
                if expression is not None and self._fits(key, path, expression, spec):
                    (found.virtual if spec.virtual else found.computed)[name] = expression
            if spec.default_expression is not None:
                path = ("fields", name, "default_expression")
                expression = self.compile(key, path, spec.default_expression, entity, DEFAULT)
                if expression is not None and self._fits(key, path, expression, spec):
                    found.defaults[name] = expression
        for i, rule in enumerate(entity.rules):
            expression = self.compile(key, ("rules", i, "when"), rule.when, entity, RULE, "boolean")
            if expression is not None:
                found.rules.append((rule, expression))
        for role, grant in entity.permissions.items():
            for i, scope in enumerate(grant.scopes):
                if scope in SCOPE_WORDS:
                    continue
                path = ("permissions", role, "scope") + (
                    (i,) if isinstance(grant.scope, list) else ()
                )
                expression = self.compile(key, path, scope, entity, SCOPE, "boolean")
                if expression is not None:
                    found.scopes.setdefault(role, []).append(expression)
        if entity.org is not None:
            expression = self.compile(key, ("org",), entity.org, entity, ORG)
            if expression is not None and expression.type.kind not in ("string", "null"):
                problem = f"must give an organisation code (text), not {described(expression.type)}"
                self.problems.append(
                    (key, ("org",), ExpressionError(problem, entity.org, 0, len(entity.org)))
                )
            else:
                found = replace(found, org=expression)
        return found

    def _fits(
        self, key: Key, path: tuple[Any, ...], expression: Expression, spec: FieldDefinition
    ) -> bool:
        problem = assignment_problem(expression.type, spec)
        if problem:
            self.problems.append(
                (key, path, ExpressionError(problem, expression.source, 0, len(expression.source)))
            )
        return problem is None

    def form(self, form: Form) -> FormExpressions:
        key = (self.app, "form", form.name)
        resolved = self.definitions.resolve(self.app, form.entity)
        assert resolved is not None, "forms are checked before expressions"
        entity_app, entity = resolved
        found = FormExpressions(entity_app, entity.name)
        compiler = _Compiler(
            self.definitions, self.functions, entity_app, self.calendar, self.problems
        )
        for name, conditions in form.fields.items():
            for condition in FORM_CONDITIONS:
                source = getattr(conditions, condition)
                if source is not None:
                    path = ("fields", name, condition)
                    expression = compiler.compile(key, path, source, entity, FORM, "boolean")
                    if expression is not None:
                        found.fields.setdefault(name, {})[condition] = expression
        for i, section in enumerate(form.sections):
            if section.visible is not None:
                where = ("sections", i, "visible")
                expression = compiler.compile(key, where, section.visible, entity, FORM, "boolean")
                if expression is not None:
                    found.sections[i] = expression
        return found


def load_definitions(
    documents: list[Document],
    functions: FunctionRegistry | None = None,
    field_types: FieldTypes | None = NO_PLUGIN_TYPES,
) -> Definitions:
    """`build_definitions` with the engine's own checks: every expression compiles.

    Like `functions`, `field_types` are the app instance's (`Extensions.field_types`); left
    out, only the built-in types are known, so `type: id_number` is a definition error.
    """
    checks = [expression_checks(functions or builtin_functions())]
    return build_definitions(documents, checks, field_types)
