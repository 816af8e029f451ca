"""The report and dashboard screens over HTTP: the chart's data island holds the API's rows,
the table shows them formatted with subtotals, every figure opens the records behind it (as
many as the figure says), exports link to the API, parameters are typed and their errors
shown beside them, and people who may not run a report get a 403 page.

The estate app of tests/definitions.py with two buildings of units and these definitions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app
from renderers.html.report_view import format_value, result_chart, result_table
from tests.databases import estate_settings
from tests.definitions import APP, estate, write_folder
from tests.html.browsing import browse
from tests.identity import USER_PASSWORD, authorize, create_user

UNITS_BY_STATUS = {
    "label": {"zh": "各楼栋房屋状态", "en": "Units by building and status"},
    "description": {"zh": "按楼栋和状态统计房屋。"},
    "source": "unit",
    "params": {
        "min_floor": {
            "type": "integer",
            "label": {"zh": "最低楼层", "en": "Lowest floor"},
            "default": "-3",
        },
        "active": {"type": "boolean", "label": {"zh": "在用", "en": "Active"}},
    },
    "filters": ["floor >= params.min_floor"],
    "dimensions": [
        {"name": "building", "field": "building", "label": {"zh": "楼栋", "en": "Building"}},
        {"name": "status", "field": "status", "label": {"zh": "状态", "en": "Status"}},
    ],
    "measures": [
        {"name": "units", "aggregate": "count", "label": {"zh": "套数"}, "format": "integer"},
        {"name": "rent", "aggregate": "sum", "field": "rent", "label": "租金", "format": "money"},
        {
            "name": "cheap",
            "aggregate": "count",
            "where": "rent < 1000",
            "label": "低租金套数",
            "format": "integer",
        },
    ],
    "rollup": True,
    "sort": ["building", "status"],
    "chart": {"type": "bar", "x": "building", "y": ["units"], "series": "status"},
}
VACANCY = {
    "label": {"zh": "空置率", "en": "Vacancy rate"},
    "source": "unit",
    "measures": [
        {"name": "units", "aggregate": "count", "label": "套数", "format": "integer"},
        {"name": "vacant", "aggregate": "count", "where": "status == 'vacant'", "label": "空置"},
        {"name": "rate", "ratio": ["vacant", "units"], "label": "空置率", "format": "percent"},
    ],
    "chart": {"type": "kpi", "y": ["rate"]},
}
BY_FLOOR = {
    "label": "按楼层",
    "source": "unit",
    "roles": ["manager"],
    "params": {"as_of": {"type": "date", "label": "截至", "default": "today"}},
    "dimensions": [{"name": "floor", "field": "floor", "label": "楼层"}],
    "measures": [{"name": "units", "aggregate": "count", "label": "套数"}],
    "chart": {"type": "line", "x": "floor", "y": ["units"]},
}
OVERVIEW = {
    "label": {"zh": "物业总览", "en": "Estate overview"},
    "widgets": [
        {"report": "vacancy", "title": {"zh": "空置率"}, "x": 0, "y": 0, "width": 4, "height": 2},
        {"report": "units_by_status", "chart": "pie", "x": 4, "y": 0, "width": 8, "height": 4},
        {"report": "units_by_status", "chart": "table", "x": 0, "y": 4, "width": 12, "height": 3},
    ],
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    folder = estate()
    folder[f"{APP}/reports/units_by_status.yaml"] = UNITS_BY_STATUS
    folder[f"{APP}/reports/vacancy.yaml"] = VACANCY
    folder[f"{APP}/reports/by_floor.yaml"] = BY_FLOOR
    folder[f"{APP}/dashboards/overview.yaml"] = OVERVIEW
    folder[f"{APP}/roles.yaml"]["roles"]["clerk"] = {"label": "文员"}
    unit = folder[f"{APP}/entities/unit.yaml"]
    unit["list_fields"] = ["code", "building", "status", "rent"]
    unit["permissions"] = {"clerk": {"actions": ["read"]}}
    config = estate_settings(tmp_path, database_url)
    write_folder(config.apps_config, folder)
    return config


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """Admin over the API, with two buildings: A (3 vacant, 2 let) and B (1 vacant)."""
    with TestClient(create_app(settings)) as admin:
        authorize(admin)
        buildings = {}
        for name in ("一号楼", "二号楼"):
            made = admin.post(f"/api/{APP}/building", json={"name": name})
            buildings[name] = made.json()["id"]
        units = [
            ("一号楼", "vacant", 800, 1),
            ("一号楼", "vacant", 1200, 2),
            ("一号楼", "vacant", 900, 3),
        ]
        units += [
            ("一号楼", "let", 1500, 4),
            ("一号楼", "let", 2500, 5),
            ("二号楼", "vacant", 700, 1),
        ]
        for n, (building, status, rent, floor) in enumerate(units, 1):
            body = {
                "code": f"A-{n}",
                "building": buildings[building],
                "status": status,
                "rent": str(rent),
                "floor": floor,
            }
            assert admin.post(f"/api/{APP}/unit", json=body).status_code == 201
        yield admin


def island(html: str, name: str = "report") -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{name}-options">(.*?)</script>', html)
    assert found, html
    return dict(json.loads(found.group(1)))


def table_rows(html: str, name: str = "report") -> list[list[str]]:
    """The table's rows as their cells' text."""
    table = re.search(rf'<table id="{name}-table".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, html
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in row] for row in cells]


def figure_links(html: str) -> dict[str, str]:
    """Each figure's text → its drill-down link (the first of equal texts)."""
    links = re.findall(r'<td class="num"><a href="([^"]+)"[^>]*>([^<]+)</a>', html)
    return {text: unescape(url) for url, text in reversed(links)}


