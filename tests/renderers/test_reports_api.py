"""The reports API over HTTP: the result's JSON shape, drill-down, dashboards, the list of
what a caller may run, errors (401/403/404/422) and audited exports in three formats."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app
from renderers.exports import CONTENT_TYPES
from tests.engine.reports.world import report_settings, seed
from tests.identity import anonymous, authorize, client_as

BASE = "/api/estate/reports"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return report_settings(tmp_path, database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        seed(test_client.app.state.runtime)  # type: ignore[attr-defined]
        yield test_client


def test_a_report_as_json(client: TestClient) -> None:
    response = client.get(f"{BASE}/units_by_building", headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"report", "label", "version", "columns", "rows", "chart", "params"}
    assert body["report"] == "estate.units_by_building" and body["label"] == "Units per building"
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["building"]["type"] == "reference" and columns["building"]["role"] == "dimension"
    assert columns["status"]["labels"] == {"vacant": "Vacant", "let": "Let"}
    assert columns["units"] == {
        "name": "units",
        "label": "Units",
        "role": "measure",
        "type": "integer",
        "format": "integer",
        "labels": None,
    }
    first = body["rows"][0]
    assert first["building"] == "一号楼" and first["_key"] == {"building": 1, "status": "let"}
    assert isinstance(first["rent_total"], float) and first["_level"] == 2
    assert body["chart"] == {"type": "bar", "x": "building", "y": ["units"], "series": "status"}
    assert body["cached"] is False
    again = client.get(f"{BASE}/units_by_building", headers={"Accept-Language": "en"})
    assert again.json()["cached"] is True


def test_a_write_through_the_api_refreshes_the_result(client: TestClient) -> None:
    before = client.get(f"{BASE}/units_in_status?status=vacant").json()["rows"][0]["units"]
    assert client.patch("/api/estate/unit/1", json={"status": "vacant"}).status_code == 200
    after = client.get(f"{BASE}/units_in_status?status=vacant").json()
    assert after["cached"] is False and after["rows"][0]["units"] == before + 1


def test_drill_down_gives_the_records_of_a_cell(client: TestClient) -> None:
    rows = client.get(f"{BASE}/units_by_building").json()["rows"]
    row = rows[0]
    query = "&".join(f"k.{k}={v}" for k, v in row["_key"].items())
    page = client.get(f"{BASE}/units_by_building/records?{query}&limit=2").json()
    assert page["count"] == row["units"] and len(page["items"]) == 2 and page["next_cursor"]
    assert all(item["building"] == 1 for item in page["items"])
    bad = client.get(f"{BASE}/units_by_building/records?k.nope=1")
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "k.nope"


def test_a_dashboard_and_the_list_of_reports(client: TestClient) -> None:
    body = client.get("/api/estate/dashboards/overview").json()
    assert body["dashboard"] == "estate.overview"
    widgets = body["widgets"]
    assert [w["report"] for w in widgets] == [
        "estate.units_in_status",
        "estate.units_by_building",
        "estate.managers_only",
    ]
    assert widgets[0]["result"]["params"] == {"status": "vacant", "floor_min": None}
    assert widgets[1]["width"] == 8 and widgets[1]["result"]["rows"]
    listed = client.get("/api/reports").json()["items"]
    assert {"app": "estate", "name": "overview", "kind": "dashboard"}.items() <= listed[-1].items()
    assert len([i for i in listed if i["kind"] == "report"]) == 8


def test_errors(client: TestClient) -> None:
    assert client.get(f"{BASE}/nothing").status_code == 404
    assert client.get("/api/estate/dashboards/nothing").status_code == 404
    wrong = client.get(f"{BASE}/units_in_status?status=gone")
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["path"] == "params.status"
    assert client.get(f"{BASE}/units_by_building?format=doc").status_code == 400
    assert anonymous(client).get(f"{BASE}/units_by_building").status_code == 401
    viewer = client_as(client, "vic", "viewer")
    hidden = viewer.get(f"{BASE}/units_by_building")
    assert hidden.status_code == 403 and "estate.unit.rent" in hidden.json()["error"]["message"]
    assert viewer.get(f"{BASE}/managers_only").status_code == 403
    assert viewer.get(f"{BASE}/units_by_district?format=csv").status_code == 403  # no export
    reports = {i["name"] for i in viewer.get("/api/reports").json()["items"]}
    assert "managers_only" not in reports and "units_by_district" in reports


@pytest.mark.parametrize("kind", ["csv", "xlsx", "pdf"])
def test_exports_are_downloads_and_audited(client: TestClient, kind: str) -> None:
    manager = client_as(client, "mia", "manager")
    audited = "/api/audit?action=report.export"
    before = len(client.get(audited).json()["items"])
    response = manager.get(f"{BASE}/units_by_district?format={kind}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(CONTENT_TYPES[kind])
    assert "attachment" in response.headers["content-disposition"]
    if kind == "csv":
        text = response.content.decode("utf-8-sig")
        assert "芙蓉区" in text and "合计" in text
    entries: list[dict[str, Any]] = client.get(audited).json()["items"]
    assert len(entries) == before + 1
    assert entries[0]["actor"] == "mia" and entries[0]["detail"]["format"] == kind
