"""JsonLogic import and export, so rules built in JavaScript query builders come in and go out.

Only the subset with one meaning on both sides maps; everything else is refused with a message
naming the construct (export: `JsonLogicUnsupported`, with a caret) or the JSON path of the
problem (import: `JsonLogicInvalid`, such as `at and[1]: unsupported operator "some": …`).

| JsonLogic                          | Anju                   | Notes                              |
|------------------------------------|------------------------|------------------------------------|
| `{"var": "a.b"}`                   | `a.b`                  | not `today`, `now`: Anju's clock   |
| `{"var": ["a", d]}`                | `coalesce(a, d)`       | d also stands in for a null a      |
| `==` `===`, `!=` `!==`             | `==`, `!=`             | exported as `==`, `!=`             |
| `<` `<=` `>` `>=`                  | the same               |                                    |
| `{"<": [a, b, c]}`, also `<=`      | `a < b and b < c`      | exported back so from an `and`     |
| `and`, `or` (n-ary)                | `a and b and c`        | one argument: that argument        |
| `{"!": [a]}`                       | `not a`                |                                    |
| `{"!": [{"in": [x, [..]]}]}`       | `x not in [..]`        |                                    |
| `{"!!": [c]}`                      | `c`                    | import only; c a condition         |
| `{"in": [x, [..]]}`                | `x in [..]`            |                                    |
| `{"in": [part, text]}`             | `contains(text, part)` | text: anything but an array        |
| `+` `*` (n-ary), `-` `/` `%`       | `a + b + c`, `a - b`   | `{"-": [a]}` is `-a`               |
| `{"if": [c, a, b]}`, also `?:`     | `if(c, a, b)`          | more arguments nest; no else: null |
| `min`, `max` (2 or more)           | `min(..)`, `max(..)`   |                                    |
| `cat`                              | `concat(..)`           |                                    |
| `{"substr": [t, s, n]}`            | `substr(t, s + 1, n)`  | s, n whole numbers ≥ 0 written out |
| numbers, text, booleans, null      | the same               | floats read as `Decimal(repr(f))`  |
| arrays                             | `[..]`                 | only as the list after `in`        |
| `"2026-03-01"` (text)              | `@2026-03-01`          | export only: JsonLogic has no date |

JsonLogic uses a var's default only when the field is absent; an Anju record holds null for an
absent field, so `coalesce` also replaces a null (a null default is dropped: it changes nothing).
A JSON float is read as `Decimal(repr(f))`, so 39600.5 stays 39600.5; a decimal that a JSON
number (a double) cannot hold exactly is not exported. Dates and datetimes export as ISO text;
import cannot tell such text from any other, so it stays text (the checker then says to write
`@2026-03-01`). Refused both ways: `some all none map filter reduce merge missing missing_some
log`, `!!` of a value (JavaScript truthiness: 0, "" and false count as false), aggregates,
the clock and every other function. An imported rule runs by Anju's rules: ordering with null
is false (JavaScript takes null as 0), arithmetic with null gives null, `/` keeps 6 digits.
`"admin" in user.roles` exports, but comes back as `contains(user.roles, "admin")`: an import
cannot tell a list field from text without the entity, and the checker then refuses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from difflib import get_close_matches
from typing import Any, NoReturn

from engine.expressions.errors import ExpressionError
from engine.expressions.syntax import (
    MAX_DEPTH,
    MAX_NODES,
    Binary,
    Call,
    ListOf,
    Literal,
    Node,
    Path,
    Unary,
    parse,
)

LEVELS = [("or",), ("and",), ("not",), ("==", "!=", "<", "<=", ">", ">=", "in", "not in")]
LEVELS += [("+", "-"), ("*", "/", "%"), ("negate",), ("atom",)]
PRECEDENCE = {operator: level for level, names in enumerate(LEVELS, 1) for operator in names}
CLOCK = ("today", "now")
DATES = {"date", "days_between", "add_days", "add_months", "year", "month", *CLOCK}
DATES |= {"working_days_between", "add_working_days"}
NAME = re.compile(r"[a-z_][a-z0-9_]*", re.IGNORECASE)
KEYWORDS = frozenset({"and", "or", "not", "in", "where", "true", "false", "null"})
LOOPS = "loops over a list; Anju has no loops (over related records, use count(rel where …))"
ABSENT = 'lists absent fields; test each field with {"==": [{"var": "x"}, null]}'
REFUSED = {
    **dict.fromkeys(("some", "all", "none", "map", "filter", "reduce"), LOOPS),
    **dict.fromkeys(("missing", "missing_some"), ABSENT),
    "merge": "builds a list at run time; write the list out, such as [1, 2]",
    "log": "writes to the JavaScript console; remove it and keep its argument",
}
MISTYPED = {"=": "==", "<>": "!=", "not": "!", "&&": "and", "||": "or"}


class JsonLogicUnsupported(ExpressionError):
    """An expression construct with no JsonLogic form; the caret points at it."""


class JsonLogicInvalid(ValueError):
    """A JsonLogic rule with no Anju form; `path` is where in the JSON (`and[1].or[0]`)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"at {path or 'the root'}: {message}")


