"""`/api/audit`, `/api/audit/verify`, `/api/audit/head`: the trail over HTTP, for auditors."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.identity import anonymous, client_as


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/audit", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def engine_of(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    return engine


def test_search_finds_a_record_change_with_its_diff(client: TestClient) -> None:
    created = client.post("/api/estate/building", json={"name": "一号楼"})
    assert created.status_code == 201, created.text
    building = created.json()["id"]
    client.patch(f"/api/estate/building/{building}", json={"name": "二号楼"})

    [update] = entries(client, action="record.update", record_id=str(building))
    assert (update["actor"], update["target"], update["outcome"]) == (
        "admin",
        "estate.building",
        "ok",
    )
    assert update["detail"]["changes"]["name"] == ["一号楼", "二号楼"]
    assert {"seq", "at", "address", "prev_hash", "hash"} <= update.keys()
    assert [e["action"] for e in entries(client, action="record.", target="estate.building")] == [
        "record.update",
        "record.create",
    ]


def test_search_pages_newest_first_with_a_cursor(client: TestClient) -> None:
    for n in range(5):
        client.post("/api/estate/building", json={"name": f"B{n}"})
    seen, cursor = [], None
    while True:
        params = {"action": "record.create", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/audit", params=params).json()
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"from": "last tuesday"}, "from"),
        ({"to": "2026-13-45"}, "to"),
        ({"cursor": "-1"}, "cursor"),
        ({"who": "alice"}, "who"),
    ],
)
def test_bad_search_parameters_answer_422_naming_them(
    client: TestClient, params: dict[str, str], path: str
) -> None:
    response = client.get("/api/audit", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["path"] for d in error["details"]] == [path]


def test_verify_and_head_agree_on_an_intact_chain(client: TestClient) -> None:
    client.post("/api/estate/building", json={"name": "一号楼"})
    head = client.get("/api/audit/head").json()
    assert set(head) == {"seq", "hash", "base_seq", "base_hash"} and head["seq"] > 0
    anchor = f"{head['seq']}:{head['hash']}"
    result = client.get("/api/audit/verify", params={"anchor": anchor}).json()
    assert result["ok"] is True and result["problems"] == []
    assert result["checked"] == head["seq"] and result["head"]["hash"] == head["hash"]


def test_verify_names_a_deleted_entry(client: TestClient) -> None:
    client.post("/api/estate/building", json={"name": "一号楼"})
    client.post("/api/estate/building", json={"name": "二号楼"})
    [_newest, created] = entries(client, action="record.create")
    with engine_of(client).begin() as conn:
        conn.execute(sa.text("DELETE FROM anju_audit WHERE seq = :seq"), {"seq": created["seq"]})
    result = client.get("/api/audit/verify").json()
    assert result["ok"] is False
    assert {"seq": created["seq"], "kind": "deleted"}.items() <= result["problems"][0].items()


def test_a_malformed_anchor_answers_422(client: TestClient) -> None:
    response = client.get("/api/audit/verify", params={"anchor": "12:nothex"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "anchor"


@pytest.mark.parametrize("url", ["/api/audit", "/api/audit/verify", "/api/audit/head"])
def test_the_trail_needs_a_login(client: TestClient, url: str) -> None:
    response = anonymous(client).get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_auditors_may_read_the_trail_and_others_may_not(client: TestClient) -> None:
    auditor = client_as(client, "auditor1", "auditor")
    assert auditor.get("/api/audit").status_code == 200
    assert auditor.get("/api/audit/verify").json()["ok"] is True
    configurator = client_as(client, "config1", "configurator")
    response = configurator.get("/api/audit")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
