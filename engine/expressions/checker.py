"""Type-checking: a parsed expression against an entity's fields and a context's variables.

Everything a configurator can get wrong is found here, at definition-load time, with the
column of the mistake: unknown fields (with a suggestion), wrong argument types, enum values
that are not options, and constructs the context does not allow.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from difflib import get_close_matches
from typing import Any, NoReturn

from engine.expressions.errors import ExpressionError
from engine.expressions.functions import AGGREGATES, ArgumentProblem, FunctionRegistry
from engine.expressions.scope import Scope
from engine.expressions.syntax import Binary, Call, ListOf, Literal, Node, Path, Unary
from engine.expressions.typed import (
    Step,
    TAggregate,
    TArithmetic,
    TCall,
    TCoalesce,
    TCompare,
    TField,
    TIf,
    TIn,
    TList,
    TLiteral,
    TLogic,
    TNegate,
    TNot,
    TVariable,
    Typed,
)
from engine.expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DIVISION_SCALE,
    INTEGER,
    NULL,
    STRING,
    Type,
    common,
    comparable,
    decimal,
    described,
    field_type,
)
from metamodel.fields import ReferenceField

ORDERING = ("<", "<=", ">", ">=")


def check(source: str, node: Node, scope: Scope, functions: FunctionRegistry) -> Typed:
    return _Checker(source, functions).check(node, scope)


class _Checker:
    def __init__(self, source: str, functions: FunctionRegistry) -> None:
        self.source = source
        self.functions = functions

    def fail(self, node: Node | tuple[int, int], message: str) -> NoReturn:
        start, end = (node.start, node.end) if isinstance(node, Node) else node
        raise ExpressionError(message, self.source, start, end)

    def check(self, node: Node, scope: Scope) -> Typed:
        typed = self._check_any(node, scope)
        if typed.type.kind == "list":
            self.fail(node, "a list can only follow 'in' or 'not in'")
        return typed

    def _check_any(self, node: Node, scope: Scope) -> Typed:
        match node:
            case Literal():
                return TLiteral(_literal_type(node.value), node, node.value)
            case ListOf():
                return self._list(node, scope)
            case Path():
                return self._path(node, scope)
            case Unary():
                return self._unary(node, scope)
            case Binary() if node.operator in ("and", "or"):
                return self._logic(node, scope)
            case Binary() if node.operator in ("in", "not in"):
                return self._in(node, scope)
            case Binary() if node.operator in ("+", "-", "*", "/", "%"):
                return self._arithmetic(node, scope)
            case Binary():
                return self._compare(node, scope)
            case Call():
                return self._call(node, scope)
        raise AssertionError(f"unknown node {node!r}")

    def condition(self, node: Node, scope: Scope, what: str = "a condition") -> Typed:
        typed = self.check(node, scope)
        if typed.type.kind not in ("boolean", "null"):
            self.fail(node, f"{what} must be true or false, but this is {described(typed.type)}")
        return typed

    # values

    def _list(self, node: ListOf, scope: Scope) -> Typed:
        items = tuple(self.check(item, scope) for item in node.items)
        item_type = common([i.type for i in items]) if items else NULL
        if item_type is None:
            self.fail(node, "the items of a list must all be of one type")
        return TList(Type("list", nullable=False, item=item_type), node, items)

    def _path(self, node: Path, scope: Scope) -> Typed:
        first = node.names[0]
        if first in scope.context.variables:
            return self._variable(node, scope)
        steps: list[Step] = []
        current = scope
        for i, name in enumerate(node.names):
            span = (node.offsets[i], node.offsets[i] + len(name))
            spec = current.field(name)
            system = current.system_fields()
            if spec is None and name in system:
                steps.append(Step(current.path, name))
                kind = system[name]
                if i < len(node.names) - 1:
                    self.fail(
                        span, f"{name} is {described(kind)}, not a reference; it has no fields"
                    )
                return TField(kind, node, tuple(steps))
            if spec is None:
                self._unknown_name(name, span, current, top=i == 0)
            if spec.virtual:
                self.fail(
                    span,
                    f"{name} is a virtual field, computed only when read; "
                    "expressions cannot use it (store it instead: drop virtual)",
                )
            if spec.sensitive and current.context.sql_only:
                self.fail(
                    span,
                    f"`{name}` is sensitive (encrypted at rest); only expressions run in "
                    "Python, such as rules and computed fields, can read it",
                )
            steps.append(Step(current.path, name))
            if i == len(node.names) - 1:
                target = current.follow(spec).path if isinstance(spec, ReferenceField) else None
                return TField(field_type(spec, target), node, tuple(steps))
            if not isinstance(spec, ReferenceField):
                self.fail(
                    span,
                    f"{name} is {described(field_type(spec))} field, not a reference; "
                    "only references can be followed with '.'",
                )
            if not scope.context.references:
                self.fail(node, f"{scope.context.name} cannot follow references")
            current = current.follow(spec)
        raise AssertionError("a path has at least one name")

    def _unknown_name(self, name: str, span: tuple[int, int], scope: Scope, top: bool) -> NoReturn:
        if top and name in scope.relations():
            self.fail(
                span,
                f"{name} is a list of related records; use it in an aggregate, "
                f"such as count({name}) or count({name} where …)",
            )
        if top and name in ("user", "input", "params"):
            self.fail(span, f"{name} is not available in {scope.context.name}")
        candidates = scope.field_names() + (list(scope.context.variables) if top else [])
        close = get_close_matches(name, candidates, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        self.fail(span, f"unknown field {name!r} in {scope.path}{hint}")

    def _variable(self, node: Path, scope: Scope) -> Typed:
        name, *rest = node.names
        declared = scope.context.variables[name]
        if isinstance(declared, Type):
            if rest:
                self.fail(node, f"{name} is {described(declared)}; it has no attributes")
            return TVariable(declared, node, name)
        if len(rest) != 1:
            known = ", ".join(f"{name}.{a}" for a in declared)
            self.fail(node, f"{name} needs one attribute: {known}")
        attribute = rest[0]
        if attribute not in declared:
            close = get_close_matches(attribute, list(declared), n=1)
            hint = f"; did you mean {name}.{close[0]}?" if close else ""
            self.fail((node.offsets[1], node.end), f"{name} has no attribute {attribute!r}{hint}")
        return TVariable(declared[attribute], node, name, attribute)

    # operators

    def _unary(self, node: Unary, scope: Scope) -> Typed:
        if node.operator == "not":
            operand = self.condition(node.operand, scope, "the operand of 'not'")
            return TNot(BOOLEAN, node, operand)
        operand = self.check(node.operand, scope)
        if not operand.type.numeric and operand.type.kind != "null":
            self.fail(node.operand, f"'-' needs a number, not {described(operand.type)}")
        return TNegate(operand.type, node, operand)

    def _logic(self, node: Binary, scope: Scope) -> Typed:
        operands: list[Typed] = []
        for side in (node.left, node.right):
            typed = self.condition(side, scope, f"each side of '{node.operator}'")
            if isinstance(typed, TLogic) and typed.operator == node.operator:
                operands.extend(typed.operands)
            else:
                operands.append(typed)
        return TLogic(BOOLEAN, node, node.operator, tuple(operands))

    def _compare(self, node: Binary, scope: Scope) -> Typed:
        left, right = self.check(node.left, scope), self.check(node.right, scope)
        op = node.operator
        if not comparable(left.type, right.type):
            self.fail(
                node,
                f"cannot compare {described(left.type)} with {described(right.type)}"
                + _comparison_hint(left.type, right.type),
            )
        if op in ORDERING:
            for side in (left, right):
                if side.type.kind == "null":
                    self.fail(side.node, "null has no order; write '== null' or '!= null'")
                if side.type.kind in ("boolean", "json"):
                    self.fail(side.node, f"{described(side.type)} has no order; use == or !=")
        self._check_options(left, right)
        self._check_options(right, left)
        return TCompare(BOOLEAN, node, op, left, right)

    def _check_options(self, field: Typed, other: Typed) -> None:
        values = other.items if isinstance(other, TList) else (other,)
        for value in values:
            if (
                field.type.options
                and isinstance(value, TLiteral)
                and isinstance(value.value, str)
                and value.value not in field.type.options
            ):
                close = get_close_matches(value.value, list(field.type.options), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.fail(
                    value.node,
                    f"{value.value!r} is not an option of "
                    f"{_describe(field)}; {hint}options: " + ", ".join(field.type.options),
                )

    def _in(self, node: Binary, scope: Scope) -> Typed:
        item, collection = self.check(node.left, scope), self._check_any(node.right, scope)
        if collection.type.kind != "list":
            self.fail(
                node.right,
                f"'{node.operator}' needs a list on the right, such as "
                '["a", "b"]; for text use contains(text, part)',
            )
        element = collection.type.item or NULL
        if not comparable(item.type, element):
            self.fail(node, f"cannot look for {described(item.type)} in a {collection.type}")
        self._check_options(item, collection)
        return TIn(BOOLEAN, node, item, collection, node.operator == "not in")

    def _arithmetic(self, node: Binary, scope: Scope) -> Typed:
        left, right = self.check(node.left, scope), self.check(node.right, scope)
        op = node.operator
        for side in (left, right):
            if not side.type.numeric and side.type.kind != "null":
                self.fail(
                    side.node,
                    f"'{op}' needs numbers, not {described(side.type)}"
                    + _arithmetic_hint(op, side.type),
                )
        nullable = left.type.nullable or right.type.nullable
        kinds = {left.type.kind, right.type.kind} - {"null"}
        if op == "%":
            if "decimal" in kinds:
                self.fail(node, "'%' needs whole numbers")
            return TArithmetic(Type("integer", nullable=True), node, op, left, right)
        if op == "/":
            return TArithmetic(decimal(DIVISION_SCALE, True), node, op, left, right)
        if kinds <= {"integer"}:
            return TArithmetic(Type("integer", nullable=nullable), node, op, left, right)
        scale = (
            left.type.scale + right.type.scale
            if op == "*"
            else max(left.type.scale, right.type.scale)
        )
        return TArithmetic(decimal(scale, nullable), node, op, left, right)

    # calls

    def _call(self, node: Call, scope: Scope) -> Typed:
        name = node.name
        name_span = (node.start, node.name_end)
        if name in AGGREGATES and _is_aggregate(node, scope):
            return self._aggregate(node, scope)
        if node.where is not None:
            self.fail(
                node.where,
                f"'where' belongs to aggregates ({', '.join(AGGREGATES)}) over related records",
            )
        if name == "if":
            return self._if(node, scope)
        if name == "coalesce":
            return self._coalesce(node, scope)
        function = self.functions.get(name)
        if function is None and name in AGGREGATES:
            self._not_over_relation(node, scope)
        if function is None:
            known = {*self.functions.names(), *AGGREGATES, "if", "coalesce"}
            close = get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}()?" if close else ""
            self.fail(name_span, f"unknown function {name!r}{hint}")
        low, high = function.arity
        if len(node.args) < low or (high is not None and len(node.args) > high):
            self.fail(node, f"{name}() takes {_arity(low, high)}; got {len(node.args)}")
        if scope.context.sql_only and function.sql is None:
            self.fail(
                name_span,
                f"{name}() cannot run in the database, so it cannot be used "
                f"in {scope.context.name}",
            )
        if "calendar" in function.needs and scope.calendar is None:
            self.fail(
                name_span,
                f"{name}() needs a working-day calendar: add calendars/default.yaml to an app",
            )
        args = tuple(self.check(arg, scope) for arg in node.args)
        try:
            result = function.returns([a.type for a in args], args)
        except ArgumentProblem as problem:
            self.fail(
                node.args[problem.index] if problem.index < len(node.args) else node,
                f"{name}(): {problem.message}",
            )
        return TCall(result, node, function, args)

    def _not_over_relation(self, node: Call, scope: Scope) -> NoReturn:
        """`count`, `sum`, `avg` and `exists` given something other than one relation."""
        name, relations = node.name, sorted(scope.relations())
        relation = relations[0] if relations else "bills"
        field = "" if name in ("count", "exists") else ".amount"
        example = f"{name}({relation}{field})"
        if len(node.args) != 1:
            self.fail(node, f"{name}() takes one relation, such as {example}")
        listed = f"has {', '.join(relations)}" if relations else "has none"
        self.fail(
            node.args[0],
            f"{name}() works over related records, such as {example}; {scope.path} {listed}",
        )

    def _if(self, node: Call, scope: Scope) -> Typed:
        if len(node.args) != 3:
            self.fail(
                node, f"if() takes 3 arguments (condition, then, otherwise); got {len(node.args)}"
            )
        condition = self.condition(node.args[0], scope, "the condition of if()")
        then, otherwise = self.check(node.args[1], scope), self.check(node.args[2], scope)
        result = common([then.type, otherwise.type])
        if result is None:
            self.fail(node, f"the two results of if() differ: {then.type} and {otherwise.type}")
        return TIf(result, node, condition, then, otherwise)

    def _coalesce(self, node: Call, scope: Scope) -> Typed:
        if len(node.args) < 2:
            self.fail(node, "coalesce() takes at least 2 arguments")
        args = tuple(self.check(arg, scope) for arg in node.args)
        result = common([a.type for a in args])
        if result is None:
            self.fail(node, "the arguments of coalesce() must all be of one type")
        return TCoalesce(result.maybe_null(all(a.type.nullable for a in args)), node, args)

    def _aggregate(self, node: Call, scope: Scope) -> Typed:
        name = node.name
        if not scope.context.aggregates:
            self.fail(node, f"{scope.context.name} cannot use aggregates over related records")
        relations = scope.relations()
        path = node.args[0] if len(node.args) == 1 else None
        if not isinstance(path, Path) or path.names[0] not in relations:
            self._not_over_relation(node, scope)
        relation = relations[path.names[0]]
        # an aggregate always runs in the database (`aggregate_query`), and runs there alone
        within = f"{name}() over {relation.name}"
        inner_context = replace(scope.context, name=within, aggregates=False, sql_only=True)
        inner = scope.related(relation, inner_context)
        value: Typed | None = None
        if name in ("count", "exists"):
            if len(path.names) > 1:
                self.fail(path, f"{name}() counts records; write {name}({relation.name})")
        else:
            if len(path.names) < 2:
                self.fail(path, f"{name}() needs a field, such as {name}({relation.name}.amount)")
            tail = Path(path.offsets[1], path.end, path.names[1:], path.offsets[1:])
            value = self._path(tail, replace(inner, context=replace(inner.context, variables={})))
            if name in ("sum", "avg") and not value.type.numeric:
                self.fail(path, f"{name}() needs a number field, not {described(value.type)}")
            if value.type.kind in ("boolean", "json"):
                self.fail(path, f"{name}() cannot order {described(value.type)}")
        where = self.condition(node.where, inner, "'where'") if node.where is not None else None
        result = {
            "count": INTEGER,
            "exists": BOOLEAN,
            "avg": decimal(DIVISION_SCALE, True),
        }.get(name)
        if result is None:
            assert value is not None
            result = value.type.maybe_null(name != "sum")
        return TAggregate(result, node, name, relation, value, where)


def _is_aggregate(node: Call, scope: Scope) -> bool:
    """`min(a, b)` is a function; `min(bills.amount)` and anything with `where` aggregate."""
    if node.where is not None:
        return True
    first = node.args[0] if len(node.args) == 1 else None
    return isinstance(first, Path) and first.names[0] in scope.relations()


def _literal_type(value: Any) -> Type:
    match value:
        case bool():
            return BOOLEAN
        case int():
            return INTEGER
        case Decimal():
            return decimal(max(0, -int(value.as_tuple().exponent)))
        case str():
            return STRING
        case datetime():
            return DATETIME
        case date():
            return DATE
    return NULL


def _describe(typed: Typed) -> str:
    if isinstance(typed, TField):
        return typed.steps[-1].field
    return "the value"


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _comparison_hint(left: Type, right: Type) -> str:
    kinds = {left.kind, right.kind}
    if "json" in kinds:
        return "; json fields can only be compared with null"
    if kinds == {"date", "datetime"}:
        return "; turn the datetime into a date with date(x)"
    if kinds == {"date", "string"}:
        return "; write dates as @2026-03-01"
    if "string" in kinds and kinds & {"integer", "decimal"}:
        return "; numbers are written without quotes"
    return ""


def _arithmetic_hint(op: str, kind: Type) -> str:
    if kind.kind == "string" and op == "+":
        return "; join text with concat(a, b)"
    if kind.kind == "date":
        return "; use add_days(date, n) or days_between(a, b)"
    return ""