# export


def to_jsonlogic(source: str) -> Any:
    """The JsonLogic rule (plain JSON values) for an expression.

    >>> to_jsonlogic('size >= 3 and status == "submitted"')
    {'and': [{'>=': [{'var': 'size'}, 3]}, {'==': [{'var': 'status'}, 'submitted']}]}
    """
    return _Exporter(source).rule(parse(source))


class _Exporter:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Node, message: str, end: int | None = None) -> NoReturn:
        raise JsonLogicUnsupported(message, self.source, node.start, end or node.end)

    def rule(self, node: Node) -> Any:
        match node:
            case Literal(value=date() as value):  # datetimes too
                return value.isoformat()
            case Literal(value=Decimal() as value):
                return self.number(node, value)
            case Literal():
                return node.value
            case ListOf():
                return [self.rule(item) for item in node.items]
            case Path():
                return {"var": self.var(node)}
            case Unary(operator="not"):
                return {"!": [self.rule(node.operand)]}
            case Unary(operand=Literal(value=int() | Decimal() as value)) if (
                type(value) is not bool
            ):
                return self.number(node, -value)
            case Unary():
                return {"-": [self.rule(node.operand)]}
            case Binary(operator="and"):
                return self.conjunction(_chain(node))
            case Binary(operator="or" | "+" | "*"):
                return {node.operator: [self.rule(part) for part in _chain(node)]}
            case Binary(operator="not in"):
                return {"!": [{"in": [self.rule(node.left), self.rule(node.right)]}]}
            case Binary():
                return {node.operator: [self.rule(node.left), self.rule(node.right)]}
            case Call():
                return self.call(node)
        raise AssertionError(f"unknown node {node!r}")

    def number(self, node: Node, value: int | Decimal) -> int | float:
        if isinstance(value, int):
            return value
        if Decimal(repr(float(value))) != value:  # JSON numbers are doubles in JavaScript
            self.fail(node, f"{value} has more digits than a JSON number (a double) holds")
        return float(value)

    def var(self, node: Path) -> str:
        if node.names[0] in CLOCK:
            self.fail(node, f"{node.names[0]} has no JsonLogic form: JsonLogic has no clock")
        return ".".join(node.names)

    def conjunction(self, operands: list[Node]) -> Any:
        """`a < b and b < c` side by side become JsonLogic's between, `{"<": [a, b, c]}`."""
        rules: list[Any] = []
        while operands:
            first, second = operands[0], operands[1] if len(operands) > 1 else None
            if _between(first, second):
                assert isinstance(first, Binary) and isinstance(second, Binary)
                parts = (first.left, first.right, second.right)
                rules.append({first.operator: [self.rule(part) for part in parts]})
                operands = operands[2:]
            else:
                rules.append(self.rule(operands.pop(0)))
        return rules[0] if len(rules) == 1 else {"and": rules}

    def call(self, node: Call) -> Any:
        name, args = node.name, node.args
        aggregate = name in ("count", "sum", "avg", "exists") or (
            name in ("min", "max") and len(args) == 1
        )
        if aggregate or node.where is not None:
            self.fail(node, f"{name}() over related records has no JsonLogic form")
        if name == "if" and len(args) == 3:
            rules: list[Any] = []
            otherwise: Node = node
            while (
                isinstance(otherwise, Call) and otherwise.name == "if" and len(otherwise.args) == 3
            ):
                condition, then, otherwise = otherwise.args
                rules += [self.rule(condition), self.rule(then)]
            return {"if": [*rules, self.rule(otherwise)]}
        if name == "coalesce" and len(args) >= 2:
            *fields, fallback = args
            rule = self.rule(fallback)
            for field in reversed(fields):
                if not isinstance(field, Path):
                    self.fail(
                        field, "coalesce() has a JsonLogic form only as coalesce(field, …, value)"
                    )
                rule = {"var": [self.var(field), rule]}
            return rule
        if name in ("min", "max", "concat"):
            return {"cat" if name == "concat" else name: [self.rule(arg) for arg in args]}
        if name == "contains" and len(args) == 2:
            return {"in": [self.rule(args[1]), self.rule(args[0])]}
        if name == "substr" and len(args) in (2, 3):
            text, *numbers = args
            values = [
                n.value if isinstance(n, Literal) and type(n.value) is int else -1 for n in numbers
            ]
            if values[0] < 1 or min(values) < 0:
                self.fail(
                    node, "substr() has a JsonLogic form only with whole numbers ≥ 1 written out"
                )
            return {"substr": [self.rule(text), values[0] - 1, *values[1:]]}
        reason = ": JsonLogic has no dates" if name in DATES else ""
        self.fail(node, f"{name}() has no JsonLogic form{reason}", node.start + len(name))


