"""The result cache (hit, and invalidation by the data watermark after any write path) and
drill-down from a cell to the records behind it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.bulk import insert_rows
from engine.errors import ValidationFailed
from engine.principal import SYSTEM
from engine.records.writing import update_record
from engine.reports import drill_down, parse_params, report_of, run_report, watermark
from engine.runtime import Runtime
from tests.engine.reports.test_running import MANAGER


def run(runtime: Runtime, name: str, **raw: str) -> dict[str, Any]:
    catalog = runtime.require_catalog()
    report = report_of(catalog, "estate", name)
    assert report is not None
    with runtime.engine.begin() as conn:
        return run_report(conn, catalog, report, SYSTEM, parse_params(report, raw)).as_json()


def test_a_second_run_is_served_from_the_cache(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    first = run(runtime, "units_by_building")
    started = time.perf_counter()
    second = run(runtime, "units_by_building")
    assert time.perf_counter() - started < 0.05
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["rows"] == first["rows"]
    assert run(runtime, "units_in_status", status="let")["cached"] is False  # other params


def test_a_write_through_the_records_service_moves_the_watermark(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    before = run(runtime, "units_in_status", status="vacant")
    catalog = runtime.require_catalog()
    with runtime.engine.begin() as conn:
        marks = watermark(conn, ["estate.unit", "estate.building"])
    update_record(runtime.engine, catalog.by_path("estate.unit"), 1, {"status": "vacant"}, SYSTEM)
    with runtime.engine.begin() as conn:
        assert watermark(conn, ["estate.unit", "estate.building"]) == (marks[0] + 1, marks[1])
    after = run(runtime, "units_in_status", status="vacant")
    assert after["cached"] is False
    assert after["rows"][0]["units"] == before["rows"][0]["units"] + 1


def test_a_bulk_load_moves_the_watermark(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    assert run(runtime, "units_by_building")["rows"][-1]["units"] == len(units)
    catalog = runtime.require_catalog()
    extra = [{"id": 100, "code": "A-100", "building": 2, "status": "let", "floor": 3}]
    with runtime.engine.begin() as conn:
        insert_rows(conn, catalog.by_path("estate.unit"), extra, SYSTEM)
    after = run(runtime, "units_by_building")
    assert after["cached"] is False and after["rows"][-1]["units"] == len(units) + 1


def test_a_scope_is_part_of_the_key(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    run(runtime, "units_by_building")
    catalog = runtime.require_catalog()
    report = report_of(catalog, "estate", "units_by_building")
    assert report is not None
    with runtime.engine.begin() as conn:
        scoped = run_report(conn, catalog, report, MANAGER, {})
    assert scoped.cached is False
    assert scoped.rows[-1]["units"] < len(units)


def cells(runtime: Runtime, name: str, key: dict[str, Any], **extra: Any) -> dict[str, Any]:
    catalog = runtime.require_catalog()
    report = report_of(catalog, "estate", name)
    assert report is not None
    text = {k: "" if v is None else str(v) for k, v in key.items()}
    with runtime.engine.begin() as conn:
        params = parse_params(report, extra.pop("raw", {}))
        return drill_down(conn, catalog, report, SYSTEM, params, text, limit=500, **extra)


@pytest.mark.parametrize("name", ["units_by_building", "units_by_district", "lettings_by_month"])
def test_drilling_into_a_cell_finds_exactly_its_records(
    runtime: Runtime, units: list[dict[str, Any]], name: str
) -> None:
    result = run(runtime, name)
    measure = next(c["name"] for c in result["columns"] if c["role"] == "measure")
    for row in result["rows"]:
        page = cells(runtime, name, row["_key"])
        assert page["count"] == row[measure] == len(page["items"])


def test_drilling_a_measure_with_a_condition_counts_only_its_records(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    for row in run(runtime, "units_by_district")["rows"]:
        page = cells(runtime, "units_by_district", row["_key"], measure="vacant")
        assert page["count"] == row["vacant"]


def test_drilling_pages_like_the_list_api(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    catalog = runtime.require_catalog()
    report = report_of(catalog, "estate", "units_by_building")
    assert report is not None
    with runtime.engine.begin() as conn:
        first = drill_down(conn, catalog, report, SYSTEM, {}, {"building": "1"}, limit=5)
        assert len(first["items"]) == 5 and first["next_cursor"]
        rest = drill_down(
            conn, catalog, report, SYSTEM, {}, {"building": "1"}, first["next_cursor"], 5
        )
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert sorted(ids) == [u["id"] for u in units if u["building"] == 1]


def test_a_wrong_cell_is_named(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        cells(runtime, "lettings_by_month", {"month": "March", "nope": "1"})
    assert {d["path"] for d in refused.value.details} == {"k.month", "k.nope"}
