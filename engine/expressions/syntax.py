"""Parsing: source text → a small tree of frozen nodes, each knowing where it was written.

The grammar lives in `grammar.lark`; this module turns lark's parse tree into nodes with one
transformer method per grammar alternative, and lark's errors into messages with a caret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from engine.expressions.errors import ExpressionError

MAX_SOURCE = 4000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_LIST = 1000
LITERALS = frozenset({"integer", "decimal", "string", "temporal", "true", "false", "null"})


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any  # int | Decimal | str | bool | date | datetime | None


@dataclass(frozen=True)
class ListOf(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Path(Node):
    """`status`, `household.size`, `user.org_id`: names joined by dots."""

    names: tuple[str, ...]
    offsets: tuple[int, ...]  # where each name starts, for errors on a later step


@dataclass(frozen=True)
class Unary(Node):
    operator: str  # "not" | "-"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    operator: str  # and or == != < <= > >= in "not in" + - * / %
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    """`name(args)`, or an aggregate `count(bills where paid == false)`."""

    name: str
    args: tuple[Node, ...]
    where: Node | None = None
    name_end: int = 0


def _at(token: Token) -> tuple[int, int]:
    return token.start_pos or 0, token.end_pos or 0


@v_args(inline=True)
class _ToNodes(Transformer[Token, Node]):
    """One method per alternative of `grammar.lark`."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def _binary(self, operator: str, left: Node, right: Node) -> Binary:
        return Binary(left.start, right.end, operator, left, right)

    def or_(self, left: Node, right: Node) -> Binary:
        return self._binary("or", left, right)

    def and_(self, left: Node, right: Node) -> Binary:
        return self._binary("and", left, right)

    def eq(self, left: Node, right: Node) -> Binary:
        return self._binary("==", left, right)

    def ne(self, left: Node, right: Node) -> Binary:
        return self._binary("!=", left, right)

    def lt(self, left: Node, right: Node) -> Binary:
        return self._binary("<", left, right)

    def le(self, left: Node, right: Node) -> Binary:
        return self._binary("<=", left, right)

    def gt(self, left: Node, right: Node) -> Binary:
        return self._binary(">", left, right)

    def ge(self, left: Node, right: Node) -> Binary:
        return self._binary(">=", left, right)

    def in_(self, left: Node, right: Node) -> Binary:
        return self._binary("in", left, right)

    def not_in(self, left: Node, right: Node) -> Binary:
        return self._binary("not in", left, right)

    def add(self, left: Node, right: Node) -> Binary:
        return self._binary("+", left, right)

    def subtract(self, left: Node, right: Node) -> Binary:
        return self._binary("-", left, right)

    def multiply(self, left: Node, right: Node) -> Binary:
        return self._binary("*", left, right)

    def divide(self, left: Node, right: Node) -> Binary:
        return self._binary("/", left, right)

    def modulo(self, left: Node, right: Node) -> Binary:
        return self._binary("%", left, right)

    @v_args(meta=True, inline=True)
    def not_(self, meta: Any, operand: Node) -> Unary:
        return Unary(meta.start_pos, operand.end, "not", operand)

    @v_args(meta=True, inline=True)
    def negate(self, meta: Any, operand: Node) -> Unary:
        return Unary(meta.start_pos, operand.end, "-", operand)

    @v_args(meta=True)
    def list_(self, meta: Any, items: list[Node | None]) -> ListOf:
        present = tuple(item for item in items if item is not None)
        if len(present) > MAX_LIST:
            raise ExpressionError(
                f"a list may hold at most {MAX_LIST} items",
                self.source,
                meta.start_pos,
                meta.end_pos,
            )
        return ListOf(meta.start_pos, meta.end_pos, present)

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> Call:
        name, *rest = children
        args: list[Node] = []
        where: Node | None = None
        seen_where = False
        for child in rest:
            if isinstance(child, Token) and child.type == "WHERE":
                seen_where = True
            elif child is not None and seen_where:
                where = child
            elif child is not None:
                args.append(child)
        return Call(meta.start_pos, meta.end_pos, str(name), tuple(args), where, _at(name)[1])

    def path(self, *names: Token) -> Path:
        start, end = _at(names[0])[0], _at(names[-1])[1]
        return Path(start, end, tuple(str(n) for n in names), tuple(_at(n)[0] for n in names))

    def integer(self, token: Token) -> Literal:
        return Literal(*_at(token), int(token))

    def decimal(self, token: Token) -> Literal:
        return Literal(*_at(token), Decimal(str(token)))

    def string(self, token: Token) -> Literal:
        return Literal(*_at(token), _unquote(str(token)))

    def temporal(self, token: Token) -> Literal:
        text = str(token)[1:]
        try:
            value: date | datetime = (
                date.fromisoformat(text) if len(text) == 10 else _datetime(text)
            )
        except ValueError:
            raise ExpressionError(
                f"{token!s} is not a date (@2026-03-01) or a datetime (@2026-03-01T09:30:00+08:00)",
                self.source,
                *_at(token),
            ) from None
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ExpressionError(
                f"{token!s} needs its offset from UTC, such as @{text}+08:00 or @{text}Z",
                self.source,
                *_at(token),
            )
        return Literal(*_at(token), value)

    @v_args(meta=True, inline=True)
    def true(self, meta: Any) -> Literal:
        return Literal(meta.start_pos, meta.end_pos, True)

    @v_args(meta=True, inline=True)
    def false(self, meta: Any) -> Literal:
        return Literal(meta.start_pos, meta.end_pos, False)

    @v_args(meta=True, inline=True)
    def null(self, meta: Any) -> Literal:
        return Literal(meta.start_pos, meta.end_pos, None)


