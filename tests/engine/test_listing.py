"""Listing records: filters, text search, sorting, keyset pages and capped counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine import records
from engine.catalog import CompiledEntity
from engine.errors import BadRequest, ValidationFailed
from engine.principal import SYSTEM
from engine.runtime import Runtime
from engine.settings import Settings
from renderers.app import create_app
from tests.databases import estate_settings, isolated_database, started_runtime
from tests.identity import authorize

UNITS = [
    # code, rent, floor, status, building, let_on, checked_at, notes, active
    ("A-1", "1000.00", 1, "vacant", 1, "2024-01-10", "2024-01-10T08:00:00Z", "sunny corner", True),
    ("A-2", "1500.50", 2, "let", 1, "2024-02-20", None, "north facing", True),
    ("A-3", None, 3, "let", 2, None, "2024-03-01T00:00:00+08:00", None, False),
    ("B-1", "2000.00", None, None, None, "2024-03-05", "2024-02-29T23:59:59Z", "corner shop", True),
    ("B-10", "1500.50", -1, "vacant", 2, "2024-01-10", None, "50%_off", True),
]
COLUMNS = ("code", "rent", "floor", "status", "building", "let_on", "checked_at", "notes", "active")


def unit_entity(runtime: Runtime) -> CompiledEntity:
    compiled = runtime.require_catalog().entity("estate", "unit")
    assert compiled is not None
    return compiled


def create(runtime: Runtime, name: str, body: dict[str, Any]) -> dict[str, Any]:
    compiled = runtime.require_catalog().entity("estate", name)
    assert compiled is not None
    return records.create_record(runtime.engine, compiled, body, SYSTEM)


def page(
    runtime: Runtime, params: list[tuple[str, str]], count_limit: int = 10_000
) -> records.Page:
    entity = unit_entity(runtime)
    query = records.parse_list_query(entity, params)
    with runtime.engine.connect() as conn:
        return records.list_records(conn, entity, query, SYSTEM, count_limit)


def codes(runtime: Runtime, params: list[tuple[str, str]]) -> list[str]:
    return [item["code"] for item in page(runtime, [*params, ("limit", "500")]).items]


@contextmanager
def shared_runtime(root: Path) -> Iterator[Runtime]:
    """One runtime for a module's read-only tests: they never change its rows."""
    with isolated_database() as url, started_runtime(estate_settings(root, url)) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with shared_runtime(tmp_path_factory.mktemp("units")) as runtime:
        create(runtime, "building", {"name": "One"})
        create(runtime, "building", {"name": "Two"})
        for values in UNITS:
            body = {k: v for k, v in zip(COLUMNS, values, strict=True) if v is not None}
            create(runtime, "unit", body)
        yield runtime


FILTERS = {
    "eq on string": ("code", "A-1", ["A-1"]),
    "eq on decimal": ("rent", "1500.5", ["A-2", "B-10"]),
    "eq on reference": ("building", "2", ["A-3", "B-10"]),
    "eq on boolean": ("active", "false", ["A-3"]),
    "eq on date": ("let_on", "2024-01-10", ["A-1", "B-10"]),
    "eq empty means null": ("status", "", ["B-1"]),
    "ne keeps nulls": ("rent__ne", "1500.50", ["A-1", "A-3", "B-1"]),
    "lt on integer": ("floor__lt", "2", ["A-1", "B-10"]),
    "lte on integer": ("floor__lte", "2", ["A-1", "A-2", "B-10"]),
    "gt on decimal": ("rent__gt", "1500", ["A-2", "B-1", "B-10"]),
    "gte on integer": ("floor__gte", "2", ["A-2", "A-3"]),
    "lt on date": ("let_on__lt", "2024-02-20", ["A-1", "B-10"]),
    "gte on datetime across time zones": (
        "checked_at__gte",
        "2024-02-29T16:00:00Z",
        ["A-3", "B-1"],
    ),
    "lt on datetime": ("checked_at__lt", "2024-02-29T23:59:59Z", ["A-1", "A-3"]),
    "in on enum": ("status__in", "vacant,let", ["A-1", "A-2", "A-3", "B-10"]),
    "in on integer": ("floor__in", "1,3", ["A-1", "A-3"]),
    "in on id": ("id__in", "2,4", ["A-2", "B-1"]),
    "contains": ("notes__contains", "corner", ["A-1", "B-1"]),
    "contains treats % and _ literally": ("notes__contains", "%_", ["B-10"]),
    "startswith": ("code__startswith", "B-", ["B-1", "B-10"]),
    "startswith on enum": ("status__startswith", "va", ["A-1", "B-10"]),
    "isnull true": ("rent__isnull", "true", ["A-3"]),
    "isnull false": ("floor__isnull", "false", ["A-1", "A-2", "A-3", "B-10"]),
    "system column": ("created_by", "system", ["A-1", "A-2", "A-3", "B-1", "B-10"]),
}


