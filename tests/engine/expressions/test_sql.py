"""The SQL back-end agrees with the closures, on a real database (SQLite, or PostgreSQL with
ANJU_TEST_DATABASE_URL): each expression selected as a value and used as a WHERE condition,
over units with nulls, references and related inspections.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.expressions import Expression, NotExpressible
from tests.engine.expressions.support import UnitDatabase, compile_unit, typed, unit_database
from tests.engine.expressions.test_closures import A1, A2, CASES, EMPTY

ZEROS: dict[str, Any] = {
    "id": 13,
    "code": "B-10",
    "rent": Decimal("0.00"),
    "area": Decimal("0.01"),
    "floor": 0,
    "status": "let",
    "building": 1,
    "let_on": date(2023, 12, 31),
    "checked_at": datetime(2024, 7, 1, 22, 30, tzinfo=UTC),
    "notes": "",
    "extras": {"keys": 2},
    "active": True,
}
# None in a json column is stored as JSON's null, as engine.records stores an empty json field
JSON_NULL: dict[str, Any] = {"id": 14, "code": "C-1", "extras": None}
INSPECTIONS: list[dict[str, Any]] = [
    {"unit": 10, "remark": "ok"},
    {"unit": 10, "remark": "leak"},
    {"unit": 11, "remark": None},
    {"unit": None, "remark": "orphan"},
    {"unit": 13, "remark": "Ok"},
]
MORE = [
    # text: case, code points, and what PostgreSQL's collation would order otherwise
    "upper(notes) == upper(code)",
    "lower(notes)",
    "min(code, notes)",
    "max(notes, 'a')",
    "notes < 'a'",
    "min(inspection.remark)",
    "max(inspection.remark where remark != 'ok')",
    "contains(lower(notes), 'north')",
    "len(notes) > 0",
    "concat(notes, '-', floor, '-', code)",
    "substr(notes, floor)",
    "substr(notes, 2, floor)",
    # numbers read back as the type says
    "if(active, floor, rent)",
    "coalesce(rent, floor, 0)",
    "max(floor, area)",
    "rent * area",
    "rent * area * 3",
    "(rent + area) / floor",
    "rent / area",
    "round(rent / 7, 3)",
    "round(area * 3 / 7)",
    "-rent",
    "floor % 3",
    "abs(rent - 2000)",
    "avg(inspection.unit.rent)",
    "sum(inspection.unit.area)",
    "avg(inspection.unit.floor where remark != null)",
    "474218584734 / 843",
    "-474218584734 / 843",
    # dates
    "date(checked_at) == let_on",
    "add_months(let_on, floor)",
    "add_days(let_on, if(active, null, floor))",
    "add_months(let_on, if(active, null, floor))",
    "add_days(let_on, floor) < today",
    "days_between(let_on, date(checked_at))",
    "year(let_on) * 100 + month(let_on)",
    "checked_at >= now",
    "let_on in [@2024-01-31, @2024-02-29]",
    # an empty json field holds SQL's null or JSON's; both are null
    "extras",
    "extras == null",
    "null != extras",
    "extras in [null]",
    "extras not in [null]",
    # conditions mixing nulls
    "not (rent > 100) or status == null",
    "active and not exists(inspection) or floor in [0, null]",
    "if(floor > 0, active, not active)",
    "coalesce(active, false) != active",
    "count(inspection where remark in ['ok', 'Ok', null]) >= 1",
    "building.code in ['TA', null]",
    "building.name != null and rent > 0",
    "user.org_id in [7, building]",
    "code in user.roles",
    "null",
    "coalesce(null, null)",
]
SOURCES = sorted({source for source, _, _ in CASES}) + MORE


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnitDatabase]:
    with unit_database(tmp_path_factory.mktemp("expressions")) as db:
        db.insert(
            "building",
            [{"id": 1, "name": "Tower A", "code": "TA"}, {"id": 2, "name": "Tower B"}],
        )
        db.insert("unit", [*(without_none(row) for row in (A1, A2, EMPTY, ZEROS)), JSON_NULL])
        db.insert("inspection", INSPECTIONS)
        yield db


def without_none(row: dict[str, Any]) -> dict[str, Any]:
    """Leave null fields out, so that the database stores SQL's null (for json too)."""
    return {name: value for name, value in row.items() if value is not None}


PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "decimal": (Decimal,),
    "string": (str,),
    "boolean": (bool,),
    "date": (date,),
    "datetime": (datetime,),
    "json": (dict, list, str, int, float, bool),
    "null": (),
}


@pytest.mark.parametrize("source", SOURCES)
def test_sql_value_equals_closure_value(database: UnitDatabase, source: str) -> None:
    expression = compile_unit(source)
    values = database.sql_values(expression)

    assert typed(values) == typed(database.closure_values(expression))
    expected = PYTHON_TYPES[expression.type.kind]
    assert all(type(value) in expected for value in values if value is not None)


@pytest.mark.parametrize(
    "source", [s for s in SOURCES if compile_unit(s).type.kind in ("boolean", "null")]
)
def test_sql_condition_selects_what_the_closure_accepts(
    database: UnitDatabase, source: str
) -> None:
    expression = compile_unit(source)

    assert database.sql_tests(expression) == database.closure_tests(expression)


def test_the_rows_exercise_nulls_and_every_relation(database: UnitDatabase) -> None:
    expression = compile_unit("concat(code, ':', count(inspection), ':', building.name)")

    assert database.sql_values(expression) == [
        "A-1:2:Tower A",
        "A-2:1:Tower B",
        "A-3:0:",
        "B-10:1:Tower A",
        "C-1:0:",
    ]


@pytest.mark.parametrize(
    "source", ["date(checked_at)", "date(checked_at) == @2024-07-02", "date(now())"]
)
def test_date_takes_the_offset_of_the_day_not_of_now(database: UnitDatabase, source: str) -> None:
    # now is in winter (+01:00 in Berlin); ZEROS was checked on a summer evening (+02:00)
    expression = compile_unit(source)
    values = database.sql_values(expression, timezone="Europe/Berlin")

    assert typed(values) == typed(database.closure_values(expression, timezone="Europe/Berlin"))


def test_date_of_a_summer_evening_in_berlin_is_the_next_day(database: UnitDatabase) -> None:
    values = database.sql_values(compile_unit("date(checked_at)"), timezone="Europe/Berlin")

    assert values[3] == date(2024, 7, 2)  # ZEROS


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("min(notes, 'B')", "B"),
        ("max(notes, 'B')", "a"),
        ("notes < 'B'", False),
        ("min(inspection.remark)", "B"),
        ("max(inspection.remark)", "a"),
    ],
)
def test_text_orders_by_code_point_whatever_the_collation(
    tmp_path: Path, source: str, expected: Any
) -> None:
    with unit_database(tmp_path) as db:
        if db.engine.dialect.name == "postgresql":  # one that orders 'a' before 'B'
            with db.engine.begin() as conn:
                for table, column in (("estate__unit", "notes"), ("estate__inspection", "remark")):
                    conn.exec_driver_sql(
                        f'ALTER TABLE {table} ALTER COLUMN {column} TYPE text COLLATE "en-x-icu"'
                    )
        db.insert("unit", [{"id": 1, "code": "A-1", "notes": "a"}])
        db.insert("inspection", [{"unit": 1, "remark": "a"}, {"unit": 1, "remark": "B"}])
        expression = compile_unit(source)

        assert database_values(db, expression) == [expected, expected]


def database_values(db: UnitDatabase, expression: Expression) -> list[Any]:
    """What SQL gives, then what the closure gives, for the one unit."""
    return [*db.sql_values(expression), *db.closure_values(expression)]


def test_calendar_functions_cannot_become_sql(database: UnitDatabase) -> None:
    expression = compile_unit("working_days_between(let_on, today) > 2", calendar=True)

    with pytest.raises(NotExpressible, match="working_days_between"):
        database.sql_values(expression)
