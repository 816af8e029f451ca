"""Property: for any well-typed expression over a unit's fields and any units (nulls
included), the SQL back-end gives what the closures give, as a value and as a condition.

Generated decimals have at most 2 places and stay below 1e6, and multiplication is by small
whole numbers only, so that SQLite's doubles hold every intermediate result exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.expressions.support import UnitDatabase, compile_unit, typed, unit_database

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)
DEPTH = 3
ALPHABET = "aAbBzZ -1é北ßİ"
Strategy = st.SearchStrategy[str]


def text(max_size: int = 5) -> st.SearchStrategy[str]:
    return st.text(ALPHABET, max_size=max_size)


def decimals(limit: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(-Decimal(limit), Decimal(limit), places=2, allow_nan=False)


ROW = st.fixed_dictionaries(
    {
        "code": st.none() | text(),
        "rent": st.none() | decimals("999999.99"),
        "area": st.none() | decimals("999999.99"),
        "floor": st.none() | st.integers(-1000, 1000),
        "status": st.sampled_from(["vacant", "let", None]),
        "let_on": st.none() | st.dates(date(2000, 1, 1), date(2030, 12, 31)),
        "notes": st.none() | text(),
        "active": st.none() | st.booleans(),
    }
)
ROWS = st.lists(ROW, min_size=1, max_size=4, unique_by=lambda row: row["code"])


def number(value: int | Decimal) -> str:
    return f"({value})" if value < 0 else str(value)


SMALL = st.integers(-5, 5).map(number)
INT_LITERAL = st.integers(-30, 30).map(number)
DECIMAL_LITERAL = decimals("999.99").map(number)
TEXT_LITERAL = text(3).map(lambda value: f"'{value}'")
DATE_LITERAL = st.dates(date(1999, 1, 1), date(2031, 12, 31)).map(lambda d: f"@{d}")


def call(name: str, *args: Strategy) -> Strategy:
    return st.tuples(*args).map(lambda values: f"{name}({', '.join(values)})")


def infix(operator: str, left: Strategy, right: Strategy) -> Strategy:
    return st.tuples(left, right).map(lambda sides: f"({sides[0]} {operator} {sides[1]})")


@cache
def expressions(kind: str, depth: int) -> Strategy:
    """Sources of well-typed expressions of `kind`, nested at most `depth` deep."""
    leaves = LEAVES[kind]
    if depth == 0:
        return leaves
    return st.one_of(leaves, *COMPOSITES[kind](depth - 1))


def e(kind: str, depth: int) -> Strategy:
    return expressions(kind, depth)


def numeric(depth: int) -> Strategy:
    return e("integer", depth) | e("decimal", depth)


def choice(depth: int) -> Callable[[str], list[Strategy]]:
    """if, coalesce, min and max over two values of one kind."""

    def over(kind: str) -> list[Strategy]:
        value = e(kind, depth)
        return [
            call("if", e("boolean", depth), value, value),
            call("coalesce", value, value),
            call("min", value, value),
            call("max", value, value),
        ]

    return over


LEAVES: dict[str, Strategy] = {
    "integer": st.just("floor") | INT_LITERAL,
    "decimal": st.sampled_from(["rent", "area"]) | DECIMAL_LITERAL,
    "string": st.sampled_from(["code", "notes"]) | TEXT_LITERAL,
    "date": st.sampled_from(["let_on", "today"]) | DATE_LITERAL,
    "boolean": st.sampled_from(
        ["active", "true", "false", "status == 'let'", "status in ['vacant', null]"]
    ),
}
COMPOSITES: dict[str, Callable[[int], list[Strategy]]] = {
    "integer": lambda d: [
        infix("+", e("integer", d), e("integer", d)),
        infix("-", e("integer", d), e("integer", d)),
        infix("*", LEAVES["integer"], SMALL),
        infix("%", e("integer", d), e("integer", d)),
        e("integer", d).map(lambda value: f"-{value}"),
        call("abs", e("integer", d)),
        call("len", e("string", d)),
        call("year", e("date", d)),
        call("month", e("date", d)),
        call("days_between", e("date", d), e("date", d)),
        call("round", e("decimal", d)),
        *choice(d)("integer"),
    ],
    "decimal": lambda d: [
        infix("+", e("decimal", d), numeric(d)),
        infix("-", numeric(d), e("decimal", d)),
        infix("*", LEAVES["decimal"], SMALL),
        e("decimal", d).map(lambda value: f"-{value}"),
        call("abs", e("decimal", d)),
        call("round", e("decimal", d), st.just("1")),
        call("round", infix("/", numeric(d), e("integer", d)), st.just("2")),
        call("if", e("boolean", d), e("decimal", d), e("integer", d)),
        call("coalesce", e("decimal", d), e("integer", d)),
        *choice(d)("decimal"),
    ],
    "string": lambda d: [
        call("upper", e("string", d)),
        call("lower", e("string", d)),
        call("concat", e("string", d), e("string", d)),
        call("concat", e("string", d), e("integer", d)),
        call("substr", e("string", d), e("integer", d)),
        call("substr", e("string", d), e("integer", d), e("integer", d)),
        *choice(d)("string"),
    ],
    "date": lambda d: [
        call("add_days", e("date", d), e("integer", d)),
        call("add_months", e("date", d), e("integer", d)),
        *choice(d)("date"),
    ],
    "boolean": lambda d: [
        *(infix(op, numeric(d), numeric(d)) for op in ("==", "!=", "<", "<=", ">", ">=")),
        *(infix(op, e("string", d), e("string", d)) for op in ("==", "!=", "<", ">=")),
        *(infix(op, e("date", d), e("date", d)) for op in ("==", "<", ">=")),
        st.tuples(numeric(d), st.sampled_from(["==", "!="])).map(
            lambda parts: f"{parts[0]} {parts[1]} null"
        ),
        in_list("integer", d),
        in_list("string", d),
        in_list("date", d),
        infix("and", e("boolean", d), e("boolean", d)),
        infix("or", e("boolean", d), e("boolean", d)),
        e("boolean", d).map(lambda value: f"not {value}"),
        call("contains", e("string", d), e("string", d)),
        call("startswith", e("string", d), e("string", d)),
        call("if", e("boolean", d), e("boolean", d), e("boolean", d)),
        call("coalesce", e("boolean", d), e("boolean", d)),
    ],
}


def in_list(kind: str, depth: int) -> Strategy:
    items = st.lists(LEAVES[kind] | st.just("null"), max_size=3)
    return st.tuples(e(kind, depth), st.sampled_from(["in", "not in"]), items).map(
        lambda parts: f"{parts[0]} {parts[1]} [{', '.join(parts[2])}]"
    )


SOURCES = st.one_of(
    *(expressions(kind, DEPTH) for kind in ("integer", "decimal", "string", "date", "boolean")),
    infix("/", numeric(DEPTH - 1), expressions("integer", DEPTH - 1)),
)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnitDatabase]:
    with unit_database(tmp_path_factory.mktemp("property")) as db:
        yield db


@PROPERTY_SETTINGS
@given(source=SOURCES, rows=ROWS)
def test_sql_agrees_with_closures(
    database: UnitDatabase, source: str, rows: list[dict[str, Any]]
) -> None:
    expression = compile_unit(source)
    database.clear()
    database.insert("unit", [{k: v for k, v in row.items() if v is not None} for row in rows])

    assert typed(database.sql_values(expression)) == typed(database.closure_values(expression))
    if expression.type.kind == "boolean":
        assert database.sql_tests(expression) == database.closure_tests(expression)