@pytest.mark.parametrize(("name", "value", "expected"), FILTERS.values(), ids=FILTERS.keys())
def test_filter_operators(units: Runtime, name: str, value: str, expected: list[str]) -> None:
    assert codes(units, [(name, value)]) == expected


def test_filters_combine_with_and(units: Runtime) -> None:
    assert codes(units, [("status", "let"), ("floor__gt", "2")]) == ["A-3"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("corner", ["A-1", "B-1"]), ("b-1", ["B-1", "B-10"]), ("NORTH", ["A-2"]), ("%", ["B-10"])],
)
def test_text_search_looks_in_the_search_fields(
    units: Runtime, q: str, expected: list[str]
) -> None:
    assert codes(units, [("q", q)]) == expected


SORTS = {
    "descending decimal, nulls last": ("-rent,code", ["B-1", "A-2", "B-10", "A-1", "A-3"]),
    "ascending integer, nulls first": ("floor", ["B-1", "B-10", "A-1", "A-2", "A-3"]),
    "enum then descending code": ("status,-code", ["B-1", "A-3", "A-2", "B-10", "A-1"]),
    "date then id": ("let_on", ["A-3", "A-1", "B-10", "A-2", "B-1"]),
    "descending datetime": ("-checked_at", ["B-1", "A-3", "A-1", "A-2", "B-10"]),
    "default is id": ("", ["A-1", "A-2", "A-3", "B-1", "B-10"]),
}


@pytest.mark.parametrize(("sort", "expected"), SORTS.values(), ids=SORTS.keys())
def test_sort_orders(units: Runtime, sort: str, expected: list[str]) -> None:
    params = [("sort", sort)] if sort else []

    assert codes(units, params) == expected


BAD_PARAMETERS = {
    "unknown field": ("colour", "red"),
    "unknown operator": ("floor__between", "1"),
    "value of the wrong type": ("floor", "high"),
    "bad date": ("let_on__lt", "someday"),
    "not an option": ("status", "sold"),
    "json filtered": ("extras", "{}"),
    "contains on a number": ("floor__contains", "1"),
    "sort by unknown field": ("sort", "-colour"),
    "sort by json": ("sort", "extras"),
    "limit zero": ("limit", "0"),
    "limit above the maximum": ("limit", "501"),
    "limit not a number": ("limit", "ten"),
}


