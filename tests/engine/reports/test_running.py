"""Running reports on a real database: every measure kind, buckets, hierarchy levels with
roll-up, parameters, top-N, the caller's scope and hidden fields."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.errors import Forbidden, ValidationFailed
from engine.principal import SYSTEM, Assignment, Principal
from engine.reports import parse_params, report_of, run_report
from engine.runtime import Runtime

MANAGER = Principal("mia", roles=("manager",), assignments=(Assignment("manager"),))
VIEWER = Principal("vic", roles=("viewer",), assignments=(Assignment("viewer"),))
STREET_DISTRICT = {4: "芙蓉区", 5: "芙蓉区", 6: "天心区"}


def run(runtime: Runtime, name: str, principal: Principal = SYSTEM, **raw: str) -> dict[str, Any]:
    catalog = runtime.require_catalog()
    report = report_of(catalog, "estate", name)
    assert report is not None
    with runtime.engine.begin() as conn:
        params = parse_params(report, raw)
        return run_report(conn, catalog, report, principal, params).as_json()


def test_every_aggregate_per_group_with_subtotals_and_total(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    result = run(runtime, "units_by_building")
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for unit in units:
        groups[(unit["building"], unit["status"])].append(unit)
        groups[(unit["building"],)].append(unit)
        groups[()].append(unit)
    assert len(result["rows"]) == len(groups)
    for row in result["rows"]:
        key = tuple(row["_key"].values())
        members = groups[key]
        assert row["_level"] == len(key)
        assert row["units"] == len(members)
        assert Decimal(str(row["rent_total"])) == sum(u["rent"] for u in members)
        expected_avg = sum(u["rent"] for u in members) / len(members)
        assert row["rent_avg"] == pytest.approx(float(expected_avg), abs=1e-6)
        assert row["top_floor"] == max(u["floor"] for u in members)
        assert row["low_floor"] == min(u["floor"] for u in members)
        assert row["regions"] == len({u["region"] for u in members})  # distinct, not added
    titles = [r["building"] for r in result["rows"]]
    assert titles == ["一号楼", "一号楼", "一号楼", "二号楼", "二号楼", "二号楼", None]
    assert [r["_level"] for r in result["rows"]] == [2, 2, 1, 2, 2, 1, 0]
    status = next(c for c in result["columns"] if c["name"] == "status")
    assert status["labels"] == {"vacant": "空置", "let": "已租"}


def test_levels_lift_streets_to_their_district_with_roll_up(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    result = run(runtime, "units_by_district")
    details = [r for r in result["rows"] if r["_level"] == 2]
    counted = Counter((STREET_DISTRICT[u["region"]], u["status"]) for u in units)
    assert {(r["district"], r["status"]): r["units"] for r in details} == counted
    assert {r["_key"]["district"] for r in details} == {2, 3}
    for row in result["rows"]:
        assert row["rate"] == pytest.approx(row["vacant"] / row["units"], abs=1e-6)
    total = result["rows"][-1]
    assert total["_level"] == 0 and total["units"] == len(units)


def test_month_buckets_with_period_and_year_changes(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    result = run(runtime, "lettings_by_month")
    counted = Counter(u["let_on"].strftime("%Y-%m") for u in units if u["let_on"])
    rows = {r["month"]: r for r in result["rows"]}
    assert {m: r["lettings"] for m, r in rows.items()} == counted
    assert [r["month"] for r in result["rows"]] == sorted(counted)
    for month, row in rows.items():
        year, number = int(month[:4]), int(month[5:])
        earlier = f"{year}-{number - 1:02d}" if number > 1 else f"{year - 1}-12"
        base = counted.get(earlier)
        assert row["mom"] == (pytest.approx((counted[month] - base) / base) if base else None)
        yoy_base = counted.get(f"{year - 1}-{number:02d}")
        assert row["yoy"] == (
            pytest.approx((counted[month] - yoy_base) / yoy_base) if yoy_base else None
        )
    assert any(r["yoy"] is not None for r in result["rows"])


def test_a_parameter_narrows_the_rows(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    late = run(runtime, "lettings_by_month", since="2026-01-01")
    assert {r["month"][:4] for r in late["rows"]} == {"2026"}
    assert late["params"] == {"since": "2026-01-01"}
    vacant = run(runtime, "units_in_status", status="vacant", floor_min="6")
    assert vacant["rows"][0]["units"] == sum(
        1 for u in units if u["status"] == "vacant" and u["floor"] >= 6
    )


def test_datetime_buckets_are_in_the_settings_time_zone(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    local = [u["checked_at"].astimezone(zone) for u in units]
    expected = Counter(f"{d.year}-Q{(d.month + 2) // 3}" for d in local)
    result = run(runtime, "checks_by_quarter")
    assert {r["quarter"]: r["units"] for r in result["rows"]} == expected
    assert expected["2026-Q2"] == 4  # one of them only by Shanghai's clock


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        ({}, "params.status", "is required"),
        ({"status": "gone"}, "params.status", "expected one of vacant, let"),
        ({"status": "let", "floor_min": "high"}, "params.floor_min", "expected a whole number"),
    ],
)
def test_wrong_parameters_are_named(
    runtime: Runtime, raw: dict[str, str], path: str, message: str
) -> None:
    report = report_of(runtime.require_catalog(), "estate", "units_in_status")
    assert report is not None
    with pytest.raises(ValidationFailed) as refused:
        parse_params(report, raw)
    assert refused.value.details[0]["path"] == path
    assert message in refused.value.details[0]["message"]


def test_top_n_keeps_the_best_rows(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    rates = {}
    for building in (1, 2):
        members = [u for u in units if u["building"] == building]
        rates[building] = sum(u["status"] == "vacant" for u in members) / len(members)
    best = max(rates, key=lambda b: rates[b])
    result = run(runtime, "top_building")
    assert [r["_key"]["building"] for r in result["rows"]] == [best]
    biggest = run(runtime, "biggest_buildings")  # sorted and cut in SQL
    sizes = Counter(u["building"] for u in units)
    assert biggest["rows"][0]["units"] == max(sizes.values()) and len(biggest["rows"]) == 1


def test_a_scoped_role_counts_only_its_rows(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    result = run(runtime, "units_by_building", MANAGER)
    assert result["rows"][-1]["units"] == sum(1 for u in units if u["floor"] >= 7)
    assert run(runtime, "units_by_building")["rows"][-1]["units"] == len(units)


def test_a_hidden_field_refuses_the_report_naming_it(
    runtime: Runtime, units: list[dict[str, Any]]
) -> None:
    with pytest.raises(Forbidden, match=r"measures.rent_total: the field estate.unit.rent"):
        run(runtime, "units_by_building", VIEWER)
    assert run(runtime, "units_by_district", VIEWER)["rows"][-1]["units"] == len(units)


def test_report_roles_keep_others_out(runtime: Runtime, units: list[dict[str, Any]]) -> None:
    assert run(runtime, "managers_only", MANAGER)["rows"][0]["units"] == 6
    with pytest.raises(Forbidden):
        run(runtime, "managers_only", VIEWER)