def _chain(node: Binary) -> list[Node]:
    """The operands of a left-nested chain of one operator: `a + b + c` → [a, b, c]."""
    operands = [node.right]
    while isinstance(node.left, Binary) and node.left.operator == node.operator:
        node = node.left
        operands.append(node.right)
    return [node.left, *reversed(operands)]


def _between(first: Node | None, second: Node | None) -> bool:
    return (
        isinstance(first, Binary)
        and isinstance(second, Binary)
        and first.operator in ("<", "<=")
        and second.operator == first.operator
        and to_source(first.right) == to_source(second.left)
    )


# import


def from_jsonlogic(rule: Any) -> str:
    """Expression source for a JsonLogic rule, parenthesised to parse back to the same tree.

    >>> from_jsonlogic({"and": [{">=": [{"var": "size"}, 3]}, {"==": [{"var": "status"}, "x"]}]})
    'size >= 3 and status == "x"'
    """
    source = to_source(_import(rule, "", 1))
    try:
        parse(source)
    except ExpressionError as error:
        raise JsonLogicInvalid("", error.message) from None
    return source


@dataclass(frozen=True)
class _Operation:
    """One JsonLogic operation on its way in: operator, arguments, and where it is."""

    operator: str
    args: list[Any]
    path: str
    depth: int

    def fail(self, message: str) -> NoReturn:
        raise JsonLogicInvalid(self.path, message)

    def at(self, index: int) -> str:
        return f"{self.path}{'.' if self.path else ''}{self.operator}[{index}]"

    def node(self, index: int) -> Node:
        return _import(self.args[index], self.at(index), self.depth + 1)

    def nodes(self, low: int, high: int | None = None) -> list[Node]:
        if len(self.args) > MAX_NODES:  # the parser would refuse it; say so before building it
            self.fail(f'"{self.operator}" has more than {MAX_NODES} arguments; split the rule')
        if len(self.args) < low or (high is not None and len(self.args) > high):
            wanted = f"{low}" + (" or more" if high is None else f" to {high}" * (high > low))
            noun = "argument" if low == high == 1 else "arguments"
            self.fail(f'"{self.operator}" takes {wanted} {noun}; got {len(self.args)}')
        return [self.node(i) for i in range(len(self.args))]