@pytest.mark.parametrize(("name", "value"), BAD_PARAMETERS.values(), ids=BAD_PARAMETERS.keys())
def test_bad_parameter_is_refused_by_name(units: Runtime, name: str, value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        records.parse_list_query(unit_entity(units), [(name, value)])

    assert [d["path"] for d in refused.value.details] == [name]


def test_every_bad_parameter_is_reported_at_once(units: Runtime) -> None:
    params = [("colour", "red"), ("floor", "high"), ("sort", "nope"), ("limit", "0")]

    with pytest.raises(ValidationFailed) as refused:
        records.parse_list_query(unit_entity(units), params)

    assert [d["path"] for d in refused.value.details] == ["colour", "floor", "sort", "limit"]


def walk_pages(runtime: Runtime, sort: str, limit: int = 10) -> Iterator[list[dict[str, Any]]]:
    cursor: str | None = None
    while True:
        params = [("sort", sort), ("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
        result = page(runtime, params)
        yield result.items
        cursor = result.next_cursor
        if cursor is None:
            return


def python_order(rows: list[dict[str, Any]], sort: str) -> list[int]:
    """The order the API promises: nulls smallest, ties broken by ascending id."""
    ordered = sorted(rows, key=lambda row: row["id"])
    for term in reversed(sort.split(",")):
        name = term.lstrip("-")
        ordered.sort(key=lambda row: (row[name] is not None, row[name]), reverse=term[0] == "-")
    return [row["id"] for row in ordered]


@pytest.fixture(scope="module")
def paged(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Runtime, list[dict[str, Any]]]]:
    """57 units whose sort values repeat a lot, with nulls in every sortable column."""
    with shared_runtime(tmp_path_factory.mktemp("paged")) as runtime:
        yield runtime, [create(runtime, "unit", body) for body in many_unit_bodies()]


def many_unit_bodies() -> Iterator[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(57):
        let_on = date(2024, 1, 1) + timedelta(days=i % 4)
        body = {
            "code": f"U-{i}",
            "floor": None if i % 7 == 0 else i % 4,
            "rent": None if i % 5 == 0 else f"{1000 + (i % 3) * 250}.50",
            "status": ["vacant", "let", None][i % 3],
            "let_on": None if i % 6 == 0 else let_on.isoformat(),
            "checked_at": None if i % 4 == 0 else (start + timedelta(hours=i % 5)).isoformat(),
            "active": i % 2 == 0,
        }
        yield {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    "sort",
    ["floor", "-floor", "status,-rent", "-let_on,floor", "checked_at", "-active,-code", "-id"],
)
def test_keyset_pages_return_every_row_once_in_order(
    paged: tuple[Runtime, list[dict[str, Any]]], sort: str
) -> None:
    runtime, created = paged

    pages = list(walk_pages(runtime, sort))

    ids = [item["id"] for items in pages for item in items]
    assert [len(items) for items in pages] == [10, 10, 10, 10, 10, 7]
    assert ids == python_order(created, sort)


def test_last_page_has_no_cursor(units: Runtime) -> None:
    result = page(units, [("limit", "5")])

    assert (len(result.items), result.next_cursor, result.count) == (5, None, 5)


def test_cursor_of_another_sort_is_refused(units: Runtime) -> None:
    cursor = page(units, [("sort", "floor"), ("limit", "2")]).next_cursor
    assert cursor is not None

    with pytest.raises(BadRequest) as refused:
        page(units, [("sort", "-floor"), ("limit", "2"), ("cursor", cursor)])

    assert refused.value.status == 400
    assert [d["path"] for d in refused.value.details] == ["cursor"]


def test_malformed_cursor_is_refused(units: Runtime) -> None:
    with pytest.raises(BadRequest):
        page(units, [("cursor", "not-a-cursor")])


def test_count_covers_every_page(units: Runtime) -> None:
    result = page(units, [("limit", "2"), ("status", "let")])

    assert (len(result.items), result.count) == (2, 2)
    assert page(units, [("limit", "1")]).count == 5


def test_count_above_the_limit_is_null(units: Runtime) -> None:
    assert page(units, [], count_limit=4).count is None
    assert page(units, [("status", "vacant")], count_limit=4).count == 2


def test_count_limit_comes_from_settings(settings: Settings) -> None:
    capped = settings.model_copy(update={"count_limit": 3})
    with TestClient(create_app(capped)) as client:
        authorize(client)
        for n in range(4):
            client.post("/api/estate/building", json={"name": f"B{n}"})

        assert client.get("/api/estate/building").json()["count"] is None
        assert client.get("/api/estate/building", params={"id__lte": "3"}).json()["count"] == 3


def test_decimal_filter_matches_exact_value(units: Runtime) -> None:
    [item] = page(units, [("rent", "1000.00")]).items

    assert item["rent"] == Decimal("1000.00")
