"""JsonLogic in and out: the mapping both ways, round trips, same results, and every refusal."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.expressions.errors import ExpressionError
from engine.expressions.jsonlogic import (
    JsonLogicInvalid,
    JsonLogicUnsupported,
    from_jsonlogic,
    to_jsonlogic,
    to_source,
)
from engine.expressions.syntax import Node, parse
from tests.engine.expressions.support import compile_unit, environment

POSITIONS = ("start", "end", "offsets", "name_end")
BUILDINGS = {1: {"name": "North"}, 2: {"name": "South"}}
RECORDS: list[dict[str, Any]] = [
    {
        "id": 1,
        "code": "A-101",
        "rent": Decimal("3200.00"),
        "area": Decimal("45.5"),
        "floor": 1,
        "status": "let",
        "building": 1,
        "let_on": date(2026, 3, 1),
        "notes": "leak in the bath",
        "active": True,
    },
    {
        "id": 2,
        "code": "B-7",
        "rent": None,
        "area": Decimal("80"),
        "floor": 12,
        "status": "vacant",
        "building": 2,
        "notes": None,
        "active": False,
    },
    {"id": 3, "code": "C-33", "rent": Decimal("0.00"), "floor": None, "notes": "", "active": None},
]


def var(name: Any) -> dict[str, Any]:
    return {"var": name}


FLOOR, RENT, ACTIVE, STATUS = var("floor"), var("rent"), var("active"), var("status")

# (expression source, JsonLogic rule): each is the other's translation.
BOTH_WAYS: list[tuple[str, Any]] = [
    (
        'floor >= 3 and status == "let"',
        {"and": [{">=": [FLOOR, 3]}, {"==": [STATUS, "let"]}]},
    ),
    ('building.name == "North"', {"==": [var("building.name"), "North"]}),
    ("coalesce(rent, 0) > 0", {">": [{"var": ["rent", 0]}, 0]}),
    ("coalesce(rent, area, 0) > 0", {">": [{"var": ["rent", {"var": ["area", 0]}]}, 0]}),
    ("rent != null", {"!=": [RENT, None]}),
    ("floor < 3", {"<": [FLOOR, 3]}),
    ("floor <= 3", {"<=": [FLOOR, 3]}),
    ("floor > -3", {">": [FLOOR, -3]}),
    ("floor >= 0", {">=": [FLOOR, 0]}),
    ("1 < floor and floor < 10", {"<": [1, FLOOR, 10]}),
    (
        "0 <= rent and rent <= 5000 and active == true",
        {"and": [{"<=": [0, RENT, 5000]}, {"==": [ACTIVE, True]}]},
    ),
    (
        "active or floor > 1 or rent > 0",
        {"or": [ACTIVE, {">": [FLOOR, 1]}, {">": [RENT, 0]}]},
    ),
    (
        "active and (floor > 1 or rent > 0)",
        {"and": [ACTIVE, {"or": [{">": [FLOOR, 1]}, {">": [RENT, 0]}]}]},
    ),
    (
        "(active or floor > 1) and rent > 0",
        {"and": [{"or": [ACTIVE, {">": [FLOOR, 1]}]}, {">": [RENT, 0]}]},
    ),
    (
        "active or (floor > 1 or rent > 0)",
        {"or": [ACTIVE, {"or": [{">": [FLOOR, 1]}, {">": [RENT, 0]}]}]},
    ),
    ("not active", {"!": [ACTIVE]}),
    ("not (active and floor > 1)", {"!": [{"and": [ACTIVE, {">": [FLOOR, 1]}]}]}),
    ("not not active", {"!": [{"!": [ACTIVE]}]}),
    ('status in ["vacant", "let"]', {"in": [STATUS, ["vacant", "let"]]}),
    ('status not in ["let"]', {"!": [{"in": [STATUS, ["let"]]}]}),
    ('contains(notes, "leak")', {"in": ["leak", var("notes")]}),
    ("floor + 1 + 2 > 3", {">": [{"+": [FLOOR, 1, 2]}, 3]}),
    ("floor - 1 - 2 == 0", {"==": [{"-": [{"-": [FLOOR, 1]}, 2]}, 0]}),
    ("floor - (1 - 2) == 0", {"==": [{"-": [FLOOR, {"-": [1, 2]}]}, 0]}),
    ("(floor + 1) * 2 == 4", {"==": [{"*": [{"+": [FLOOR, 1]}, 2]}, 4]}),
    ("floor * 2 / 3 > 1", {">": [{"/": [{"*": [FLOOR, 2]}, 3]}, 1]}),
    ("floor % 2 == 1", {"==": [{"%": [FLOOR, 2]}, 1]}),
    ("-floor > 0", {">": [{"-": [FLOOR]}, 0]}),
    ("-(floor + 1) > 0", {">": [{"-": [{"+": [FLOOR, 1]}]}, 0]}),
    ("rent * 1.5 > 39600.5", {">": [{"*": [RENT, 1.5]}, 39600.5]}),
    ("if(active, rent, 0) > 100", {">": [{"if": [ACTIVE, RENT, 0]}, 100]}),
    (
        'if(floor > 10, "high", if(floor > 3, "mid", "low")) == "mid"',
        {"==": [{"if": [{">": [FLOOR, 10]}, "high", {">": [FLOOR, 3]}, "mid", "low"]}, "mid"]},
    ),
    ("min(floor, 3) == max(floor, 1, 2)", {"==": [{"min": [FLOOR, 3]}, {"max": [FLOOR, 1, 2]}]}),
    ('concat(code, "/", floor) == "A-1/1"', {"==": [{"cat": [var("code"), "/", FLOOR]}, "A-1/1"]}),
    ('substr(code, 1, 2) == "A-"', {"==": [{"substr": [var("code"), 0, 2]}, "A-"]}),
    ('substr(code, 3) == "101"', {"==": [{"substr": [var("code"), 2]}, "101"]}),
    ('notes == "say \\"hi\\" \\\\ bye"', {"==": [var("notes"), 'say "hi" \\ bye']}),
    ('notes == "two\\nlines"', {"==": [var("notes"), "two\nlines"]}),
    ("(floor == 1) == false", {"==": [{"==": [FLOOR, 1]}, False]}),
]

# (JsonLogic rule, the expression it imports as); the export of that expression differs.
IMPORT_ONLY: list[tuple[Any, str]] = [
    ({"===": [FLOOR, 1]}, "floor == 1"),
    ({"!==": [FLOOR, 1]}, "floor != 1"),
    (var(["floor"]), "floor"),
    (var(["rent", None]), "rent"),
    ({"and": [{"==": [ACTIVE, True]}]}, "active == true"),
    ({"!": ACTIVE}, "not active"),
    ({"!!": [{">": [FLOOR, 1]}]}, "floor > 1"),
    ({"!!": True}, "true"),
    ({"and": [{"<": [1, FLOOR]}, {"<": [FLOOR, 5]}]}, "1 < floor and floor < 5"),
    ({"or": [{"<": [1, FLOOR, 5]}, ACTIVE]}, "1 < floor and floor < 5 or active"),
    ({"!": {"<": [1, FLOOR, 5]}}, "not (1 < floor and floor < 5)"),
    ({"if": [ACTIVE, "on"]}, 'if(active, "on", null)'),
    ({"?:": [ACTIVE, 1, 2]}, "if(active, 1, 2)"),
    ({"if": [ACTIVE, 1, {">": [FLOOR, 3]}, 2]}, "if(active, 1, if(floor > 3, 2, null))"),
    ({"in": ["A", "ABC"]}, 'contains("ABC", "A")'),
    ({"-": [5]}, "-5"),
    ({"var": ["rent", var("area")]}, "coalesce(rent, area)"),
    ({">": [RENT, 0.1]}, "rent > 0.1"),
    ({">": [RENT, 1e20]}, "rent > 100000000000000000000.0"),
    ({">": [RENT, 1e-7]}, "rent > 0.0000001"),
    ({">": [RENT, 3.0]}, "rent > 3.0"),
    ({">": [RENT, -2.5]}, "rent > -2.5"),
    (json.loads('{">": [{"var": "rent"}, 39600.5]}'), "rent > 39600.5"),
    ({">": [RENT, Decimal("0.100000000000000000001")]}, "rent > 0.100000000000000000001"),
]

# (expression source, JsonLogic rule) that come back as another, equivalent, expression.
EXPORT_ONLY: list[tuple[str, Any]] = [
    ('not (status in ["let"])', {"!": [{"in": [STATUS, ["let"]]}]}),
    ("coalesce(rent, coalesce(area, 1.5)) > 0", {">": [var(["rent", var(["area", 1.5])]), 0]}),
    ("rent > 1.50", {">": [RENT, 1.5]}),
]

ROUND_TRIPS = [source for source, _ in BOTH_WAYS] + [
    "floor > 0 and 1 <= floor and floor <= 5 and active",
    "1 < floor and floor < 5 and floor < 3",
    "1 < floor and floor <= 5",
    "active and (floor > 1 and rent > 0)",
    "--floor == 1",
    "rent * (1.5 + area) > 0",
    "if(1 <= floor and floor <= 5, 1, 2) == 1",
    "concat(substr(code, 2), floor) == code",
    "status == 'let'",
]


def shape(node: Any) -> Any:
    """A tree without source positions, so trees parsed from different texts compare."""
    if isinstance(node, Node):
        parts = (shape(getattr(node, f.name)) for f in fields(node) if f.name not in POSITIONS)
        return (type(node).__name__, *parts)
    if isinstance(node, tuple):
        return tuple(shape(item) for item in node)
    return node


def results(source: str) -> list[tuple[str, Any]]:
    """The expression's value on each record, with its Python type so 1 and True differ."""
    expression = compile_unit(source)
    env = environment(lookup=lambda _entity, record_id: BUILDINGS.get(record_id))
    values = [expression.evaluate(record, env) for record in RECORDS]
    return [(type(value).__name__, value) for value in values]


