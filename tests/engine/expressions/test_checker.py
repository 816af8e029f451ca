"""Type-checking against the estate `unit` entity: each mistake's message and column, and the
type each well-formed expression gets."""

from __future__ import annotations

import pytest

from engine.expressions import ExpressionContext, ExpressionError, compile_expression
from engine.expressions.scope import COMPUTED, DEFAULT, FILTER, FORM, RULE, VIRTUAL
from tests.engine.expressions.support import FUNCTIONS, compile_unit, scope_for


@pytest.mark.parametrize(
    ("source", "context", "message", "column"),
    [
        # unknown names, with a suggestion
        ("flor > 1", RULE, "unknown field 'flor' in estate.unit; did you mean 'floor'?", 1),
        (
            "rent > 1 and sttus == 'let'",
            RULE,
            "unknown field 'sttus' in estate.unit; did you mean 'status'?",
            14,
        ),
        ("zzz == 1", RULE, "unknown field 'zzz' in estate.unit", 1),
        ("tody > let_on", RULE, "unknown field 'tody' in estate.unit; did you mean 'today'?", 1),
        ("building.nam", RULE, "unknown field 'nam' in estate.building; did you mean 'name'?", 10),
        (
            "count(inspection where remrk == 'x') > 0",
            RULE,
            "unknown field 'remrk' in estate.inspection; did you mean 'remark'?",
            24,
        ),
        ("lenn(code) > 1", RULE, "unknown function 'lenn'; did you mean len()?", 1),
        ("1 + uper(code)", RULE, "unknown function 'uper'; did you mean upper()?", 5),
        ("cont(inspection) > 1", RULE, "unknown function 'cont'; did you mean count()?", 1),
        ("iff(active, 1, 2)", RULE, "unknown function 'iff'; did you mean if()?", 1),
        ("xyz(1)", RULE, "unknown function 'xyz'", 1),
        # wrong argument types
        ("len(floor) > 1", RULE, "len(): argument 1 must be text, not integer", 5),
        (
            "concat(code, rent)",
            RULE,
            "concat(): argument 2 must be text or a whole number, not decimal",
            14,
        ),
        (
            "add_days(let_on, 1.5)",
            RULE,
            "add_days(): argument 2 must be a whole number, not decimal",
            18,
        ),
        ("date(let_on)", RULE, "date(): argument 1 must be a datetime, not date", 6),
        ("year(checked_at)", RULE, "year(): argument 1 must be a date, not datetime", 6),
        (
            "round(rent, floor)",
            RULE,
            "round(): the number of digits must be written as a whole number",
            13,
        ),
        ("round(rent, 13)", RULE, "round(): the number of digits must be between 0 and 12", 13),
        (
            "min(1, 'a')",
            RULE,
            "min(): the arguments must be numbers, dates or text, all of one kind",
            5,
        ),
        (
            "max(active, true)",
            RULE,
            "max(): the arguments must be numbers, dates or text, all of one kind",
            5,
        ),
        (
            "if(floor, 1, 2)",
            RULE,
            "the condition of if() must be true or false, but this is an integer",
            4,
        ),
        ("if(active, 1, 'a')", RULE, "the two results of if() differ: integer and string", 1),
        ("coalesce(floor, 'a')", RULE, "the arguments of coalesce() must all be of one type", 1),
        # enum values that are not options
        (
            "status == 'leet'",
            RULE,
            "'leet' is not an option of status; did you mean 'let'? options: vacant, let",
            11,
        ),
        (
            "'Let' != status",
            RULE,
            "'Let' is not an option of status; did you mean 'let'? options: vacant, let",
            1,
        ),
        (
            "status in ['vacant', 'lett']",
            RULE,
            "'lett' is not an option of status; did you mean 'let'? options: vacant, let",
            22,
        ),
        (
            "status == 'sold'",
            RULE,
            "'sold' is not an option of status; options: vacant, let",
            11,
        ),
        # comparisons
        (
            "let_on > '2024-01-01'",
            RULE,
            "cannot compare a date with a string; write dates as @2026-03-01",
            1,
        ),
        (
            "let_on == checked_at",
            RULE,
            "cannot compare a date with a datetime; turn the datetime into a date with date(x)",
            1,
        ),
        (
            "floor == '3'",
            RULE,
            "cannot compare an integer with a string; numbers are written without quotes",
            1,
        ),
        ("active == 1", RULE, "cannot compare a boolean with an integer", 1),
        ("active < true", RULE, "a boolean has no order; use == or !=", 1),
        ("floor < null", RULE, "null has no order; write '== null' or '!= null'", 9),
        (
            "extras == 1",
            RULE,
            "cannot compare a json with an integer; json fields can only be compared with null",
            1,
        ),
        (
            "extras != extras",
            RULE,
            "cannot compare a json with a json; json fields can only be compared with null",
            1,
        ),
        ("extras < null", RULE, "a json has no order; use == or !=", 1),
        ("code in [1, 2]", RULE, "cannot look for a string in a list of integer", 1),
        # arithmetic and logic
        ("code + 1", RULE, "'+' needs numbers, not a string; join text with concat(a, b)", 1),
        ("2 * notes", RULE, "'*' needs numbers, not a string", 5),
        (
            "let_on - 1",
            RULE,
            "'-' needs numbers, not a date; use add_days(date, n) or days_between(a, b)",
            1,
        ),
        ("-code", RULE, "'-' needs a number, not a string", 2),
        ("rent % 2", RULE, "'%' needs whole numbers", 1),
        (
            "not floor",
            RULE,
            "the operand of 'not' must be true or false, but this is an integer",
            5,
        ),
        (
            "floor and active",
            RULE,
            "each side of 'and' must be true or false, but this is an integer",
            1,
        ),
        (
            "active or code",
            RULE,
            "each side of 'or' must be true or false, but this is a string",
            11,
        ),
        # where outside aggregates
        (
            "contains(code where active)",
            RULE,
            "'where' belongs to aggregates (count, sum, avg, min, max, exists) "
            "over related records",
            21,
        ),
        (
            "len(code where floor > 1) > 2",
            RULE,
            "'where' belongs to aggregates (count, sum, avg, min, max, exists) "
            "over related records",
            16,
        ),
        # aggregates
        (
            "count(inspection) > 0",
            FORM,
            "a form condition cannot use aggregates over related records",
            1,
        ),
        ("exists(inspection)", DEFAULT, "a default cannot use aggregates over related records", 1),
        (
            "inspection == null",
            RULE,
            "inspection is a list of related records; use it in an aggregate, "
            "such as count(inspection) or count(inspection where …)",
            1,
        ),
        ("sum(inspection) > 0", RULE, "sum() needs a field, such as sum(inspection.amount)", 5),
        ("sum(inspection.remark) > 0", RULE, "sum() needs a number field, not a string", 5),
        (
            "count(inspection.remark) > 0",
            RULE,
            "count() counts records; write count(inspection)",
            7,
        ),
        (
            "sum(floor) > 0",
            RULE,
            "sum() works over related records, such as sum(inspection.amount); "
            "estate.unit has inspection",
            5,
        ),
        (
            "count(meter) > 0",
            RULE,
            "count() works over related records, such as count(inspection); "
            "estate.unit has inspection",
            7,
        ),
        (
            "count(meter where serial == 'x') > 0",
            RULE,
            "count() works over related records, such as count(inspection); "
            "estate.unit has inspection",
            7,
        ),
        (
            "max(notes where active) == 'x'",
            RULE,
            "max() works over related records, such as max(inspection.amount); "
            "estate.unit has inspection",
            5,
        ),
        (
            "count(where active) > 0",
            RULE,
            "count() takes one relation, such as count(inspection)",
            1,
        ),
        (
            "count(inspection, inspection) > 0",
            RULE,
            "count() takes one relation, such as count(inspection)",
            1,
        ),
        (
            "exists(inspection where count(inspection) > 0)",
            RULE,
            "count() works over related records, such as count(bills); estate.inspection has none",
            31,
        ),
        # functions that cannot run in the database, where the database must run it
        (
            "working_days_between(let_on, today) > 3",
            VIRTUAL,
            "working_days_between() cannot run in the database, "
            "so it cannot be used in a virtual field",
            1,
        ),
        (
            "add_working_days(let_on, 3) > today",
            FILTER,
            "add_working_days() cannot run in the database, so it cannot be used in a filter",
            1,
        ),
        (
            "working_days_between(let_on, today) > 3",
            RULE,
            "working_days_between() needs a working-day calendar: "
            "add calendars/default.yaml to an app",
            1,
        ),
        # paths through fields that are not references
        (
            "floor.name == 1",
            RULE,
            "floor is an integer field, not a reference; only references can be followed with '.'",
            1,
        ),
        (
            "building.name.first == 'x'",
            RULE,
            "name is a string field, not a reference; only references can be followed with '.'",
            10,
        ),
        (
            "created_by.name == 'x'",
            RULE,
            "created_by is a string, not a reference; it has no fields",
            1,
        ),
        # variables
        ("today.year == 1", RULE, "today is a date; it has no attributes", 1),
        (
            "user == 'ann'",
            RULE,
            "user needs one attribute: user.username, user.roles, user.org_id, user.org_code",
            1,
        ),
        (
            "user.name == 'ann'",
            RULE,
            "user has no attribute 'name'; did you mean user.username?",
            6,
        ),
        ("user.org_id == 1", VIRTUAL, "user is not available in a virtual field", 1),
        # lists outside `in`
        ("[1, 2]", RULE, "a list can only follow 'in' or 'not in'", 1),
        ("floor == [1]", RULE, "a list can only follow 'in' or 'not in'", 10),
        ("if(active, [1], [2]) == null", RULE, "a list can only follow 'in' or 'not in'", 12),
        ("[1, 'a'] == null", RULE, "the items of a list must all be of one type", 1),
        ("floor in [1, 'a']", RULE, "the items of a list must all be of one type", 10),
        ("floor in [[1]]", RULE, "a list can only follow 'in' or 'not in'", 11),
        (
            "code in code",
            RULE,
            '\'in\' needs a list on the right, such as ["a", "b"]; '
            "for text use contains(text, part)",
            9,
        ),
        # arity
        ("len(code, 1) > 1", RULE, "len() takes 1 argument; got 2", 1),
        ("substr(code) == 'a'", RULE, "substr() takes 2 to 3 arguments; got 1", 1),
        ("round(rent, 1, 2) > 0", RULE, "round() takes 1 to 2 arguments; got 3", 1),
        ("today(1) == let_on", RULE, "today() takes 0 arguments; got 1", 1),
        ("max(floor) > 1", RULE, "max() takes at least 2 arguments; got 1", 1),
        ("concat() == ''", RULE, "concat() takes at least 1 argument; got 0", 1),
        (
            "if(active, 1) == 1",
            RULE,
            "if() takes 3 arguments (condition, then, otherwise); got 2",
            1,
        ),
        ("coalesce(floor) == 1", RULE, "coalesce() takes at least 2 arguments", 1),
    ],
)
def test_type_error_says_what_and_where(
    source: str, context: ExpressionContext, message: str, column: int
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_unit(source, context)

    assert (caught.value.message, caught.value.column) == (message, column)


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        (
            "count(unit where count(inspection) > 0)",
            "count() over unit cannot use aggregates over related records",
            18,
        ),
        (
            "exists(unit where working_days_between(let_on, today) > 5)",
            "working_days_between() cannot run in the database, "
            "so it cannot be used in exists() over unit",
            19,
        ),
        (
            "sum(unit.rent where add_working_days(let_on, 1) > today) > 0",
            "add_working_days() cannot run in the database, "
            "so it cannot be used in sum() over unit",
            21,
        ),
    ],
)
def test_aggregates_run_in_the_database_and_do_not_nest(
    source: str, message: str, column: int
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, scope_for(RULE, "building", calendar=True), FUNCTIONS)

    assert (caught.value.message, caught.value.column) == (message, column)


