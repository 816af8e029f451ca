"""The closure back-end: each construct, null rule and built-in function on in-memory records.

References and aggregates read rows through the Environment's `lookup` and `aggregate`, here
plain functions over the rows below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from engine.expressions import Environment
from engine.expressions.closures import Record, compile_closure
from engine.expressions.typed import TAggregate
from tests.engine.expressions.support import NOW, TODAY, compile_unit, environment, typed

UNIT_FIELDS = (
    *("code", "rent", "area", "floor", "status", "building", "let_on", "checked_at"),
    *("notes", "extras", "photo", "active"),
)


def unit(record_id: int, **values: Any) -> dict[str, Any]:
    return {"id": record_id, **dict.fromkeys(UNIT_FIELDS), **values}


A1 = unit(
    10,
    code="A-1",
    rent=Decimal("1000.00"),
    area=Decimal("55.50"),
    floor=1,
    status="vacant",
    building=1,
    let_on=date(2024, 1, 31),
    checked_at=datetime(2024, 3, 1, 1, 30, tzinfo=UTC),
    notes="sunny corner",
    active=True,
)
A2 = unit(
    11,
    code="A-2",
    rent=Decimal("1500.55"),
    floor=-7,
    status="let",
    building=2,
    let_on=date(2024, 2, 29),
    checked_at=datetime(2024, 2, 29, 16, 30, tzinfo=UTC),
    notes="北向 North",
    active=False,
)
EMPTY = unit(12, code="A-3")  # every other field null, and no inspections
ROWS: dict[str, dict[int, Record]] = {
    "estate.building": {
        1: {"id": 1, "name": "Tower A", "code": "TA"},
        2: {"id": 2, "name": "Tower B", "code": None},
    },
    "estate.unit": {row["id"]: row for row in (A1, A2, EMPTY)},
    "estate.inspection": {
        1: {"id": 1, "unit": 10, "remark": "ok"},
        2: {"id": 2, "unit": 10, "remark": "leak"},
        3: {"id": 3, "unit": 11, "remark": None},
        4: {"id": 4, "unit": None, "remark": "orphan"},
    },
}


def in_memory_environment(**overrides: Any) -> Environment:
    """An Environment whose lookups and aggregates read ROWS."""
    env = environment(**overrides)

    def lookup(entity: str, record_id: int) -> Record | None:
        return ROWS[entity].get(record_id)

    def aggregate(node: TAggregate, record: Record) -> Any:
        relation = node.relation
        rows = [r for r in ROWS[relation.entity].values() if r[relation.field] == record["id"]]
        if node.where is not None:
            where = compile_closure(node.where)
            rows = [r for r in rows if where(r, env) is True]
        if node.function in ("count", "exists"):
            return len(rows) if node.function == "count" else bool(rows)
        assert node.value is not None
        value = compile_closure(node.value)
        values = [v for r in rows if (v := value(r, env)) is not None]
        if node.function == "sum":
            return sum(values, Decimal(0) if node.type.kind == "decimal" else 0)
        if node.function == "avg":
            if not values:
                return None
            mean = Decimal(sum(values)) / len(values)
            return mean.quantize(Decimal("0.000001"), ROUND_HALF_UP)
        extreme = min if node.function == "min" else max
        return extreme(values) if values else None

    env.lookup, env.aggregate = lookup, aggregate
    return env


D = Decimal

CASES: list[tuple[str, dict[str, Any], Any]] = [
    # fields and literals
    ("floor", A1, 1),
    ("rent", A1, D("1000.00")),
    ("floor", EMPTY, None),
    ("null", A1, None),
    ("'text'", A1, "text"),
    ("@2024-02-29", A1, date(2024, 2, 29)),
    # arithmetic
    ("floor + 2", A1, 3),
    ("floor - 3", A1, -2),
    ("floor * 3", A2, -21),
    ("-floor", A2, 7),
    ("rent + area", A1, D("1055.50")),
    ("rent - 0.005", A1, D("999.995")),
    ("rent * area", A1, D("55500.0000")),
    ("rent * 3", A2, D("4501.65")),
    ("0.1 + 0.2", A1, D("0.3")),
    ("1 + 0.5", A1, D("1.5")),
    # a null operand gives null
    ("floor + null", A1, None),
    ("null - 1", A1, None),
    ("floor * 2", EMPTY, None),
    ("rent + area", A2, None),
    ("-floor", EMPTY, None),
    ("-null", A1, None),
    ("null * null", A1, None),
    ("null % null", A1, None),
    ("null / null", A1, None),
    ("abs(null)", A1, None),
    ("len(null)", A1, None),
    ("round(null, 2)", A1, None),
    ("year(null)", A1, None),
    ("min(null, 1)", A1, None),
    # division: a decimal rounded half away from zero to 6 places; by zero gives null
    ("7 / 2", A1, D("3.500000")),
    ("4 / 2", A1, D("2.000000")),
    ("1 / 3", A1, D("0.333333")),
    ("2 / 3", A1, D("0.666667")),
    ("-2 / 3", A1, D("-0.666667")),
    ("5 / 10000000", A1, D("0.000001")),
    ("-5 / 10000000", A1, D("-0.000001")),
    ("4 / 10000000", A1, D("0.000000")),
    ("rent / 3", A1, D("333.333333")),
    ("rent / area", A1, D("18.018018")),
    ("474218584734 / 843", A1, D("562536873.943060")),
    ("floor / 0", A1, None),
    ("rent / 0.00", A1, None),
    ("floor / 2", EMPTY, None),
    ("null / 0", A1, None),
    # remainder: the dividend's sign; by zero gives null
    ("7 % 3", A1, 1),
    ("-7 % 3", A1, -1),
    ("7 % -3", A1, 1),
    ("-7 % -3", A1, -1),
    ("floor % 4", A2, -3),
    ("floor % 0", A1, None),
    ("floor % 2", EMPTY, None),
    # == and != are null-safe and never null
    ("null == null", A1, True),
    ("null != null", A1, False),
    ("floor == null", EMPTY, True),
    ("floor == null", A1, False),
    ("floor != null", A1, True),
    ("floor == 1", EMPTY, False),
    ("floor != 1", EMPTY, True),
    ("floor == area", EMPTY, True),
    ("floor != rent", EMPTY, False),
    ("rent == 1000", A1, True),
    ("1 == 1.00", A1, True),
    ("active == false", EMPTY, False),
    ("status != 'let'", EMPTY, True),
    ("extras == null", EMPTY, True),
    ("extras == null", unit(14, extras={"keys": 2}), False),
    ("extras != null", unit(14, extras=[]), True),
    ("extras in [null]", unit(14, extras={"keys": 2}), False),
    ("extras not in [null]", unit(14, extras={"keys": 2}), True),
    ("extras", unit(14, extras={"keys": 2}), {"keys": 2}),
    # ordering is false when either side is null
    ("floor < 5", EMPTY, False),
    ("floor >= 5", EMPTY, False),
    ("rent > area", A2, False),
    ("let_on <= today", EMPTY, False),
    ("floor <= 1", A1, True),
    ("floor > -8", A2, True),
    ("rent >= 1500.55", A2, True),
    # text compares by code point
    ("'B' < 'a'", A1, True),
    ("'z' < 'é'", A1, True),
    ("'abc' < 'abd'", A1, True),
    ("'' < 'a'", A1, True),
    ("'北' > 'North'", A1, True),
    ("code < 'A-10'", A1, True),
    # dates and datetimes
    ("let_on < @2024-02-01", A1, True),
    ("let_on == @2024-02-29", A2, True),
    ("checked_at == @2024-03-01T09:30:00+08:00", A1, True),
    ("checked_at < @2024-03-01T09:30:00+08:00", A2, True),
    ("checked_at > now", A1, False),
    # in and not in: null-safe membership
    ("floor in [1, 2]", A1, True),
    ("floor in [1, 2]", EMPTY, False),
    ("floor not in [1, 2]", EMPTY, True),
    ("floor in [1, null]", EMPTY, True),
    ("floor not in [1, null]", EMPTY, False),
    ("floor not in [1, null]", A2, True),
    ("null in [null]", A1, True),
    ("null not in [null]", A1, False),
    ("null in []", A1, False),
    ("floor not in []", A1, True),
    ("floor in [floor]", EMPTY, True),
    ("floor in [area, 1]", A1, True),
    ("floor in [area, 2]", EMPTY, True),
    ("rent in [1000, 1500.55]", A2, True),
    ("status in ['let']", EMPTY, False),
    ("status not in ['let']", EMPTY, True),
    ("'manager' in user.roles", A1, True),
    ("'boss' not in user.roles", A1, True),
    # and, or, not: a null operand counts as false; never null
    ("active and floor > 0", A1, True),
    ("active and true", EMPTY, False),
    ("active or true", EMPTY, True),
    ("active or false", EMPTY, False),
    ("not active", EMPTY, True),
    ("not active", A1, False),
    ("not null", A1, True),
    ("null and null", A1, False),
    ("null or true", A1, True),
    ("not (floor > 0)", EMPTY, True),
    ("active or active or active", EMPTY, False),
    ("active and active and active and active", A1, True),
    # if: the otherwise branch when the condition is null
    ("if(active, 'yes', 'no')", A1, "yes"),
    ("if(active, 'yes', 'no')", EMPTY, "no"),
    ("if(null, 1, 2)", A1, 2),
    ("if(floor > 0, floor, 0)", A2, 0),
    ("if(true, null, 1)", A1, None),
    ("if(active, floor, rent)", A1, D(1)),
    ("if(active, floor, rent)", A2, D("1500.55")),
    # coalesce: the first non-null
    ("coalesce(floor, 99)", EMPTY, 99),
    ("coalesce(floor, 99)", A1, 1),
    ("coalesce(null, null)", A1, None),
    ("coalesce(notes, code)", EMPTY, "A-3"),
    ("coalesce(rent, area, 1)", EMPTY, D(1)),
    ("coalesce(area, rent)", A2, D("1500.55")),
    # text functions
    ("len(code)", A1, 3),
    ("len('房屋')", A1, 2),
    ("len('')", A1, 0),
    ("len(notes)", EMPTY, None),
    ("upper(notes)", A1, "SUNNY CORNER"),
    ("upper('straße é')", A1, "STRAßE É"),
    ("upper(notes)", EMPTY, None),
    ("lower(code)", A1, "a-1"),
    ("lower('ΑΣ İ')", A1, "ασ i"),
    ("lower(null)", A1, None),
    ("contains(notes, 'corner')", A1, True),
    ("contains(notes, 'Corner')", A1, False),
    ("contains(notes, '')", A1, True),
    ("contains(notes, 'x')", EMPTY, None),
    ("contains('abc', null)", A1, None),
    ("startswith(code, 'A-')", A1, True),
    ("startswith(code, 'a')", A1, False),
    ("startswith(code, '')", A1, True),
    ("startswith(code, notes)", EMPTY, None),
    ("concat(code, '/', floor)", A1, "A-1/1"),
    ("concat(code, '/', floor)", A2, "A-2/-7"),
    ("concat(notes, code)", EMPTY, "A-3"),
    ("concat(null)", A1, ""),
    ("concat(floor, notes)", EMPTY, ""),
    ("substr('abcdef', 2)", A1, "bcdef"),
    ("substr('abcdef', 2, 3)", A1, "bcd"),
    ("substr('abcdef', 0, 2)", A1, "ab"),
    ("substr('abcdef', -5)", A1, "abcdef"),
    ("substr('abcdef', 3, -1)", A1, ""),
    ("substr('abcdef', 9)", A1, ""),
    ("substr('abcdef', 3000000000)", A1, ""),
    ("substr('abcdef', 2, 3000000000)", A1, "bcdef"),
    ("substr('abcdef', -3000000000, 2)", A1, "ab"),
    ("substr('北向 North', 2, 2)", A1, "向 "),
    ("substr(code, floor)", EMPTY, None),
    ("substr(code, 1, floor)", EMPTY, None),
    # number functions: half away from zero
    ("round(2.5)", A1, 3),
    ("round(-2.5)", A1, -3),
    ("round(2.4)", A1, 2),
    ("round(1.005, 2)", A1, D("1.01")),
    ("round(-1.005, 2)", A1, D("-1.01")),
    ("round(0.000005, 5)", A1, D("0.00001")),
    ("round(rent, 1)", A2, D("1500.6")),
    ("round(rent)", A2, 1501),
    ("round(floor)", A1, 1),
    ("round(floor, 2)", A2, -7),
    ("round(rent)", EMPTY, None),
    ("round(7 / 2)", A1, 4),
    ("round(2 / 3, 2)", A1, D("0.67")),
    ("abs(-3)", A1, 3),
    ("abs(-1.50)", A1, D("1.50")),
    ("abs(floor)", A2, 7),
    ("abs(floor)", EMPTY, None),
    ("min(3, 1, 2)", A1, 1),
    ("max(3, 1, 2)", A1, 3),
    ("min(floor, 5)", EMPTY, None),
    ("max(floor, null)", A1, None),
    ("max(1, 2.5)", A1, D("2.5")),
    ("min(1, 2.5)", A1, D(1)),
    ("min(floor, rent)", A2, D(-7)),
    ("max(rent, area)", A1, D("1000.00")),
    ("min('b', 'B', 'a')", A1, "B"),
    ("max(code, notes)", A1, "sunny corner"),
    ("max(let_on, @2024-02-01)", A1, date(2024, 2, 1)),
    ("min(checked_at, now())", A1, datetime(2024, 3, 1, 1, 30, tzinfo=UTC)),
    # the clock
    ("today()", A1, TODAY),
    ("today", A1, TODAY),
    ("now()", A1, NOW),
    ("now", A1, NOW),
    # date functions
    ("date(checked_at)", A1, date(2024, 3, 1)),
    ("date(checked_at)", A2, date(2024, 3, 1)),
    ("date(checked_at)", EMPTY, None),
    ("date(@2024-02-29T15:59:59Z)", A1, date(2024, 2, 29)),
    ("date(now)", A1, date(2024, 3, 15)),
    ("days_between(@2024-01-31, @2024-03-01)", A1, 30),
    ("days_between(@2024-03-01, @2024-01-31)", A1, -30),
    ("days_between(let_on, today)", A1, 44),
    ("days_between(let_on, today)", EMPTY, None),
    ("add_days(@2024-02-28, 1)", A1, date(2024, 2, 29)),
    ("add_days(@2024-03-01, -1)", A1, date(2024, 2, 29)),
    ("add_days(let_on, floor)", A2, date(2024, 2, 22)),
    ("add_days(let_on, floor)", EMPTY, None),
    ("add_days(@9999-12-31, 1)", A1, None),
    ("add_days(@0001-01-01, -1)", A1, None),
    ("add_days(let_on, 3000000000)", A1, None),
    ("add_days(let_on, -800000)", A1, None),
    ("add_months(@2024-01-31, 1)", A1, date(2024, 2, 29)),
    ("add_months(@2023-01-31, 1)", A1, date(2023, 2, 28)),
    ("add_months(@2024-03-31, -1)", A1, date(2024, 2, 29)),
    ("add_months(@2024-01-15, 13)", A1, date(2025, 2, 15)),
    ("add_months(@2024-01-31, -13)", A1, date(2022, 12, 31)),
    ("add_months(let_on, 12)", A2, date(2025, 2, 28)),
    ("add_months(let_on, 1)", EMPTY, None),
    ("add_months(@9999-12-01, 1)", A1, None),
    ("add_months(@0001-01-31, -1)", A1, None),
    ("add_months(let_on, 200000)", A1, None),
    ("add_months(let_on, -3000000000)", A1, None),
    ("year(@2024-02-29)", A1, 2024),
    ("month(@2024-02-29)", A1, 2),
    ("year(let_on)", EMPTY, None),
    ("month(let_on)", EMPTY, None),
    # paths through references
    ("building.name", A1, "Tower A"),
    ("building.code", A2, None),
    ("building.name", EMPTY, None),
    ("building.code == null", A2, True),
    ("building.code == null", EMPTY, True),
    ("building.name == 'Tower B'", A2, True),
    ("building.id", A2, 2),
    # aggregates over related records
    ("count(inspection)", A1, 2),
    ("count(inspection)", EMPTY, 0),
    ("count(inspection where remark == null)", A2, 1),
    ("count(inspection where remark != 'ok')", A1, 1),
    ("count(inspection where unit.floor > 0)", A1, 2),
    ("exists(inspection)", EMPTY, False),
    ("exists(inspection where remark == 'leak')", A1, True),
    ("exists(inspection where remark == 'leak')", A2, False),
    ("sum(inspection.id)", A1, 3),
    ("sum(inspection.id)", EMPTY, 0),
    ("sum(inspection.unit.rent)", A1, D("2000.00")),
    ("sum(inspection.unit.rent)", EMPTY, D("0")),
    ("avg(inspection.id)", A1, D("1.500000")),
    ("avg(inspection.id)", EMPTY, None),
    ("min(inspection.remark)", A1, "leak"),
    ("max(inspection.remark)", A1, "ok"),
    ("max(inspection.remark)", A2, None),
    ("min(inspection.id)", EMPTY, None),
    ("count(inspection) > 1 and exists(inspection where remark == 'ok')", A1, True),
    # variables
    ("user.username", A1, "ann"),
    ("user.org_id == 7", A1, True),
]


@pytest.mark.parametrize(("source", "record", "expected"), CASES)
def test_closure_evaluates(source: str, record: dict[str, Any], expected: Any) -> None:
    result = compile_unit(source).evaluate(record, in_memory_environment())

    assert typed([result]) == typed([expected])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Friday 4 April 2025 is a holiday, Sunday 27 April 2025 a worked day
        ("working_days_between(@2025-04-03, @2025-04-07)", 1),
        ("working_days_between(@2025-04-07, @2025-04-03)", -1),
        ("working_days_between(@2025-04-03, @2025-04-03)", 0),
        ("working_days_between(@2025-04-25, @2025-04-28)", 2),
        ("working_days_between(@2025-03-31, @2025-04-30)", 22),
        ("working_days_between(let_on, @2025-04-07)", None),
        ("add_working_days(@2025-04-03, 1)", date(2025, 4, 7)),
        ("add_working_days(@2025-04-25, 1)", date(2025, 4, 27)),
        ("add_working_days(@2025-04-07, -1)", date(2025, 4, 3)),
        ("add_working_days(@2025-04-05, 0)", date(2025, 4, 5)),
        ("add_working_days(@2025-03-07, 7)", date(2025, 3, 18)),
        ("add_working_days(let_on, 1)", None),
        ("add_working_days(@2025-04-03, floor)", None),
    ],
)
def test_calendar_functions_skip_weekends_and_holidays_and_count_worked_weekend_days(
    source: str, expected: Any
) -> None:
    expression = compile_unit(source, calendar=True)

    assert expression.evaluate(EMPTY, in_memory_environment()) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 1, 15, 23, 30, tzinfo=UTC), date(2024, 1, 16)),  # +01:00 in winter
        (datetime(2024, 7, 1, 22, 30, tzinfo=UTC), date(2024, 7, 2)),  # +02:00 in summer
        (datetime(2024, 7, 1, 21, 30, tzinfo=UTC), date(2024, 7, 1)),
    ],
)
def test_date_takes_the_offset_the_zone_has_on_that_day(moment: datetime, expected: date) -> None:
    env = in_memory_environment(timezone="Europe/Berlin")

    assert compile_unit("date(checked_at)").evaluate(unit(1, checked_at=moment), env) == expected


@pytest.mark.parametrize(
    ("source", "record", "value", "holds"),
    [
        ("contains(notes, 'x')", EMPTY, None, False),
        ("active", EMPTY, None, False),
        ("floor > 0 or active", EMPTY, False, False),
        ("active", A1, True, True),
        ("null", A1, None, False),
    ],
)
def test_test_counts_null_as_false(
    source: str, record: dict[str, Any], value: Any, holds: bool
) -> None:
    expression = compile_unit(source)
    env = in_memory_environment()

    assert (expression.evaluate(record, env), expression.test(record, env)) == (value, holds)


def test_a_reference_to_a_missing_record_reads_as_null() -> None:
    dangling = unit(13, building=99)

    assert compile_unit("building.name").evaluate(dangling, in_memory_environment()) is None


def test_without_a_database_paths_and_aggregates_say_what_they_could_not_read() -> None:
    with pytest.raises(LookupError, match="estate.building #1"):
        compile_unit("building.name").evaluate(A1, Environment())
    with pytest.raises(LookupError, match="count"):
        compile_unit("count(inspection)").evaluate(A1, Environment())