def test_the_chart_island_holds_the_api_rows_and_the_table_formats_them(
    client: TestClient,
) -> None:
    page = browse(client)
    response = page.get(f"/{APP}/reports/units_by_status")
    assert response.status_code == 200
    api = client.get(f"/api/{APP}/reports/units_by_status").json()
    options = island(response.text)
    grouped = [r for r in api["rows"] if r["_level"] == 2]
    assert options["xAxis"]["data"] == ["一号楼", "二号楼"]
    series = {s["name"]: s["data"] for s in options["series"]}
    assert series == {"空置": [3, 1], "已租": [2, None]}
    assert sum(v for data in series.values() for v in data if v) == sum(r["units"] for r in grouped)
    assert all(s["type"] == "bar" for s in options["series"])
    rows = table_rows(response.text)
    assert rows[0] == ["一号楼", "已租", "2", "4,000.00", "0"]  # sorted by status: let, vacant
    assert rows[1] == ["一号楼", "空置", "3", "2,900.00", "2"]
    assert ["一号楼", "小计", "5", "6,900.00", "2"] in rows
    assert rows[-1] == ["合计", "", "6", "7,600.00", "3"]
    assert len(rows) == len(api["rows"])
    assert '<tr class="subtotal" data-level="1">' in response.text
    assert '<tr class="total" data-level="0">' in response.text
    assert 'class="num"><a href=' in response.text  # figures right-aligned, and links
    assert 'id="generated"' in response.text


def test_a_figure_opens_as_many_records_as_it_says(client: TestClient) -> None:
    page = browse(client)
    html = page.get(f"/{APP}/reports/units_by_status").text
    rows = table_rows(html)
    links = re.findall(r'<td class="num"><a href="([^"]+)"', html)
    assert len(links) == 3 * len(rows)  # every measure of every row, subtotals included
    for url in links[::3] + links[2::3]:  # the counts: units, and cheap units
        drilled = page.get(unescape(url))
        assert drilled.status_code == 200, drilled.text
        count = re.search(r'id="record-count">共 (\d+) 条记录<', drilled.text)
        shown = re.search(r'<dd class="figure">([\d,]+)</dd>', drilled.text)
        assert count and shown, drilled.text
        assert count.group(1) == shown.group(1).replace(",", "")
        assert drilled.text.count('<a href="/estate/unit/') == int(count.group(1))
    cheap_vacant_a = unescape(links[5])  # 一号楼 · 空置 · rent below 1000: A-1 and A-3
    drilled = page.get(cheap_vacant_a).text
    assert "A-1" in drilled and "A-3" in drilled and "A-2" not in drilled
    assert ">一号楼<" in drilled and ">空置<" in drilled  # the cell, described
    assert 'id="back-to-report"' in drilled


def test_parameters_are_typed_kept_and_their_errors_shown_beside_them(
    client: TestClient,
) -> None:
    page = browse(client)
    html = page.get(f"/{APP}/reports/units_by_status?min_floor=3").text
    assert re.search(r'<input type="number" id="param-min_floor" name="min_floor" value="3"', html)
    assert '<select id="param-active" name="active">' in html
    assert table_rows(html)[-1][:3] == ["合计", "", "3"]  # floors 3, 4 and 5
    api = client.get(f"/api/{APP}/reports/units_by_status?min_floor=3").json()
    vacant = next(s for s in island(html)["series"] if s["name"] == "空置")
    assert vacant["data"] == [
        r["units"] for r in api["rows"] if r["_level"] == 2 and r["status"] == "vacant"
    ]
    for url in figure_links(html).values():
        assert "min_floor=3" in url  # the records behind a figure, with the same parameters
    wrong = page.get(f"/{APP}/reports/units_by_status?min_floor=high")
    assert wrong.status_code == 422
    assert 'aria-invalid="true" aria-describedby="param-min_floor-error"' in wrong.text
    assert 'id="param-min_floor-error"' in wrong.text
    assert 'value="high"' in wrong.text  # kept as typed
    assert "report-options" not in wrong.text and "report-table" not in wrong.text


