"""The expressions of a flow: guards, rules, values set and created, timer lengths, step
switches and recipients — each compiled once, keyed by its path in the definition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.expressions import Expression
from engine.expressions.errors import ExpressionError
from engine.expressions.scope import FLOW, ExpressionContext
from engine.expressions.types import BOOLEAN, INTEGER, STRING, Type, assignment_problem, described
from metamodel.flow_checks import reference_target
from metamodel.flows import (
    Action,
    CallAction,
    CheckAction,
    CreateAction,
    DocumentAction,
    Flow,
    JobAction,
    NotifyAction,
    Recipients,
    SetAction,
    UpdateAction,
)
from metamodel.models import Entity

if TYPE_CHECKING:
    from engine.expressions.definitions import _Compiler

Path = tuple[Any, ...]


def flow_context(flow: Flow) -> ExpressionContext:
    """`params.<name>` typed by each parameter's value; `checks.<name>`: did the check pass."""
    params = {name: _param_type(value) for name, value in flow.params.items()}
    checks = {name: Type("boolean") for name in check_names(flow)}
    return FLOW.with_variables(params=params, checks=checks)


def _param_type(value: bool | int | str) -> Type:
    if isinstance(value, bool):
        return BOOLEAN
    return INTEGER if isinstance(value, int) else STRING


def check_names(flow: Flow) -> list[str]:
    actions = [a for t in flow.transitions.values() for a in t.actions]
    for state in flow.states.values():
        actions += state.on_enter + [a for timer in state.timers for a in timer.actions]
    return sorted({a.check for a in actions if isinstance(a, CheckAction)})


def compile_flow_expressions(compiler: _Compiler, flow: Flow) -> dict[Path, Expression]:
    resolved = compiler.definitions.resolve(compiler.app, flow.entity)
    found: dict[Path, Expression] = {}
    if resolved is None:
        return found  # reported by the metamodel's checks
    app, entity = resolved
    flow_compiler = _FlowCompiler(compiler, flow, app, entity, found)
    for name, transition in flow.transitions.items():
        where = ("transitions", name)
        if transition.when is not None:
            flow_compiler.condition(where + ("when",), transition.when)
        for i, rule in enumerate(transition.rules):
            flow_compiler.condition(where + ("rules", i, "when"), rule.when)
        flow_compiler.actions(where + ("actions",), transition.actions)
    for name, state in flow.states.items():
        where = ("states", name)
        flow_compiler.actions(where + ("on_enter",), state.on_enter)
        for i, step in enumerate(state.approval.steps if state.approval else []):
            path = where + ("approval", "steps", i)
            if step.when is not None:
                flow_compiler.condition(path + ("when",), step.when)
            flow_compiler.recipients(path + ("assignee",), step.assignee)
        for i, timer in enumerate(state.timers):
            if isinstance(timer.after, str):
                flow_compiler.typed(where + ("timers", i, "after"), timer.after, INTEGER)
            flow_compiler.actions(where + ("timers", i, "actions"), timer.actions)
    return found


class _FlowCompiler:
    def __init__(
        self,
        compiler: _Compiler,
        flow: Flow,
        app: str,
        entity: Entity,
        found: dict[Path, Expression],
    ) -> None:
        self.compiler = compiler
        self.flow = flow
        self.app = app
        self.entity = entity
        self.found = found
        self.key = (compiler.app, "flow", flow.name)
        self.context = flow_context(flow)

    def compile(self, path: Path, source: str, expected: str | None = None) -> Expression | None:
        entity_compiler = self.compiler.__class__(
            self.compiler.definitions,
            self.compiler.functions,
            self.app,
            self.compiler.calendar,
            self.compiler.problems,
        )
        expression = entity_compiler.compile(
            self.key, path, source, self.entity, self.context, expected
        )
        if expression is not None:
            self.found[path] = expression
        return expression

    def condition(self, path: Path, source: str) -> None:
        self.compile(path, source, "boolean")

    def typed(self, path: Path, source: str, expected: Type) -> None:
        expression = self.compile(path, source)
        if expression is None or expression.type.kind in (expected.kind, "null"):
            return
        problem = f"must give {described(expected)}, not {described(expression.type)}"
        self.fail(path, expression, problem)

    def fail(self, path: Path, expression: Expression, problem: str) -> None:
        self.found.pop(path, None)
        error = ExpressionError(problem, expression.source, 0, len(expression.source))
        self.compiler.problems.append((self.key, path, error))

    def recipients(self, path: Path, recipients: Recipients) -> None:
        """A username (or a list of them) from `expression`; a role's organisation code
        from `org`."""
        if recipients.org is not None and recipients.role is not None:
            self.typed(path + ("org",), recipients.org, STRING)
        if recipients.expression is None:
            return
        where = path + ("expression",)
        expression = self.compile(where, recipients.expression)
        kind = expression.type if expression is not None else None
        if kind is None or kind.kind in ("string", "null"):
            return
        if kind.kind == "list" and kind.item is not None and kind.item.kind == "string":
            return
        self.fail(where, expression, f"must give a username or a list of them, not {kind}")  # type: ignore[arg-type]

    def actions(self, path: Path, actions: list[Action]) -> None:
        for i, action in enumerate(actions):
            where = path + (i,)
            if isinstance(action, SetAction):
                for name, source in action.set.items():
                    self.value(where + ("set", name), source, self.entity, name)
            elif isinstance(action, CreateAction):
                if action.when is not None:
                    self.condition(where + ("when",), action.when)
                resolved = self.compiler.definitions.resolve(self.app, action.create)
                if resolved is not None:
                    for name, source in action.values.items():
                        self.value(where + ("values", name), source, resolved[1], name)
            elif isinstance(action, UpdateAction):
                self.update(where, action)
            elif isinstance(action, NotifyAction):
                self.recipients(where + ("notify",), action.notify)
            elif isinstance(action, DocumentAction) and action.filename is not None:
                self.typed(where + ("filename",), action.filename, STRING)
            elif isinstance(action, JobAction):
                for name, source in action.args.items():
                    self.compile(where + ("args", name), source)
                if action.key is not None:
                    self.typed(where + ("key",), action.key, STRING)
            elif isinstance(action, CallAction):
                for name, source in action.with_.items():
                    self.compile(where + ("with", name), source)

    def update(self, path: Path, action: UpdateAction) -> None:
        """The reference path as an expression giving the target's id, the guard, and each
        value against the target's field."""
        if action.when is not None:
            self.condition(path + ("when",), action.when)
        target = reference_target(self.compiler.definitions, self.app, self.entity, action.update)
        if isinstance(target, str):
            return  # reported by the metamodel's checks
        self.compile(path + ("update",), action.update)
        for name, source in action.values.items():
            self.value(path + ("values", name), source, target[1], name)

    def value(self, path: Path, source: str, target: Entity, name: str) -> None:
        spec = target.fields.get(name)
        expression = self.compile(path, source)
        if expression is None or spec is None:
            return
        problem = assignment_problem(expression.type, spec)
        if problem:
            self.fail(path, expression, problem)