@pytest.mark.parametrize(("source", "rule"), BOTH_WAYS)
def test_export(source: str, rule: Any) -> None:
    exported = to_jsonlogic(source)

    assert exported == rule
    assert json.loads(json.dumps(exported)) == exported


@pytest.mark.parametrize(("source", "rule"), BOTH_WAYS)
def test_import(source: str, rule: Any) -> None:
    assert from_jsonlogic(rule) == source
    compile_unit(source)  # the imported text type-checks against `unit`


@pytest.mark.parametrize(("rule", "source"), IMPORT_ONLY)
def test_import_of_other_spellings(rule: Any, source: str) -> None:
    imported = from_jsonlogic(rule)

    assert imported == source
    compile_unit(imported)


@pytest.mark.parametrize(("source", "rule"), EXPORT_ONLY)
def test_export_of_equivalent_forms(source: str, rule: Any) -> None:
    assert to_jsonlogic(source) == rule
    assert results(from_jsonlogic(rule)) == results(source)


@pytest.mark.parametrize("source", ROUND_TRIPS)
def test_round_trip_gives_the_same_tree(source: str) -> None:
    back = from_jsonlogic(to_jsonlogic(source))

    assert shape(parse(back)) == shape(parse(source))
    assert results(back) == results(source)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"and": [{">=": [FLOOR, 3]}, {"==": [STATUS, "vacant"]}]}, [False, True, False]),
        ({"in": [STATUS, ["vacant", "let"]]}, [True, True, False]),
        ({"in": ["leak", var("notes")]}, [True, False, False]),
        ({"<=": [1, FLOOR, 5]}, [True, False, False]),
        ({"!": ACTIVE}, [False, True, True]),
        ({"if": [{">": [FLOOR, 10]}, "high", "low"]}, ["low", "high", "low"]),
        ({"cat": [var("code"), "/", FLOOR]}, ["A-101/1", "B-7/12", "C-33/"]),
        ({"substr": [var("code"), 0, 1]}, ["A", "B", "C"]),
        ({"-": [{"*": [var("id"), 10]}, 1]}, [9, 19, 29]),
        ({"%": [var("id"), 2]}, [1, 0, 1]),
    ],
)
def test_imported_rule_gives_what_jsonlogic_gives(rule: Any, expected: list[Any]) -> None:
    """Expected values are those of json-logic-js on the same records."""
    expression = compile_unit(from_jsonlogic(rule))
    env = environment()

    run = expression.test if all(isinstance(e, bool) for e in expected) else expression.evaluate

    assert [run(record, env) for record in RECORDS] == expected