def test_exports_link_to_the_api_only_for_those_who_may_export(client: TestClient) -> None:
    page = browse(client)
    html = page.get(f"/{APP}/reports/units_by_status?min_floor=2").text
    links = dict(re.findall(r'href="([^"]+)" id="export-(\w+)"', html))
    by_format = {fmt: unescape(url) for url, fmt in links.items()}
    assert set(by_format) == {"csv", "xlsx", "pdf"}
    url = by_format["xlsx"]
    assert url.startswith(f"/api/{APP}/reports/units_by_status?") and "min_floor=2" in url
    download = page.client.get(url)
    assert download.status_code == 200, download.text
    assert download.content[:2] == b"PK"  # an xlsx is a zip
    create_user(client, "wu", "clerk")
    clerk = browse(client, "wu", USER_PASSWORD)
    seen = clerk.get(f"/{APP}/reports/units_by_status")
    assert seen.status_code == 200 and 'id="exports"' not in seen.text


def test_a_kpi_is_a_big_number_and_a_dashboard_places_its_widgets(client: TestClient) -> None:
    page = browse(client)
    kpi = page.get(f"/{APP}/reports/vacancy").text
    assert re.search(
        r'<p class="kpi" id="report-kpi"><strong>66.7%</strong><span>空置率</span>', kpi
    )
    board = page.get(f"/{APP}/dashboards/overview")
    assert board.status_code == 200
    html = board.text
    assert 'class="card widget gx-1 gw-4 gh-2 kind-kpi" id="widget-0"' in html
    assert 'class="card widget gx-5 gw-8 gh-4 kind-pie" id="widget-1"' in html
    assert 'class="card widget gx-1 gw-12 gh-3 kind-table" id="widget-2"' in html
    pie = island(html, "widget-1")
    assert pie["series"][0]["type"] == "pie"
    assert {d["name"]: d["value"] for d in pie["series"][0]["data"]} == {"一号楼": 3, "二号楼": 1}
    assert '<a href="/estate/reports/vacancy" title=' in html  # the title opens the report
    assert table_rows(html, "widget-2")[-1][:3] == ["合计", "", "6"]
    api = client.get(f"/api/{APP}/dashboards/overview").json()
    assert len(api["widgets"]) == 3


def test_menus_list_reports_and_unknown_or_forbidden_ones_are_error_pages(
    client: TestClient,
) -> None:
    page = browse(client)
    home = page.get("/").text
    menu = re.search(r'<ul id="reports-estate">(.*?)</ul>', home, re.S)
    assert menu and "/estate/reports/units_by_status" in menu.group(1)
    assert "/estate/dashboards/overview" in menu.group(1)
    missing = page.get(f"/{APP}/reports/nothing")
    assert missing.status_code == 404 and "<html" in missing.text
    assert page.get(f"/{APP}/dashboards/nothing").status_code == 404
    create_user(client, "wu", "clerk")
    clerk = browse(client, "wu", USER_PASSWORD)
    refused = clerk.get(f"/{APP}/reports/by_floor")  # for managers only
    assert refused.status_code == 403 and "您没有权限" in refused.text
    assert "/estate/reports/by_floor" not in clerk.get("/").text
    assert "/estate/reports/units_by_status" in clerk.get("/").text
    line = island(page.get(f"/{APP}/reports/by_floor").text)
    assert line["series"][0]["type"] == "line" and line["xAxis"]["data"][:2] == ["1", "2"]


def test_the_english_page_uses_english_labels(client: TestClient) -> None:
    page = browse(client)
    html = page.get(f"/{APP}/reports/units_by_status?lang=en").text
    assert "Units by building and status" in html
    assert "Subtotal" in html and "Total" in html
    assert [s["name"] for s in island(html)["series"]] == ["Let", "Vacant"]


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (1200, "integer", "1,200"),
        (0.125, "percent", "12.5%"),
        (0.1, "percent", "10%"),
        (-0.05, "percent", "-5%"),
        (1234.5, "money", "1,234.50"),
        (2.5, "number", "2.5"),
        (3, None, "3"),
        (None, "percent", "—"),
    ],
)
def test_figures_are_formatted_as_their_measures_say(value: Any, kind: str, text: str) -> None:
    assert format_value(value, kind) == text


def test_a_chart_leaves_out_subtotals_and_a_table_without_drill_has_plain_figures() -> None:
    result = {
        "label": "x",
        "columns": [
            {"name": "d", "label": "D", "role": "dimension", "labels": {"a": "甲"}},
            {"name": "n", "label": "N", "role": "measure", "format": "integer"},
        ],
        "rows": [
            {"d": "a", "n": 2, "_key": {"d": "a"}, "_level": 1},
            {"d": None, "n": 3, "_key": {"d": None}, "_level": 1},
            {"n": 5, "_key": {}, "_level": 0},
        ],
        "chart": {"type": "bar", "x": "d", "y": ["n"]},
    }
    chart = result_chart(result, "zh")
    assert chart.options["xAxis"]["data"] == ["甲", "（空）"]
    assert chart.options["series"] == [{"name": "N", "type": "bar", "data": [2.0, 3.0]}]
    table = result_table(result, None, [], "zh")
    assert [c.text for c in table.rows[-1].cells] == ["合计", "5"]
    assert table.rows[-1].total and all(c.url is None for r in table.rows for c in r.cells)
    assert "<" not in str(result_chart({**result, "label": "</script>"}, "zh").options_json)
