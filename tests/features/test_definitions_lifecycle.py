"""A configurator adds a field, publishes it, staff use it, an auditor reviews and rolls back."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.definitions import entity, estate, to_yaml

UNIT_DEFINITION = "/api/meta/definitions/estate/entity/unit"
UNITS = "/api/estate/unit"


def configurator_drafts_a_deposit_field(client: TestClient) -> None:
    unit = entity(estate(), "unit")
    unit["fields"]["deposit"] = {
        "type": "decimal",
        "min": 0,
        "label": {"zh": "押金", "en": "Deposit"},
    }
    response = client.put(
        UNIT_DEFINITION, content=to_yaml(unit), headers={"content-type": "application/yaml"}
    )
    assert response.status_code == 200, response.text


def test_a_field_goes_from_draft_to_use_to_rollback(client: TestClient) -> None:
    existing = client.post(UNITS, json={"code": "A-1", "rent": "1200.00"}).json()

    configurator_drafts_a_deposit_field(client)
    assert client.post(UNITS, json={"code": "A-2", "deposit": "100.00"}).status_code == 422

    [pending] = client.get("/api/meta/diff", params={"to": "draft"}).json()["changes"]
    assert [(c["path"], c["change"]) for c in pending["changes"]] == [("fields.deposit", "added")]
    report = client.post("/api/meta/dry-run").json()["report"]
    assert (report["blocked"], report["loses_data"]) == (False, False)

    published = client.post("/api/meta/publish", json={"message": "Units take a deposit"})
    assert published.json()["version"] == 2

    created = client.post(UNITS, json={"code": "A-2", "deposit": "2400.00"})
    assert created.status_code == 201
    assert created.json()["deposit"] == "2400.00"
    assert client.get(f"{UNITS}/{existing['id']}").json()["deposit"] is None
    listed = client.get(UNITS, params={"deposit__gte": "1000"}).json()
    assert [u["code"] for u in listed["items"]] == ["A-2"]

    versions = client.get("/api/meta/versions").json()
    assert [(v["version"], v["message"]) for v in versions] == [
        (1, "Imported apps_config"),
        (2, "Units take a deposit"),
    ]
    [audited] = client.get("/api/meta/diff", params={"from": "1", "to": "2"}).json()["changes"]
    assert audited["changes"][0]["new"]["label"] == {"zh": "押金", "en": "Deposit"}

    rolled_back = client.post(
        "/api/meta/rollback", json={"version": 1, "message": "Deposit not yet"}
    )
    assert rolled_back.json()["version"] == 3
    assert "deposit" not in client.get(f"{UNITS}/{created.json()['id']}").json()
    assert [v["version"] for v in client.get("/api/meta/versions").json()] == [1, 2, 3]
    assert client.get("/api/meta/diff", params={"from": "1", "to": "3"}).json() == {"changes": []}
