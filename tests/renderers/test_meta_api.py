"""`/api/meta`: definitions as drafts, diff, dry run, publish, versions and rollback over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.definitions import entity, estate, to_yaml

UNIT_URL = "/api/meta/definitions/estate/entity/unit"
YAML = {"content-type": "application/yaml"}


def unit_with_deposit() -> dict[str, Any]:
    unit = entity(estate(), "unit")
    unit["fields"]["deposit"] = {"type": "decimal", "min": 0}
    return unit


def put_deposit(client: TestClient) -> None:
    response = client.put(UNIT_URL, content=to_yaml(unit_with_deposit()), headers=YAML)
    assert response.status_code == 200, response.text


def publish(client: TestClient, message: str = "Add deposit", **extra: Any) -> Any:
    return client.post("/api/meta/publish", json={"message": message, **extra})


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def test_put_yaml_stores_a_draft_and_leaves_the_published_one(client: TestClient) -> None:
    response = client.put(UNIT_URL, content=to_yaml(unit_with_deposit()), headers=YAML)

    assert response.status_code == 200
    assert response.json()["draft"] is True
    assert response.json()["content"]["fields"]["deposit"] == {"type": "decimal", "min": "0"}
    assert "deposit" in client.get(UNIT_URL, params={"draft": "1"}).json()["fields"]
    assert "deposit" not in client.get(UNIT_URL).json()["fields"]
    assert client.get("/api/meta/draft").json() == [
        {"app": "estate", "kind": "entity", "name": "unit", "removed": False}
    ]


def test_put_json_stores_the_same_draft_as_yaml(client: TestClient) -> None:
    as_yaml = client.put(UNIT_URL, content=to_yaml(unit_with_deposit()), headers=YAML).json()

    as_json = client.put(
        UNIT_URL,
        content=json.dumps(unit_with_deposit()),
        headers={"content-type": "application/json"},
    )

    assert as_json.status_code == 200
    assert as_json.json() == as_yaml


def test_bad_put_answers_422_with_every_error(client: TestClient) -> None:
    text = (
        "fields:\n"  # 1
        "  code:\n"  # 2
        "    type: str\n"  # 3
        "  floor:\n"  # 4
        "    type: integer\n"  # 5
        "    min: low\n"  # 6
    )

    error = error_of(client.put(UNIT_URL, content=text, headers=YAML), 422, "validation_error")

    assert [(d["file"], d["line"], d["path"]) for d in error["details"]] == [
        ("estate/entities/unit.yaml", 3, "fields.code.type"),
        ("estate/entities/unit.yaml", 6, "fields.floor.min"),
    ]
    assert client.get("/api/meta/draft").json() == []


def test_malformed_yaml_put_answers_422_with_the_line(client: TestClient) -> None:
    error = error_of(
        client.put(UNIT_URL, content="fields:\n  code: [\n", headers=YAML), 422, "validation_error"
    )

    assert [(d["line"], d["path"]) for d in error["details"]] == [(3, "")]


def test_put_that_breaks_another_definition_names_that_file(client: TestClient) -> None:
    unit = entity(estate(), "unit")
    del unit["fields"]["floor"]

    error = error_of(
        client.put(UNIT_URL, content=to_yaml(unit), headers=YAML), 422, "validation_error"
    )

    assert [(d["file"], d["path"]) for d in error["details"]] == [
        ("estate/forms/unit.yaml", "sections[0].fields[2]")
    ]


@pytest.mark.parametrize(
    "url", ["/api/meta/definitions/estate/screen/unit", "/api/meta/definitions/estate/app/other"]
)
def test_put_to_an_impossible_key_answers_404(client: TestClient, url: str) -> None:
    error_of(client.put(url, content="label: x\n", headers=YAML), 404, "not_found")


def test_get_unknown_definition_answers_404(client: TestClient) -> None:
    error_of(client.get("/api/meta/definitions/estate/entity/lease"), 404, "not_found")


def test_diff_to_draft_shows_the_pending_change(client: TestClient) -> None:
    put_deposit(client)

    changes = client.get("/api/meta/diff", params={"to": "draft"}).json()["changes"]

    assert changes == [
        {
            "app": "estate",
            "kind": "entity",
            "name": "unit",
            "change": "modified",
            "changes": [
                {
                    "path": "fields.deposit",
                    "change": "added",
                    "old": None,
                    "new": {"type": "decimal", "min": "0"},
                }
            ],
        }
    ]


def test_dry_run_reports_what_the_draft_does_to_stored_rows(client: TestClient) -> None:
    client.post("/api/estate/unit", json={"code": "A-1"})
    unit = unit_with_deposit()
    unit["fields"]["deposit"]["required"] = True
    client.put(UNIT_URL, content=to_yaml(unit), headers=YAML)

    result = client.post("/api/meta/dry-run").json()

    assert result["base_version"] == 1
    assert [c["name"] for c in result["changes"]] == ["unit"]
    assert result["report"]["blocked"] is False
    assert result["report"]["loses_data"] is False
    [finding] = result["report"]["findings"]
    assert (finding["severity"], finding["field"], finding["rows"]) == ("warning", "deposit", 1)


def test_publish_makes_a_version_and_clears_the_draft(client: TestClient) -> None:
    put_deposit(client)

    response = publish(client)

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["message"] == "Add deposit"
    assert client.get("/api/meta/draft").json() == []
    assert client.get("/-/health").json()["definitions_version"] == 2
    assert "deposit" in client.get(UNIT_URL).json()["fields"]


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "   "}, {"message": 5}])
def test_publish_without_a_message_answers_422(client: TestClient, body: dict[str, Any]) -> None:
    put_deposit(client)

    error = error_of(client.post("/api/meta/publish", json=body), 422, "validation_error")

    assert error["details"] == [{"path": "message", "message": "is required"}]
    assert client.get("/-/health").json()["definitions_version"] == 1


def test_publish_with_a_malformed_body_answers_400(client: TestClient) -> None:
    error_of(client.post("/api/meta/publish", content=b"{message"), 400, "bad_request")


def test_publish_with_nothing_changed_answers_409(client: TestClient) -> None:
    error_of(publish(client, "nothing"), 409, "conflict")


def test_publish_that_loses_data_answers_409_with_the_values(client: TestClient) -> None:
    client.post("/api/estate/building", json={"name": "One", "code": "TA"})
    building = entity(estate(), "building")
    building["fields"]["code"] = {"type": "integer"}
    building["search_fields"] = ["name"]
    client.put(
        "/api/meta/definitions/estate/entity/building", content=to_yaml(building), headers=YAML
    )

    error = error_of(publish(client, "code as number"), 409, "data_loss")

    assert [(d["path"], d["rows"]) for d in error["details"]] == [("estate.building.code", 1)]
    assert error["details"][0]["sample"][0]["value"] == "TA"


def test_publish_that_cannot_apply_answers_409_blocked(client: TestClient) -> None:
    for _ in range(2):
        client.post("/api/estate/building", json={"name": "Same"})
    building = entity(estate(), "building")
    building["fields"]["name"]["unique"] = True
    client.put(
        "/api/meta/definitions/estate/entity/building", content=to_yaml(building), headers=YAML
    )

    error = error_of(publish(client, "unique names"), 409, "publish_blocked")

    assert error["details"][0]["path"] == "estate.building.name"


def test_versions_list_who_when_why_and_hash(client: TestClient) -> None:
    put_deposit(client)
    publish(client)

    versions = client.get("/api/meta/versions").json()

    assert [(v["version"], v["author"], v["message"]) for v in versions] == [
        (1, "system", "Imported apps_config"),
        (2, "admin", "Add deposit"),
    ]
    assert all(len(v["hash"]) == 64 and v["created_at"] for v in versions)


def test_version_holds_every_definition(client: TestClient) -> None:
    version = client.get("/api/meta/versions/1").json()

    assert version["version"] == 1
    assert sorted((d["kind"], d["name"]) for d in version["definitions"]) == [
        ("app", "estate"),
        ("entity", "building"),
        ("entity", "inspection"),
        ("entity", "meter"),
        ("entity", "unit"),
        ("form", "unit"),
        ("roles", "roles"),
    ]


@pytest.mark.parametrize(
    ("version", "status"),
    [("9", 404), ("abc", 400), ("%C2%B2", 400)],
    ids=["unknown", "letters", "superscript two"],
)
def test_impossible_version_answers_json_error(
    client: TestClient, version: str, status: int
) -> None:
    user = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)

    response = user.get(f"/api/meta/versions/{version}")

    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_diff_between_two_versions(client: TestClient) -> None:
    put_deposit(client)
    publish(client)

    between = client.get("/api/meta/diff", params={"from": "1", "to": "2"}).json()
    latest = client.get("/api/meta/diff").json()

    assert [c["path"] for c in between["changes"][0]["changes"]] == ["fields.deposit"]
    assert latest == between


def test_rollback_publishes_the_old_content_as_a_new_version(client: TestClient) -> None:
    put_deposit(client)
    publish(client)

    response = client.post("/api/meta/rollback", json={"version": 1, "message": "Undo deposit"})

    assert response.status_code == 200
    assert response.json()["version"] == 3
    assert [v["version"] for v in client.get("/api/meta/versions").json()] == [1, 2, 3]
    assert "deposit" not in client.get(UNIT_URL).json()["fields"]
    assert (
        client.get("/api/meta/versions/3").json()["hash"]
        == client.get("/api/meta/versions/1").json()["hash"]
    )


@pytest.mark.parametrize(
    ("body", "status"), [({}, 422), ({"version": "1"}, 422), ({"version": 7}, 404)]
)
def test_rollback_needs_an_existing_version(
    client: TestClient, body: dict[str, Any], status: int
) -> None:
    assert client.post("/api/meta/rollback", json=body).status_code == status


def test_delete_removes_a_definition_in_the_draft(client: TestClient) -> None:
    response = client.delete("/api/meta/definitions/estate/entity/inspection")

    assert response.status_code == 204
    assert client.get("/api/meta/draft").json() == [
        {"app": "estate", "kind": "entity", "name": "inspection", "removed": True}
    ]
    [change] = client.get("/api/meta/diff", params={"to": "draft"}).json()["changes"]
    assert (change["name"], change["change"]) == ("inspection", "removed")
    assert publish(client, "no inspections").status_code == 200
    assert client.get("/api/estate/inspection").status_code == 404


def test_delete_of_a_definition_others_need_answers_422(client: TestClient) -> None:
    error = error_of(
        client.delete("/api/meta/definitions/estate/entity/building"), 422, "validation_error"
    )

    assert {d["path"] for d in error["details"]} == {"fields.building.entity"}
    assert client.get("/api/meta/draft").json() == []


def test_delete_draft_discards_every_pending_change(client: TestClient) -> None:
    put_deposit(client)
    client.delete("/api/meta/definitions/estate/entity/inspection")

    assert client.delete("/api/meta/draft").status_code == 204

    assert client.get("/api/meta/draft").json() == []
    assert client.get("/api/meta/diff", params={"to": "draft"}).json() == {"changes": []}


def test_apps_lists_each_app_with_its_entities(client: TestClient) -> None:
    body = client.get("/api/meta/apps").json()

    assert body["version"] == 1
    [app] = body["apps"]
    assert (app["name"], app["label"]) == ("estate", {"zh": "物业", "en": "Estate"})
    assert {e["name"] for e in app["entities"]} == {"building", "unit", "meter", "inspection"}
