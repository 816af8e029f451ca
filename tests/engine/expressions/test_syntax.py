"""Parsing: the shape of the tree for each construct, and what each syntax error says and where."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from engine.expressions.errors import ExpressionError
from engine.expressions.syntax import (
    MAX_DEPTH,
    MAX_LIST,
    MAX_NODES,
    MAX_SOURCE,
    Binary,
    Call,
    ListOf,
    Literal,
    Node,
    Path,
    Unary,
    parse,
)

CHINA = timezone(timedelta(hours=8))


def shape(node: Node) -> Any:
    """A tree written compactly: a path is its dotted name, text is ("text", value), an
    operator is (operator, operands…), a call is ("name()", args…, ("where", condition))."""
    match node:
        case Literal(value=str() as text):
            return ("text", text)
        case Literal():
            return node.value
        case Path():
            return ".".join(node.names)
        case ListOf():
            return [shape(item) for item in node.items]
        case Unary():
            return (node.operator, shape(node.operand))
        case Binary():
            return (node.operator, shape(node.left), shape(node.right))
        case Call():
            where = () if node.where is None else (("where", shape(node.where)),)
            return (f"{node.name}()", *(shape(arg) for arg in node.args), *where)
    raise AssertionError(node)


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        # precedence: or < and < not < comparison < + - < * / % < unary minus
        ("a or b and c", ("or", "a", ("and", "b", "c"))),
        ("a and b or c", ("or", ("and", "a", "b"), "c")),
        ("not a and b", ("and", ("not", "a"), "b")),
        ("not a == b", ("not", ("==", "a", "b"))),
        ("not not a", ("not", ("not", "a"))),
        ("a + b * c", ("+", "a", ("*", "b", "c"))),
        ("(a + b) * c", ("*", ("+", "a", "b"), "c")),
        ("a - b - c", ("-", ("-", "a", "b"), "c")),
        ("a / b % c", ("%", ("/", "a", "b"), "c")),
        ("-a * b", ("*", ("-", "a"), "b")),
        ("- -a", ("-", ("-", "a"))),
        ("a + 1 >= b * 2", (">=", ("+", "a", 1), ("*", "b", 2))),
        ("a == b and c != d", ("and", ("==", "a", "b"), ("!=", "c", "d"))),
        (
            "a < b or a <= b or a > b or a >= b",
            (
                "or",
                ("or", ("or", ("<", "a", "b"), ("<=", "a", "b")), (">", "a", "b")),
                (">=", "a", "b"),
            ),
        ),
        # in and not in
        ("status in ['a', 'b']", ("in", "status", [("text", "a"), ("text", "b")])),
        ("status not in []", ("not in", "status", [])),
        ("not status in [1]", ("not", ("in", "status", [1]))),
        ("a + 1 in [b, 2]", ("in", ("+", "a", 1), ["b", 2])),
        ("x in [1, 2] and y not in [3]", ("and", ("in", "x", [1, 2]), ("not in", "y", [3]))),
        ("'manager' in user.roles", ("in", ("text", "manager"), "user.roles")),
        # paths and calls
        ("household.size", "household.size"),
        ("unit.building.name", "unit.building.name"),
        ("now()", ("now()",)),
        ("round(rent, 2)", ("round()", "rent", 2)),
        ("max(a, b + 1, c)", ("max()", "a", ("+", "b", 1), "c")),
        ("upper(lower(code))", ("upper()", ("lower()", "code"))),
        # aggregates with where
        ("count(bills)", ("count()", "bills")),
        (
            "count(bills where paid == false)",
            (
                "count()",
                "bills",
                ("where", ("==", "paid", False)),
            ),
        ),
        (
            "sum(bills.amount where due < today and not paid)",
            (
                "sum()",
                "bills.amount",
                ("where", ("and", ("<", "due", "today"), ("not", "paid"))),
            ),
        ),
        (
            "exists(bills where kind in ['rent'])",
            (
                "exists()",
                "bills",
                ("where", ("in", "kind", [("text", "rent")])),
            ),
        ),
        # literals
        ("0", 0),
        ("1234567890123", 1234567890123),
        ("2.50", Decimal("2.50")),
        ("0.001", Decimal("0.001")),
        ("-1.5", ("-", Decimal("1.5"))),
        ("true", True),
        ("false", False),
        ("null", None),
        ('"abc"', ("text", "abc")),
        ("'abc'", ("text", "abc")),
        ("''", ("text", "")),
        ('"房屋 A"', ("text", "房屋 A")),
        (r'"say \"hi\""', ("text", 'say "hi"')),
        (r"'it\'s'", ("text", "it's")),
        (r"'a\\b'", ("text", "a\\b")),
        (r"'tab\tand\nline'", ("text", "tab\tand\nline")),
        (r"'\q'", ("text", "q")),
        ('"it\'s"', ("text", "it's")),
        ("@2026-03-01", date(2026, 3, 1)),
        ("@2024-02-29", date(2024, 2, 29)),
        ("@2026-03-01T09:30:00+08:00", datetime(2026, 3, 1, 9, 30, tzinfo=CHINA)),
        ("@2026-03-01T01:30:00Z", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        ("@2026-03-01T09:30+08:00", datetime(2026, 3, 1, 9, 30, tzinfo=CHINA)),
        (
            "@2026-03-01T09:30:00.250-05:00",
            datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=-5))),
        ),
        # names that begin with a keyword are names; case matters for keywords
        ("android or order", ("or", "android", "order")),
        ("notes != null_value", ("!=", "notes", "null_value")),
        ("True", "True"),
        # white space and lines
        ("  a\n  and\tb  ", ("and", "a", "b")),
    ],
)
def test_source_parses_to_tree(source: str, tree: Any) -> None:
    assert shape(parse(source)) == tree


def test_values_written_in_a_list_count_against_the_list_limit_not_the_size_limit() -> None:
    node = parse("x in [" + ", ".join(["1"] * MAX_LIST) + "]")

    assert isinstance(node, Binary) and isinstance(node.right, ListOf)
    assert len(node.right.items) == MAX_LIST


def test_a_long_flat_chain_of_conditions_is_not_deep_nesting() -> None:
    """Sixty conditions joined by `and` read as one list, so they do not hit the depth limit."""
    source = " and ".join(f"floor != {i}" for i in range(60))
    tree = parse(source)
    assert isinstance(tree, Binary) and tree.operator == "and"
    assert tree.end == len(source)


def test_nodes_know_where_they_were_written() -> None:
    assert parse("building.name >= 'B'") == Binary(
        0,
        20,
        ">=",
        Path(0, 13, ("building", "name"), (0, 9)),
        Literal(17, 20, "B"),
    )
    assert parse("round(rent, 2)") == Call(
        0, 14, "round", (Path(6, 10, ("rent",), (6,)), Literal(12, 13, 2)), None, 5
    )
    call = parse("count(bills where paid)")
    assert isinstance(call, Call)
    assert (call.where, call.name_end) == (Path(18, 22, ("paid",), (18,)), 5)
    assert parse("not a") == Unary(0, 5, "not", Path(4, 5, ("a",), (4,)))
    assert parse("[1]") == ListOf(0, 3, (Literal(1, 2, 1),))


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("", "the expression is empty", 1),
        ("   ", "the expression is empty", 1),
        ("rent >", "the expression ends too early; something is missing at the end", 7),
        ("rent > 3 and  ", "the expression ends too early; something is missing at the end", 13),
        ("round(rent, 2", "the expression ends too early; something is missing at the end", 14),
        ("status in ['a'", "the expression ends too early; something is missing at the end", 15),
        ("building.", "the expression ends too early; something is missing at the end", 10),
        ("rent = 3", "unexpected character '='; compare with '=='", 6),
        ("x === 1", "unexpected character '='; compare with '=='", 5),
        ("x => 1", "unexpected '=>'; write '>='", 3),
        ("x =< 1", "unexpected '=<'; write '<='", 3),
        ("rent <> 3", "'<>' is not an operator; write 'not equal' as '!='", 6),
        ("a && b", "unexpected character '&'; use 'and'", 3),
        ("a || b", "unexpected character '|'; use 'or'", 3),
        ("!a", "unexpected character '!'; use 'not'", 1),
        (
            "a < b < c",
            (
                "unexpected '<'; expected an operator or the end "
                "(comparisons do not chain: write 'a < b and b < c')"
            ),
            7,
        ),
        (
            "a == b == c",
            (
                "unexpected '=='; expected an operator or the end "
                "(comparisons do not chain: write 'a < b and b < c')"
            ),
            8,
        ),
        ("a in b in c", "unexpected 'in'; expected an operator or the end", 8),
        ("a b", "unexpected 'b'; expected an operator or the end", 3),
        ("1 2", "unexpected '2'; expected an operator or the end", 3),
        ("true false", "unexpected 'false'; expected an operator or the end", 6),
        ("a not b", "unexpected 'b'; expected 'in'", 7),
        ("a where b", "unexpected 'where'; expected the end", 3),
        ("floor +* 2", "unexpected '*'; expected a value, a field or a function", 8),
        ("== 3", "unexpected '=='; expected a value, a field or a function", 1),
        ("()", "unexpected ')'; expected a value, a field or a function", 2),
        ("f(,)", "unexpected ','; expected a value, a field or a function", 3),
        ("f(1,)", "unexpected ')'; expected a value, a field or a function", 5),
        ("f(1 2)", "unexpected '2'; expected an operator, ',', 'where' or ')'", 5),
        ("[1 2]", "unexpected '2'; expected an operator, ',' or ']'", 4),
        ("x in [1,]", "unexpected ']'; expected a value, a field or a function", 9),
        ("count(bills where)", "unexpected ')'; expected a value, a field or a function", 18),
        ("x..y", "unexpected '.'; expected a field name after '.'", 3),
        ("building.1", "unexpected '1'; expected a field name after '.'", 10),
        ("1.", "unexpected '.'; expected an operator or the end", 2),
        (".5", "unexpected '.'; expected a value, a field or a function", 1),
        # keywords never name fields
        ("and", "unexpected 'and'; expected a value, a field or a function", 1),
        ("where == 1", "unexpected 'where'; expected a value, a field or a function", 1),
        ("x or in [1]", "unexpected 'in'; expected a value, a field or a function", 6),
        ("building.null", "unexpected 'null'; expected a field name after '.'", 10),
        # text
        ('"abc', 'the text starting here is never closed; end it with "', 1),
        ("notes == 'abc", "the text starting here is never closed; end it with '", 10),
        (r"'abc\'", "the text starting here is never closed; end it with '", 1),
        (
            "notes == “abc”",
            "unexpected character '“'; write text in straight quotes, \"like this\"",
            10,
        ),
        (
            "房屋 == 1",
            "unexpected '房': names are written with a-z, 0-9 and _; quote text, \"like this\"",
            1,
        ),
        ("f（1）", "unexpected full-width '（'; type '(' instead", 2),
        ("f(1，2)", "unexpected full-width '，'; type ',' instead", 4),
        ("$x", "unexpected character '$'", 1),
        # dates and datetimes
        ("@", "unexpected character '@'; write dates as @2026-03-01", 1),
        (
            "let_on > @2026-13-01",
            ("@2026-13-01 is not a date (@2026-03-01) or a datetime (@2026-03-01T09:30:00+08:00)"),
            10,
        ),
        (
            "@2026-02-30",
            ("@2026-02-30 is not a date (@2026-03-01) or a datetime (@2026-03-01T09:30:00+08:00)"),
            1,
        ),
        (
            "@2026-3-1",
            ("@2026-3-1 is not a date (@2026-03-01) or a datetime (@2026-03-01T09:30:00+08:00)"),
            1,
        ),
        (
            "@2026-03-01T25:00:00Z",
            (
                "@2026-03-01T25:00:00Z is not a date (@2026-03-01) "
                "or a datetime (@2026-03-01T09:30:00+08:00)"
            ),
            1,
        ),
        (
            "@2026-03-01T09:30:00",
            (
                "@2026-03-01T09:30:00 needs its offset from UTC, "
                "such as @2026-03-01T09:30:00+08:00 or @2026-03-01T09:30:00Z"
            ),
            1,
        ),
        # limits
        (
            "x" * (MAX_SOURCE + 1),
            f"an expression may be at most {MAX_SOURCE} characters long",
            MAX_SOURCE + 1,
        ),
        ("-" * 50 + "1", f"the expression nests deeper than {MAX_DEPTH} levels", MAX_DEPTH + 1),
        ("-" * 3000 + "1", f"the expression nests deeper than {MAX_DEPTH} levels", MAX_DEPTH + 1),
        (
            "not " * 900 + "x",
            f"the expression nests deeper than {MAX_DEPTH} levels",
            4 * MAX_DEPTH + 1,
        ),
        (
            "[" * 1500 + "]" * 1500,
            f"the expression nests deeper than {MAX_DEPTH} levels",
            MAX_DEPTH + 1,
        ),
        (
            "x in [" + ", ".join(["y"] * MAX_NODES) + "]",
            f"the expression has more than {MAX_NODES} parts; split it",
            1,
        ),
        (
            "x in [" + ", ".join(["1"] * (MAX_LIST + 1)) + "]",
            f"a list may hold at most {MAX_LIST} items",
            6,
        ),
    ],
)
def test_syntax_error_says_what_and_where(source: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)

    assert (caught.value.message, caught.value.column) == (message, column)


def test_syntax_error_shows_the_line_with_a_caret() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("rent > 3\n  and status = 'let'")

    error = caught.value
    assert (error.line, error.column) == (2, 14)
    assert str(error) == (
        "line 2 column 14: unexpected character '='; compare with '=='\n"
        "      and status = 'let'\n"
        "                 ^"
    )


def test_caret_underlines_the_whole_token() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("a in b in c")

    assert caught.value.excerpt == "    a in b in c\n           ^^"
