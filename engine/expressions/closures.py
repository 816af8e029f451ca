"""Back-end 1: a checked tree compiled into nested Python closures, `fn(record, env)`.

No `eval`: each node becomes a small function over its children's functions. Null rules are
those of docs/expressions.md, the same as `sql.py` builds into SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from engine.expressions.calendar import WorkingCalendar
from engine.expressions.functions import DECIMALS
from engine.expressions.typed import (
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
from engine.expressions.types import DIVISION_SCALE

Record = Mapping[str, Any]
Closure = Callable[[Record, "Environment"], Any]
QUANTUM = Decimal(1).scaleb(-DIVISION_SCALE)


def _no_lookup(entity: str, record_id: int) -> Record | None:
    raise LookupError(f"no database to read {entity} #{record_id} from")


def _no_aggregate(node: TAggregate, record: Record) -> Any:
    raise LookupError(f"no database to compute {node.function}({node.relation.name})")


@dataclass
class Environment:
    """What an evaluation may read besides the record: the clock, variables and the database.

    `lookup(entity, id)` returns a referenced record; `aggregate(node, record)` computes an
    aggregate over the record's related records. The engine supplies both for server contexts.
    """

    today: date = field(default_factory=date.today)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    timezone: str = "Asia/Shanghai"
    variables: dict[str, Any] = field(default_factory=dict)
    calendar: WorkingCalendar | None = None
    lookup: Callable[[str, int], Record | None] = _no_lookup
    aggregate: Callable[[TAggregate, Record], Any] = _no_aggregate


def compile_closure(node: Typed) -> Closure:
    match node:
        case TLiteral():
            value = node.value
            return lambda r, e: value
        case TList():
            return _list(node)
        case TField():
            return _field(node)
        case TVariable():
            return _variable(node)
        case TNot():
            operand = _truth(node.operand)
            return lambda r, e: not operand(r, e)
        case TNegate():
            operand = compile_closure(node.operand)
            return lambda r, e: None if (v := operand(r, e)) is None else -v
        case TLogic():
            return _logic(node)
        case TCompare():
            return _compare(node)
        case TIn():
            return _in(node)
        case TArithmetic():
            return _arithmetic(node)
        case TIf():
            return _as_decimal(node, (node.then, node.otherwise), _if(node))
        case TCoalesce():
            return _as_decimal(node, node.args, _coalesce(node))
        case TCall():
            return _as_decimal(node, node.args, _call(node))
        case TAggregate():
            return lambda r, e: e.aggregate(node, r)
    raise AssertionError(f"cannot compile {node!r}")


def _as_decimal(node: Typed, parts: Sequence[Typed], closure: Closure) -> Closure:
    """`if`, `coalesce`, `min` and `max` mixing whole numbers and decimals give a decimal, as
    in SQL: `if(c, 1, rent)` is Decimal(1), not 1, when it takes the whole number."""
    if node.type.kind != "decimal" or all(part.type.kind != "integer" for part in parts):
        return closure

    def as_decimal(r: Record, e: Environment) -> Any:
        value = closure(r, e)
        return Decimal(value) if type(value) is int else value

    return as_decimal


def _truth(node: Typed) -> Closure:
    """A condition as a closure returning exactly True or False: null counts as false."""
    inner = compile_closure(node)
    if not node.type.nullable:
        return inner
    return lambda r, e: inner(r, e) is True


def _list(node: TList) -> Closure:
    items = [compile_closure(item) for item in node.items]
    if all(isinstance(item, TLiteral) for item in node.items):
        values = [item.value for item in node.items if isinstance(item, TLiteral)]
        return lambda r, e: list(values)
    return lambda r, e: [item(r, e) for item in items]


def _field(node: TField) -> Closure:
    first, *rest = node.steps
    name = first.field
    if not rest:
        return lambda r, e: r.get(name)
    hops = [(step.entity, step.field) for step in rest]
    if len(hops) == 1:
        [(target, target_field)] = hops

        def follow_one(r: Record, e: Environment) -> Any:
            value = r.get(name)
            if value is None:
                return None
            row = e.lookup(target, value)
            return None if row is None else row.get(target_field)

        return follow_one

    def follow(r: Record, e: Environment) -> Any:
        value = r.get(name)
        for entity, field_name in hops:
            if value is None:
                return None
            row = e.lookup(entity, value)
            if row is None:
                return None
            value = row.get(field_name)
        return value

    return follow


def _variable(node: TVariable) -> Closure:
    name, attribute = node.name, node.attribute
    if name in ("today", "now"):
        return (lambda r, e: e.today) if name == "today" else (lambda r, e: e.now)
    if attribute is None:
        return lambda r, e: e.variables.get(name)
    return lambda r, e: (e.variables.get(name) or {}).get(attribute)


def _logic(node: TLogic) -> Closure:
    parts = [_truth(operand) for operand in node.operands]
    if node.operator == "and":
        if len(parts) == 2:
            a, b = parts
            return lambda r, e: a(r, e) and b(r, e)
        if len(parts) == 3:
            a, b, c = parts
            return lambda r, e: a(r, e) and b(r, e) and c(r, e)
        return lambda r, e: all(part(r, e) for part in parts)
    if len(parts) == 2:
        a, b = parts
        return lambda r, e: a(r, e) or b(r, e)
    return lambda r, e: any(part(r, e) for part in parts)


def _compare(node: TCompare) -> Closure:
    op = node.operator
    if (
        isinstance(node.right, TLiteral)
        and isinstance(node.left, TField)
        and len(node.left.steps) == 1
    ):
        return _compare_field_literal(op, node.left.steps[0].field, node.right.value)
    if isinstance(node.right, TLiteral):
        return _compare_literal(op, compile_closure(node.left), node.right.value)
    left, right = compile_closure(node.left), compile_closure(node.right)
    if op == "==":
        return lambda r, e: left(r, e) == right(r, e)
    if op == "!=":
        return lambda r, e: left(r, e) != right(r, e)
    test = ORDERINGS[op]

    def ordered(r: Record, e: Environment) -> bool:
        a, b = left(r, e), right(r, e)
        return a is not None and b is not None and test(a, b)

    return ordered


def _compare_literal(op: str, left: Closure, value: Any) -> Closure:
    """`<any value> <op> literal`, such as `household.size >= 3`, in one closure."""
    if op == "==":
        return lambda r, e: left(r, e) == value
    if op == "!=":
        return lambda r, e: left(r, e) != value
    if op == "<":
        return lambda r, e: (v := left(r, e)) is not None and v < value
    if op == "<=":
        return lambda r, e: (v := left(r, e)) is not None and v <= value
    if op == ">":
        return lambda r, e: (v := left(r, e)) is not None and v > value
    return lambda r, e: (v := left(r, e)) is not None and v >= value


def _compare_field_literal(op: str, name: str, value: Any) -> Closure:
    """The commonest guard shape, `field <op> literal`, in one closure instead of three."""
    if op == "==":
        return lambda r, e: r.get(name) == value
    if op == "!=":
        return lambda r, e: r.get(name) != value
    if op == "<":
        return lambda r, e: (v := r.get(name)) is not None and v < value
    if op == "<=":
        return lambda r, e: (v := r.get(name)) is not None and v <= value
    if op == ">":
        return lambda r, e: (v := r.get(name)) is not None and v > value
    return lambda r, e: (v := r.get(name)) is not None and v >= value


ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _in(node: TIn) -> Closure:
    item = compile_closure(node.item)
    negated = node.negated
    if (
        isinstance(node.collection, TList)
        and all(isinstance(i, TLiteral) for i in node.collection.items)
        and node.item.type.kind != "json"  # a json value may be a dict: no hash
    ):
        values = frozenset(i.value for i in node.collection.items if isinstance(i, TLiteral))
        if negated:
            return lambda r, e: item(r, e) not in values
        return lambda r, e: item(r, e) in values
    collection = compile_closure(node.collection)

    def contained(r: Record, e: Environment) -> bool:
        found = item(r, e) in (collection(r, e) or ())
        return not found if negated else found

    return contained


def _arithmetic(node: TArithmetic) -> Closure:
    left, right = compile_closure(node.left), compile_closure(node.right)
    operate = OPERATIONS[node.operator]

    def arithmetic(r: Record, e: Environment) -> Any:
        a = left(r, e)
        if a is None:
            return None
        b = right(r, e)
        return None if b is None else operate(a, b)

    return arithmetic


def _divide(a: int | Decimal, b: int | Decimal) -> Decimal | None:
    if b == 0:
        return None
    return DECIMALS.divide(Decimal(a), Decimal(b)).quantize(QUANTUM, context=DECIMALS)


def _modulo(a: int, b: int) -> int | None:
    """The remainder takes the dividend's sign, as in SQL: -7 % 3 is -1."""
    if b == 0:
        return None
    remainder = abs(a) % abs(b)
    return remainder if a >= 0 else -remainder


OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
    "%": _modulo,
}


def _if(node: TIf) -> Closure:
    condition, then = _truth(node.condition), compile_closure(node.then)
    otherwise = compile_closure(node.otherwise)
    return lambda r, e: then(r, e) if condition(r, e) else otherwise(r, e)


def _coalesce(node: TCoalesce) -> Closure:
    args = [compile_closure(arg) for arg in node.args]

    def coalesce(r: Record, e: Environment) -> Any:
        for arg in args:
            value = arg(r, e)
            if value is not None:
                return value
        return None

    return coalesce


def _call(node: TCall) -> Closure:
    function = node.function
    args = [compile_closure(arg) for arg in node.args]
    implementation, needs = function.python, function.needs
    propagate = function.propagate_nulls

    def call(r: Record, e: Environment) -> Any:
        values = [arg(r, e) for arg in args]
        if propagate and None in values:
            return None
        if needs:
            values = [getattr(e, need) for need in needs] + values
        return implementation(*values)

    return call