def test_a_date_exports_as_text_and_imports_as_text() -> None:
    assert to_jsonlogic("let_on == @2026-03-01") == {"==": [var("let_on"), "2026-03-01"]}
    assert to_jsonlogic("checked_at < @2026-03-01T09:00:00+08:00") == {
        "<": [var("checked_at"), "2026-03-01T09:00:00+08:00"]
    }

    imported = from_jsonlogic({"==": [var("let_on"), "2026-03-01"]})

    assert imported == 'let_on == "2026-03-01"'
    with pytest.raises(ExpressionError, match="write dates as @2026-03-01"):
        compile_unit(imported)


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        (
            "days_between(let_on, @2026-01-01) > 30",
            1,
            "days_between() has no JsonLogic form: JsonLogic has no dates",
        ),
        (
            "let_on < add_days(let_on, 1)",
            10,
            "add_days() has no JsonLogic form: JsonLogic has no dates",
        ),
        ("let_on < today", 10, "today has no JsonLogic form: JsonLogic has no clock"),
        ("floor > 1 and len(code) > 3", 15, "len() has no JsonLogic form"),
        ('upper(code) == "A"', 1, "upper() has no JsonLogic form"),
        ('lower(code) == "a"', 1, "lower() has no JsonLogic form"),
        ("round(rent) > 1", 1, "round() has no JsonLogic form"),
        ("abs(floor) > 1", 1, "abs() has no JsonLogic form"),
        ('startswith(code, "A")', 1, "startswith() has no JsonLogic form"),
        ("count(inspection) > 0", 1, "count() over related records has no JsonLogic form"),
        (
            "exists(inspection where remark != null)",
            1,
            "exists() over related records has no JsonLogic form",
        ),
        ("max(inspection.id) > 0", 1, "max() over related records has no JsonLogic form"),
        (
            "coalesce(rent * 2, 0) > 1",
            10,
            "coalesce() has a JsonLogic form only as coalesce(field, …, value)",
        ),
        (
            'substr(code, floor) == "A"',
            1,
            "substr() has a JsonLogic form only with whole numbers ≥ 1 written out",
        ),
        (
            'substr(code, 0) == "A"',
            1,
            "substr() has a JsonLogic form only with whole numbers ≥ 1 written out",
        ),
        (
            "rent > 0.12345678901234567890",
            8,
            "0.12345678901234567890 has more digits than a JSON number (a double) holds",
        ),
    ],
)
def test_export_refuses_what_has_no_jsonlogic_form(source: str, column: int, message: str) -> None:
    with pytest.raises(JsonLogicUnsupported) as raised:
        to_jsonlogic(source)

    error = raised.value
    assert isinstance(error, ExpressionError)
    assert (error.message, error.column) == (message, column)
    assert str(error).startswith(f"column {column}: {message}\n    {source}\n")