def _datetime(text: str) -> datetime:
    if "T" not in text:
        raise ValueError(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(token: str) -> str:
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (FilePath(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


@lru_cache(maxsize=4096)
def parse(source: str) -> Node:
    """Parse one expression; an `ExpressionError` says what was expected and where.

    >>> parse("size >= 3")
    Binary(start=0, end=9, operator='>=', left=Path(...), right=Literal(...))
    """
    if not source.strip():
        raise ExpressionError("the expression is empty", source, 0)
    if len(source) > MAX_SOURCE:
        raise ExpressionError(
            f"an expression may be at most {MAX_SOURCE} characters long", source, MAX_SOURCE
        )
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    _check_size(tree, source)
    try:
        return _ToNodes(source).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ExpressionError):
            raise exc.orig_exc from None
        raise


def _check_size(root: Tree[Token], source: str) -> None:
    """Evaluation cost is bounded by the size of the tree, so the tree is bounded.

    Checked on lark's tree, one subtree per node, before the (recursive) transformer runs,
    so that `- - - … 1` nested thousands deep is an error and not a RecursionError.
    """
    count = 0
    stack = [(root, 1, False)]
    while stack:
        tree, depth, listed = stack.pop()
        # a value written in a list is one set lookup, not a step; lists have their own limit
        count += 0 if listed and tree.data in LITERALS else 1
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"the expression nests deeper than {MAX_DEPTH} levels",
                source,
                tree.meta.start_pos,
                tree.meta.end_pos,
            )
        stack.extend(
            # `a and b and c …` is a flat chain to a reader: its length does not nest
            (child, depth if child.data == tree.data in CHAINS else depth + 1, tree.data == "list_")
            for child in tree.children
            if isinstance(child, Tree)
        )
    if count > MAX_NODES:
        raise ExpressionError(
            f"the expression has more than {MAX_NODES} parts; split it", source, 0, len(source)
        )


CHAINS = frozenset({"and_", "or_", "add", "multiply"})
COMPARISONS = frozenset({"_EQ", "_NE", "_LE", "_GE", "_LT", "_GT"})
OPERANDS = frozenset({"NAME", "INTEGER", "DECIMAL", "STRING", "TEMPORAL"})
HINTS = {
    "=": "; compare with '=='",
    "&": "; use 'and'",
    "|": "; use 'or'",
    "!": "; use 'not'",
    "@": "; write dates as @2026-03-01",
    **dict.fromkeys("“”‘’", '; write text in straight quotes, "like this"'),
}


def _syntax_error(exc: UnexpectedInput, source: str) -> ExpressionError:
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        message = "the expression ends too early; something is missing at the end"
        return ExpressionError(message, source, len(source.rstrip()))
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        return ExpressionError(_character_message(source, position), source, position)
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    # LALR merges look-aheads; asking the parser what it accepts here is exact.
    expected = (
        set(exc.interactive_parser.accepts()) if exc.interactive_parser else set(exc.expected)
    )
    start, end = _at(token)
    if str(token) == ">" and source[:start].endswith("<"):
        return ExpressionError(
            "'<>' is not an operator; write 'not equal' as '!='", source, start - 1, end
        )
    message = f"unexpected {str(token)!r}; expected {_expected(expected)}"
    if token.type in COMPARISONS and not expected & (COMPARISONS | OPERANDS):
        message += " (comparisons do not chain: write 'a < b and b < c')"
    return ExpressionError(message, source, start, end)


def _character_message(source: str, position: int) -> str:
    char, following = source[position], source[position + 1 : position + 2]
    if char in "\"'":
        return f"the text starting here is never closed; end it with {char}"
    if char == "=" and following in ("<", ">"):
        return f"unexpected '={following}'; write '{following}='"
    if "\uff01" <= char <= "\uff5e":  # full-width forms of ASCII, typed with a Chinese IME
        return f"unexpected full-width {char!r}; type {chr(ord(char) - 0xFEE0)!r} instead"
    if char.isalpha():
        return (
            f'unexpected {char!r}: names are written with a-z, 0-9 and _; quote text, "like this"'
        )
    return f"unexpected character {char!r}{HINTS.get(char, '')}"


def _expected(terminals: set[str]) -> str:
    if terminals == {"NAME"}:
        return "a field name after '.'"
    if terminals & OPERANDS:
        return "a value, a field or a function"
    operators = terminals & ({"AND", "OR", "PLUS", "STAR"} | COMPARISONS)
    words = ["an operator"] if operators else ["'in'"] if "IN" in terminals else []
    for terminal, word in (
        ("COMMA", "','"),
        ("WHERE", "'where'"),
        ("RPAR", "')'"),
        ("RSQB", "']'"),
        ("$END", "the end"),
    ):
        if terminal in terminals:
            words.append(word)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)
