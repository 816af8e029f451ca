"""The alerts API: who sees which alerts (recipients theirs, admin and auditors all, others
404), the lifecycle with 409 on a wrong state, unread counts, filters and pages, the rules
with their scan state, dry runs (drafts too) and scans on demand."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from engine.audit.trail import audit_table
from tests.definitions import to_yaml
from tests.engine.alerts.world import VACANT_UNIT, World, alert_world


@pytest.fixture
def world(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    with alert_world(tmp_path, database_url) as built:
        built.unit("A-1", street="S1")
        built.unit("A-2", street="S1", rent="2000")
        built.unit("B-1", street="S2")
        scanned = built.admin.post("/api/alerts/rules/estate/vacant_unit/scan")
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["opened"] == 3
        yield built


def alerts_of(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/alerts", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def titles(page: dict[str, Any]) -> list[str]:
    return sorted(item["title"] for item in page["items"])


def first_alert(world: World, who: str = "officer1") -> dict[str, Any]:
    return dict(alerts_of(world.people[who])["items"][-1])  # oldest: A-1


def test_recipients_see_their_alerts_admin_and_auditors_all(world: World) -> None:
    officer = alerts_of(world.people["officer1"])
    assert titles(officer) == ["房屋 A-1 空置", "房屋 A-2 空置"]
    assert (officer["count"], officer["unread"]) == (2, 2)
    assert titles(alerts_of(world.people["officer2"])) == ["房屋 B-1 空置"]
    assert alerts_of(world.people["manager1"])["count"] == 0  # not escalated yet
    assert alerts_of(world.admin)["count"] == alerts_of(world.people["auditor1"])["count"] == 3
    english = world.people["officer1"].get("/api/alerts", headers={"Accept-Language": "en"})
    assert sorted(i["title"] for i in english.json()["items"]) == [
        "Unit A-1 is vacant",
        "Unit A-2 is vacant",
    ]


def test_an_alert_out_of_sight_is_404(world: World) -> None:
    alert = first_alert(world)
    assert world.people["officer2"].get(f"/api/alerts/{alert['id']}").status_code == 404
    acted = world.people["officer2"].post(f"/api/alerts/{alert['id']}/acknowledge", json={})
    assert acted.status_code == 404
    assert world.people["officer1"].get("/api/alerts/999999").status_code == 404
    assert world.people["officer1"].get("/api/alerts/x").status_code == 404


def test_auditors_read_every_alert_but_act_on_none(world: World) -> None:
    alert = first_alert(world)
    auditor = world.people["auditor1"]
    detail = auditor.get(f"/api/alerts/{alert['id']}").json()
    assert detail["actions"] == [] and detail["recipient"] is False
    refused = auditor.post(f"/api/alerts/{alert['id']}/acknowledge", json={})
    assert refused.status_code == 403
    assert world.admin.post(f"/api/alerts/{alert['id']}/acknowledge", json={}).status_code == 200


def test_the_lifecycle_with_409_on_a_wrong_state(world: World) -> None:
    officer = world.people["officer1"]
    alert_id = first_alert(world)["id"]

    def post(action: str, **body: Any) -> Any:
        return officer.post(f"/api/alerts/{alert_id}/{action}", json=body)

    assert post("dispose", opinion="x").status_code == 409  # not acknowledged yet
    assert post("feedback", feedback="x").status_code == 409
    acknowledged = post("acknowledge", comment="看到了")
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"] == "officer1"
    conflict = post("acknowledge")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    missing = post("dispose")
    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == [{"path": "opinion", "message": "is required"}]
    assert post("dispose", opinion="限期出租").json()["status"] == "disposed"
    fed = post("feedback", feedback="已签约", comment="合同已上传")
    assert fed.status_code == 200 and fed.json()["feedback"] == "已签约"
    resolved = post("resolve", comment="完成")
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "manual")
    assert resolved.json()["actions"] == []
    assert post("resolve").status_code == 409
    assert post("escalate").status_code == 404

    detail = officer.get(f"/api/alerts/{alert_id}").json()
    assert [(e["action"], e["actor"], e["comment"]) for e in detail["timeline"]] == [
        ("open", "system", None),
        ("acknowledge", "officer1", "看到了"),
        ("dispose", "officer1", "限期出租"),
        ("feedback", "officer1", "已签约\n合同已上传"),
        ("resolve", "officer1", "完成"),
    ]
    assert detail["opinion"] == "限期出租"
    assert [(d["channel"], d["recipient"]) for d in detail["deliveries"]] == [
        ("in_app", "officer1")
    ]
    with world.runtime.engine.connect() as conn:
        query = sa.select(audit_table.c.action).where(
            audit_table.c.target == "alert", audit_table.c.record_id == str(alert_id)
        )
        audited = conn.execute(query.order_by(audit_table.c.seq)).scalars().all()
    assert audited == ["alert.acknowledge", "alert.dispose", "alert.feedback", "alert.resolve"]


def test_unread_counts_and_read_marks(world: World) -> None:
    officer = world.people["officer1"]
    first, second = sorted(alerts_of(officer)["items"], key=lambda i: i["id"])
    assert officer.post(f"/api/alerts/{first['id']}/read").status_code == 204
    page = alerts_of(officer)
    assert page["unread"] == 1
    assert {i["id"]: i["unread"] for i in page["items"]} == {first["id"]: False, second["id"]: True}
    assert [i["id"] for i in alerts_of(officer, unread=1)["items"]] == [second["id"]]
    officer.post(f"/api/alerts/{second['id']}/resolve", json={})
    assert alerts_of(officer)["unread"] == 0  # resolved alerts no longer count
    assert world.people["officer2"].post(f"/api/alerts/{first['id']}/read").status_code == 404


def test_filters_and_pages(world: World) -> None:
    admin = world.admin
    assert alerts_of(admin, status="open", severity="yellow", app="estate")["count"] == 3
    assert alerts_of(admin, family="unit", rule="vacant_unit")["count"] == 3
    assert alerts_of(admin, status="resolved")["count"] == 0
    bad = admin.get("/api/alerts", params={"status": "closed"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "status"
    page = alerts_of(admin, limit=2)
    assert len(page["items"]) == 2 and page["next_cursor"] is not None
    rest = alerts_of(admin, limit=2, cursor=page["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    seen = {i["id"] for i in page["items"] + rest["items"]}
    assert len(seen) == 3


def test_rules_with_their_scan_state_for_configurators(world: World) -> None:
    rules = world.admin.get("/api/alerts/rules").json()["items"]
    by_name = {rule["name"]: rule for rule in rules}
    assert sorted(by_name) == ["high_rent", "morning_check", "vacant_unit"]
    vacant = by_name["vacant_unit"]
    assert (vacant["open"], vacant["last_matched"], vacant["label"]) == (3, 3, "房屋空置")
    assert vacant["last_scan_at"] is not None and vacant["schedule"] == {"every": "1h"}
    assert world.people["auditor1"].get("/api/alerts/rules").status_code == 200
    assert world.people["officer1"].get("/api/alerts/rules").status_code == 403


def test_dry_runs_of_published_and_draft_rules(world: World) -> None:
    url = "/api/alerts/rules/estate/vacant_unit/dry-run"
    now = world.admin.post(url, json={"as_of": None}).json()
    assert (now["matches"], now["would_open"], now["would_resolve"]) == (3, 0, 0)
    past = world.admin.post(url, json={"as_of": "2026-02-01"}).json()
    assert past["as_of"] == "2026-02-01" and past["exact"] is False
    bad = world.admin.post(url, json={"as_of": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "as_of"
    assert world.people["officer1"].post(url, json={}).status_code == 403
    assert world.admin.post("/api/alerts/rules/estate/nope/dry-run", json={}).status_code == 404

    world.unit("A-9", active=False)
    draft = copy.deepcopy(VACANT_UNIT) | {"condition": "status == 'vacant'"}
    put = world.admin.put(
        "/api/meta/definitions/estate/alert/vacant_unit",
        content=to_yaml(draft).encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert put.status_code == 200, put.text
    drafted = world.admin.post(url, json={"draft": True}).json()
    assert (drafted["draft"], drafted["matches"]) == (True, 4)
    assert world.admin.post(url, json={}).json()["matches"] == 3  # the published rule


def test_scans_on_demand(world: World) -> None:
    world.unit("A-3", street="S1")
    scanned = world.admin.post("/api/alerts/rules/estate/vacant_unit/scan").json()
    assert (scanned["matched"], scanned["opened"], scanned["resolved"]) == (4, 1, 0)
    assert (
        world.people["officer1"].post("/api/alerts/rules/estate/vacant_unit/scan").status_code
        == 403
    )
    assert world.admin.post("/api/alerts/rules/estate/nope/scan").status_code == 404


def test_the_routes_are_in_the_openapi_document(world: World) -> None:
    paths = world.admin.get("/openapi.json").json()["paths"]
    assert {"/api/alerts", "/api/alerts/{id}/{action}", "/api/alerts/rules"} <= set(paths)