def deeply_negated(levels: int) -> Any:
    rule: Any = ACTIVE
    for _ in range(levels):
        rule = {"!": rule}
    return rule


LOOPS = "it loops over a list; Anju has no loops (over related records, use count(rel where …))"
ABSENT = 'it lists absent fields; test each field with {"==": [{"var": "x"}, null]}'


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"and": [{"==": [FLOOR, 1]}, {"some": [var("units"), ACTIVE]}]},
            f'at and[1]: unsupported operator "some": {LOOPS}',
        ),
        ({"all": [var("units"), ACTIVE]}, f'at the root: unsupported operator "all": {LOOPS}'),
        ({"none": [var("units"), ACTIVE]}, f'at the root: unsupported operator "none": {LOOPS}'),
        ({"map": [var("units"), 1]}, f'at the root: unsupported operator "map": {LOOPS}'),
        ({"filter": [var("units"), 1]}, f'at the root: unsupported operator "filter": {LOOPS}'),
        ({"reduce": [var("units"), 1, 0]}, f'at the root: unsupported operator "reduce": {LOOPS}'),
        (
            {"in": [FLOOR, {"merge": [[1], [2]]}]},
            'at in[1]: unsupported operator "merge": it builds a list at run time; '
            "write the list out, such as [1, 2]",
        ),
        ({"missing": ["rent"]}, f'at the root: unsupported operator "missing": {ABSENT}'),
        (
            {"!": {"missing_some": [1, ["rent"]]}},
            f'at ![0]: unsupported operator "missing_some": {ABSENT}',
        ),
        (
            {"log": ACTIVE},
            'at the root: unsupported operator "log": it writes to the JavaScript console; '
            "remove it and keep its argument",
        ),
        ({"=": [FLOOR, 1]}, 'at the root: unknown operator "="; did you mean "=="?'),
        (
            {"or": [{"sustr": [var("code"), 1]}]},
            'at or[0]: unknown operator "sustr"; did you mean "substr"?',
        ),
        ({"startsWith": [var("code"), "A"]}, 'at the root: unknown operator "startsWith"'),
        (
            {"!!": var("notes")},
            'at the root: "!!" tests JavaScript truthiness (0, "" and false count as false), '
            "which Anju cannot tell without the field's type; "
            'write {"!=": [{"var": "notes"}, null]} or compare with a value',
        ),
        (var(""), 'at the root: "var" must name a field, such as "household.size"; got [""]'),
        (
            {"==": [var("units.0"), 1]},
            'at ==[0]: "var" must name a field, such as "household.size"; got ["units.0"]',
        ),
        (var(1), 'at the root: "var" must name a field, such as "household.size"; got [1]'),
        (
            var("first name"),
            'at the root: "var" must name a field, such as "household.size"; got ["first name"]',
        ),
        (
            var(["floor", 1, 2]),
            'at the root: "var" must name a field, such as "household.size"; got ["floor", 1, 2]',
        ),
        (
            {"<": [var("let_on"), var("today")]},
            'at <[1]: {"var": "today"} would read the clock in Anju, not a field; rename the field',
        ),
        ({"==": [[1, 2], FLOOR]}, 'at ==[0]: a list can only be the second argument of "in"'),
        ({"in": [FLOOR, [[1]]]}, 'at in[1][0]: a list can only be the second argument of "in"'),
        ([ACTIVE], 'at the root: a list can only be the second argument of "in"'),
        ({">": [1, FLOOR, 3]}, 'at the root: ">" takes 2 arguments; got 3'),
        ({"==": [FLOOR]}, 'at the root: "==" takes 2 arguments; got 1'),
        ({"!": [ACTIVE, ACTIVE]}, 'at the root: "!" takes 1 argument; got 2'),
        ({"and": []}, 'at the root: "and" takes 1 or more arguments; got 0'),
        ({"if": [ACTIVE]}, 'at the root: "if" takes 2 or more arguments; got 1'),
        ({"min": [FLOOR]}, 'at the root: "min" takes 2 or more arguments; got 1'),
        ({"substr": [var("code")]}, 'at the root: "substr" takes 2 to 3 arguments; got 1'),
        (
            {"+": [FLOOR]},
            'at the root: "+" with one argument turns text into a number; Anju needs none',
        ),
        (
            {"substr": [var("code"), -2]},
            'at the root: "substr" needs its start and length written as whole numbers ≥ 0; '
            "Anju counts from 1 and cannot count from the end",
        ),
        (
            {"substr": [var("code"), 0, FLOOR]},
            'at the root: "substr" needs its start and length written as whole numbers ≥ 0; '
            "Anju counts from 1 and cannot count from the end",
        ),
        (
            {"floor": 1, "rent": 2},
            'at the root: an operation has exactly one key, its operator; got "floor", "rent"',
        ),
        ({}, "at the root: an operation has exactly one key, its operator; got none"),
        (float("nan"), "at the root: nan is not a JSON value Anju can read"),
        ({"==": [FLOOR, float("inf")]}, "at ==[1]: inf is not a JSON value Anju can read"),
        ({"==": [FLOOR, {1}]}, "at ==[1]: {1} is not a JSON value Anju can read"),
        (
            {"and": [ACTIVE] * 210},
            "at the root: the expression has more than 400 parts; split it",
        ),
        (
            {"and": [ACTIVE] * 5000},
            'at the root: "and" has more than 400 arguments; split the rule',
        ),
    ],
)
def test_import_names_where_the_problem_is(rule: Any, message: str) -> None:
    with pytest.raises(JsonLogicInvalid) as raised:
        from_jsonlogic(rule)

    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_import_refuses_a_rule_nested_too_deep() -> None:
    with pytest.raises(JsonLogicInvalid) as raised:
        from_jsonlogic(deeply_negated(100))

    assert raised.value.path == "![0]" + ".![0]" * 39
    assert raised.value.message == "the rule nests deeper than 40 levels"


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        ("((floor))", "floor"),
        ("floor + (rent * area)", "floor + rent * area"),
        ("(floor + rent) * area", "(floor + rent) * area"),
        ("floor - (rent - area)", "floor - (rent - area)"),
        ("- -floor", "--floor"),
        ("-(-floor)", "--floor"),
        ("not (floor == 1)", "not floor == 1"),
        ("(not active) == false", "(not active) == false"),
        ("not (active or x) and y", "not (active or x) and y"),
        ("x in [1, 2.50] or y not in ['a']", 'x in [1, 2.50] or y not in ["a"]'),
        ("count(inspection where remark != null)", "count(inspection where remark != null)"),
        ("x == @2026-03-01 and y < @2026-03-01T09:00:00+08:00", None),
        ("-(1) + 2.0 * (3 % 4)", "-1 + 2.0 * (3 % 4)"),
    ],
)
def test_printer_adds_only_the_parentheses_the_grammar_needs(
    source: str, printed: str | None
) -> None:
    text = to_source(parse(source))

    assert text == (printed or source)
    assert shape(parse(text)) == shape(parse(source))