def test_type_error_underlines_the_mistake() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_unit("rent > 1 and building.nam == 'x'")

    assert caught.value.excerpt == (
        "    rent > 1 and building.nam == 'x'\n                          ^^^"
    )


def test_expected_condition_refuses_a_value() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("rent * 2", scope_for(RULE), FUNCTIONS, expected="boolean")

    assert caught.value.message == "must be a condition (true or false), but this gives a decimal"


@pytest.mark.parametrize(
    ("source", "context", "kind", "scale", "nullable"),
    [
        ("floor", RULE, "integer", 0, True),
        ("id", RULE, "integer", 0, False),
        ("rent", RULE, "decimal", 2, True),
        ("floor + 1", RULE, "integer", 0, True),
        ("1 + 2", RULE, "integer", 0, False),
        ("rent + 0.005", RULE, "decimal", 3, True),
        ("rent * area", RULE, "decimal", 4, True),
        ("rent * 2", RULE, "decimal", 2, True),
        ("floor / 2", RULE, "decimal", 6, True),
        ("4 / 2", RULE, "decimal", 6, True),
        ("7 % 2", RULE, "integer", 0, True),
        ("-rent", RULE, "decimal", 2, True),
        ("if(active, floor, rent)", RULE, "decimal", 2, True),
        ("coalesce(floor, 0)", RULE, "integer", 0, False),
        ("coalesce(floor, area)", RULE, "decimal", 2, True),
        ("round(rent)", RULE, "integer", 0, True),
        ("round(rent, 1)", RULE, "decimal", 1, True),
        ("round(floor, 3)", RULE, "integer", 0, True),
        ("min(floor, 2.5)", RULE, "decimal", 1, True),
        ("len(code)", RULE, "integer", 0, True),
        ("len('abc')", RULE, "integer", 0, False),
        ("concat(notes, floor)", RULE, "string", 0, False),
        ("status", RULE, "string", 0, True),
        ("floor == null", RULE, "boolean", 0, False),
        ("floor > 1", RULE, "boolean", 0, False),
        ("contains(notes, 'x')", RULE, "boolean", 0, True),
        ("add_days(let_on, 1)", RULE, "date", 0, True),
        ("date(checked_at)", RULE, "date", 0, True),
        ("today", RULE, "date", 0, False),
        ("now()", RULE, "datetime", 0, False),
        ("building", RULE, "integer", 0, True),
        ("building.name", RULE, "string", 0, True),
        ("count(inspection)", RULE, "integer", 0, False),
        ("exists(inspection where remark == null)", RULE, "boolean", 0, False),
        ("sum(inspection.unit.rent)", RULE, "decimal", 2, False),
        ("avg(inspection.unit.floor)", RULE, "decimal", 6, True),
        ("max(inspection.remark)", RULE, "string", 0, True),
        ("user.username", COMPUTED, "string", 0, False),
        ("user.org_id", FORM, "integer", 0, True),
        ("null", RULE, "null", 0, True),
    ],
)
def test_expression_gets_its_type(
    source: str, context: ExpressionContext, kind: str, scale: int, nullable: bool
) -> None:
    result = compile_unit(source, context).type

    assert (result.kind, result.scale, result.nullable) == (kind, scale, nullable)


def test_enum_fields_carry_their_options_and_references_their_target() -> None:
    assert compile_unit("status").type.options == ("vacant", "let")
    assert compile_unit("building").type.target == "estate.building"
    assert compile_unit("upper(code)").type.options == ()


@pytest.mark.parametrize(
    "source",
    [
        "working_days_between(let_on, today) > 3",
        "add_working_days(let_on, 2) <= today",
    ],
)
def test_calendar_functions_need_a_calendar_and_run_only_as_closures(source: str) -> None:
    assert compile_unit(source, RULE, calendar=True).type.kind == "boolean"
    with pytest.raises(ExpressionError):
        compile_unit(source, FILTER, calendar=True)