def _import(rule: Any, path: str, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise JsonLogicInvalid(path, f"the rule nests deeper than {MAX_DEPTH} levels")
    if isinstance(rule, dict) and len(rule) == 1:
        ((operator, args),) = rule.items()
        operation = _Operation(
            str(operator), args if isinstance(args, list) else [args], path, depth
        )
        return IMPORTERS.get(operation.operator, _unknown)(operation)
    if isinstance(rule, dict):
        keys = ", ".join(json.dumps(key) for key in rule) or "none"
        raise JsonLogicInvalid(path, f"an operation has exactly one key, its operator; got {keys}")
    if isinstance(rule, list):
        raise JsonLogicInvalid(path, 'a list can only be the second argument of "in"')
    if rule is None or isinstance(rule, bool | str):
        return Literal(0, 0, rule)
    number = Decimal(repr(rule)) if isinstance(rule, float) else rule  # 39600.5 stays exact
    if isinstance(number, int) or (isinstance(number, Decimal) and number.is_finite()):
        if number < 0 or (isinstance(number, Decimal) and number.is_signed()):
            return Unary(0, 0, "-", Literal(0, 0, abs(number)))  # Anju has no negative literals
        return Literal(0, 0, number)
    raise JsonLogicInvalid(path, f"{rule!r} is not a JSON value Anju can read")


def _var(op: _Operation) -> Node:
    name = op.args[0] if op.args else None
    names = name.split(".") if isinstance(name, str) and len(op.args) <= 2 else [""]
    if not all(NAME.fullmatch(part) and part not in KEYWORDS for part in names):
        op.fail(f'"var" must name a field, such as "household.size"; got {json.dumps(op.args)}')
    if names[0] in CLOCK:
        op.fail(f'{{"var": "{name}"}} would read the clock in Anju, not a field; rename the field')
    path = Path(0, 0, tuple(names), (0,) * len(names))
    if len(op.args) == 1 or op.args[1] is None:
        return path
    default = op.node(1)
    rest = default.args if isinstance(default, Call) and default.name == "coalesce" else (default,)
    return Call(0, 0, "coalesce", (path, *rest))


def _compare(op: _Operation) -> Node:
    operator = op.operator.replace("===", "==").replace("!==", "!=")
    if operator in ("<", "<=") and len(op.args) == 3:
        low, middle, high = op.nodes(3)
        return _binary("and", _binary(operator, low, middle), _binary(operator, middle, high))
    return _binary(operator, *op.nodes(2, 2))


def _logic(op: _Operation) -> Node:
    """Between (`{"<": [a, b, c]}`) inside an `and` joins its chain, as it was exported."""
    operands: list[Node] = []
    for rule, node in zip(op.args, op.nodes(1), strict=True):
        if isinstance(node, Binary) and node.operator == op.operator == "and" and _is_between(rule):
            operands += [node.left, node.right]
        else:
            operands.append(node)
    return _fold(op.operator, operands)


def _not(op: _Operation) -> Node:
    (operand,) = op.nodes(1, 1)
    if isinstance(operand, Binary) and operand.operator == "in":
        return _binary("not in", operand.left, operand.right)
    return Unary(0, 0, "not", operand)


def _truthy(op: _Operation) -> Node:
    """`!!c` is `c` when c is always true or false; of another value it is JavaScript's own."""
    (operand,) = op.nodes(1, 1)
    boolean = isinstance(operand, Literal) and isinstance(operand.value, bool)
    if boolean or _precedence(operand) <= PRECEDENCE["=="]:
        return operand
    op.fail(
        '"!!" tests JavaScript truthiness (0, "" and false count as false), which Anju cannot '
        f'tell without the field\'s type; write {{"!=": [{json.dumps(op.args[0])}, null]}} '
        "or compare with a value"
    )


def _in(op: _Operation) -> Node:
    if len(op.args) == 2 and isinstance(op.args[1], list):
        at, depth = op.at(1), op.depth + 2
        items = tuple(_import(value, f"{at}[{j}]", depth) for j, value in enumerate(op.args[1]))
        return _binary("in", op.node(0), ListOf(0, 0, items))
    item, text = op.nodes(2, 2)
    return Call(0, 0, "contains", (text, item))


def _arithmetic(op: _Operation) -> Node:
    if op.operator == "-" and len(op.args) == 1:
        return Unary(0, 0, "-", op.node(0))
    many = op.operator in ("+", "*")
    if many and len(op.args) == 1:
        op.fail(f'"{op.operator}" with one argument turns text into a number; Anju needs none')
    return _fold(op.operator, op.nodes(2, None if many else 2))


def _if(op: _Operation) -> Node:
    nodes = op.nodes(2)
    result = nodes.pop() if len(nodes) % 2 else Literal(0, 0, None)
    while nodes:
        then, condition = nodes.pop(), nodes.pop()
        result = Call(0, 0, "if", (condition, then, result))
    return result


def _function(op: _Operation) -> Node:
    name = "concat" if op.operator == "cat" else op.operator
    return Call(0, 0, name, tuple(op.nodes(1 if name == "concat" else 2)))


def _substr(op: _Operation) -> Node:
    text, *_ = op.nodes(2, 3)
    start, *length = op.args[1:]
    if not all(type(number) is int and number >= 0 for number in (start, *length)):
        op.fail(
            '"substr" needs its start and length written as whole numbers ≥ 0; Anju counts '
            "from 1 and cannot count from the end"
        )
    numbers = (Literal(0, 0, start + 1), *(Literal(0, 0, n) for n in length))
    return Call(0, 0, "substr", (text, *numbers))


def _refused(op: _Operation) -> Node:
    op.fail(f'unsupported operator "{op.operator}": it {REFUSED[op.operator]}')


def _unknown(op: _Operation) -> Node:
    known = [name for name in IMPORTERS if name not in REFUSED]
    close = (
        [MISTYPED[op.operator]]
        if op.operator in MISTYPED
        else get_close_matches(op.operator, known, n=1)
    )
    hint = f'; did you mean "{close[0]}"?' if close else ""
    op.fail(f'unknown operator "{op.operator}"{hint}')


IMPORTERS: dict[str, Callable[[_Operation], Node]] = {
    "var": _var,
    **dict.fromkeys(("==", "===", "!=", "!==", "<", "<=", ">", ">="), _compare),
    **dict.fromkeys(("and", "or"), _logic),
    **{"!": _not, "!!": _truthy, "in": _in, "substr": _substr},
    **dict.fromkeys(("+", "-", "*", "/", "%"), _arithmetic),
    **dict.fromkeys(("if", "?:"), _if),
    **dict.fromkeys(("min", "max", "cat"), _function),
    **dict.fromkeys(REFUSED, _refused),
}


def _is_between(rule: Any) -> bool:
    return isinstance(rule, dict) and set(rule) <= {"<", "<="}


def _binary(operator: str, left: Node, right: Node) -> Binary:
    return Binary(0, 0, operator, left, right)


def _fold(operator: str, operands: list[Node]) -> Node:
    result = operands[0]
    for operand in operands[1:]:
        result = _binary(operator, result, operand)
    return result


# printing


def to_source(node: Node) -> str:
    """Expression text for a tree, with parentheses only where the grammar needs them.

    >>> to_source(parse("(a + b) * c and not (x or y)"))
    '(a + b) * c and not (x or y)'
    """
    match node:
        case Literal():
            return _literal_source(node.value)
        case ListOf():
            return "[" + ", ".join(to_source(item) for item in node.items) + "]"
        case Path():
            return ".".join(node.names)
        case Unary(operator="not"):
            return "not " + _operand(node.operand, PRECEDENCE["not"])
        case Unary():
            return "-" + _operand(node.operand, PRECEDENCE["negate"])
        case Binary():
            level = PRECEDENCE[node.operator]
            chains = level != PRECEDENCE["=="]  # comparisons do not chain: (a == b) == c
            left = _operand(node.left, level if chains else level + 1)
            return f"{left} {node.operator} {_operand(node.right, level + 1)}"
        case Call():
            where = f" where {to_source(node.where)}" if node.where is not None else ""
            return f"{node.name}({', '.join(to_source(arg) for arg in node.args)}{where})"
    raise AssertionError(f"unknown node {node!r}")


def _precedence(node: Node) -> int:
    if isinstance(node, Binary):
        return PRECEDENCE[node.operator]
    if isinstance(node, Unary):
        return PRECEDENCE["not" if node.operator == "not" else "negate"]
    return PRECEDENCE["atom"]


def _operand(node: Node, at_least: int) -> str:
    text = to_source(node)
    return text if _precedence(node) >= at_least else f"({text})"


def _literal_source(value: Any) -> str:
    match value:
        case None | bool():
            return json.dumps(value)
        case Decimal():
            text = format(value, "f")
            return text if "." in text else f"{text}.0"
        case str():
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t") + '"'
        case date():
            return f"@{value.isoformat()}"
    return str(value)
