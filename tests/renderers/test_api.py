"""The HTTP contract of the records API: status codes, headers and the error shape."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

UNITS = "/api/estate/unit"
BUILDINGS = "/api/estate/building"


@pytest.fixture
def user(client: TestClient) -> TestClient:
    """The same app as a user sees it: a server error is a response, not a raised exception."""
    return TestClient(client.app, raise_server_exceptions=False, headers=client.headers)


def assert_error(response: Any, status: int, code: str) -> list[dict[str, str]]:
    """The response is the contract's error JSON; returns its details."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert all(set(d) >= {"path", "message"} for d in body["error"]["details"])
    return body["error"]["details"]


def test_health_names_the_published_version(client: TestClient) -> None:
    assert client.get("/-/health").json() == {"status": "ok", "definitions_version": 1}


def test_create_answers_201_with_location_and_etag(client: TestClient) -> None:
    response = client.post(UNITS, json={"code": "A-1", "rent": "111.80"})

    assert response.status_code == 201
    record = response.json()
    assert response.headers["location"] == f"{UNITS}/{record['id']}"
    assert response.headers["etag"] == '"1"'
    assert record["rent"] == "111.80"
    assert record["created_at"].endswith("+00:00")


def test_location_serves_the_created_record(client: TestClient) -> None:
    created = client.post(UNITS, json={"code": "A-1", "checked_at": "2024-05-01T08:00:00+08:00"})

    response = client.get(created.headers["location"])

    assert response.status_code == 200
    assert response.json() == created.json()
    assert response.json()["checked_at"] == "2024-05-01T00:00:00+00:00"
    assert response.headers["etag"] == '"1"'


def test_patch_with_current_etag_answers_200_and_a_new_etag(client: TestClient) -> None:
    created = client.post(UNITS, json={"code": "A-1"})

    response = client.patch(
        created.headers["location"],
        json={"floor": 4},
        headers={"If-Match": created.headers["etag"]},
    )

    assert response.status_code == 200
    assert response.json()["floor"] == 4
    assert response.headers["etag"] == '"2"'


def test_patch_with_stale_etag_answers_412(client: TestClient) -> None:
    location = client.post(UNITS, json={"code": "A-1"}).headers["location"]
    client.patch(location, json={"floor": 1})

    response = client.patch(location, json={"floor": 9}, headers={"If-Match": '"1"'})

    assert_error(response, 412, "precondition_failed")
    assert client.get(location).json()["floor"] == 1


def test_if_match_that_is_not_a_version_answers_400(client: TestClient) -> None:
    location = client.post(UNITS, json={"code": "A-1"}).headers["location"]

    details = assert_error(
        client.patch(location, json={}, headers={"If-Match": "abc"}), 400, "bad_request"
    )

    assert details[0]["path"] == "If-Match"


def test_delete_answers_204_then_404(client: TestClient) -> None:
    location = client.post(UNITS, json={"code": "A-1"}).headers["location"]

    response = client.delete(location)

    assert (response.status_code, response.content) == (204, b"")
    assert_error(client.get(location), 404, "not_found")


def test_invalid_record_answers_422_with_every_field(client: TestClient) -> None:
    response = client.post(UNITS, json={"code": "lower", "floor": 99, "status": "sold"})

    details = assert_error(response, 422, "validation_error")
    assert sorted(d["path"] for d in details) == ["code", "floor", "status"]


def test_duplicate_answers_409_naming_the_field(client: TestClient) -> None:
    client.post(UNITS, json={"code": "A-1"})

    details = assert_error(client.post(UNITS, json={"code": "A-1"}), 409, "conflict")

    assert [d["path"] for d in details] == ["code"]


def test_reference_to_missing_record_answers_422(client: TestClient) -> None:
    details = assert_error(
        client.post(UNITS, json={"code": "A-1", "building": 7}), 422, "validation_error"
    )

    assert [d["path"] for d in details] == ["building"]


def test_delete_of_a_referred_record_answers_409(client: TestClient) -> None:
    building = client.post(BUILDINGS, json={"name": "Tower"}).json()
    client.post(UNITS, json={"code": "A-1", "building": building["id"]})

    details = assert_error(client.delete(f"{BUILDINGS}/{building['id']}"), 409, "conflict")

    assert [d["path"] for d in details] == ["estate.unit.building"]


def test_delete_of_a_record_with_set_null_referrers_answers_204(client: TestClient) -> None:
    unit = client.post(UNITS, json={"code": "A-1"}).json()
    inspection = client.post("/api/estate/inspection", json={"unit": unit["id"]}).json()

    assert client.delete(f"{UNITS}/{unit['id']}").status_code == 204
    assert client.get(f"/api/estate/inspection/{inspection['id']}").json()["unit"] is None


MALFORMED_BODIES = {
    "broken JSON": b'{"code": ',
    "empty body": b"",
    "array": b'[{"code": "A-1"}]',
    "null": b"null",
    "not UTF-8": b"\xff\xfe{}",
    "form encoded": b"code=A-1",
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
@pytest.mark.parametrize("method", ["post", "patch"])
def test_malformed_body_answers_json_error(user: TestClient, body: bytes, method: str) -> None:
    location = user.post(UNITS, json={"code": "A-1"}).headers["location"]
    url = UNITS if method == "post" else location

    response = user.request(
        method.upper(), url, content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code in (400, 422)
    assert_error(response, response.status_code, response.json()["error"]["code"])
    assert "Traceback" not in response.text


@pytest.mark.parametrize("url", ["/api/estate/lease", "/api/nowhere/unit", "/api/estate/lease/1"])
def test_unknown_entity_answers_404(client: TestClient, url: str) -> None:
    assert_error(client.get(url), 404, "not_found")


@pytest.mark.parametrize(
    "record_id", ["abc", "-1", "1.5", "%C2%B2", "99999999999999999999999"],
    ids=["letters", "negative", "fraction", "superscript two", "beyond bigint"],
)  # fmt: skip
def test_impossible_record_id_answers_404(user: TestClient, record_id: str) -> None:
    assert_error(user.get(f"{UNITS}/{record_id}"), 404, "not_found")


BEYOND_STORAGE = {
    "reference beyond 64 bits": ("post", {"code": "A-1", "building": 10**20}),
    "datetime before year 1 in UTC": (
        "post",
        {"code": "A-1", "checked_at": "0001-01-01T00:00+08:00"},
    ),
    "integer filter beyond 64 bits": ("get", {"floor": str(10**20)}),
    "id list beyond 64 bits": ("get", {"id__in": f"1,{10**20}"}),
}


@pytest.mark.parametrize(("method", "data"), BEYOND_STORAGE.values(), ids=BEYOND_STORAGE.keys())
def test_values_the_database_cannot_hold_answer_422(
    user: TestClient, method: str, data: dict[str, Any]
) -> None:
    response = user.post(UNITS, json=data) if method == "post" else user.get(UNITS, params=data)

    assert_error(response, 422, "validation_error")


def test_missing_record_answers_404(client: TestClient) -> None:
    assert_error(client.get(f"{UNITS}/12345"), 404, "not_found")
    assert_error(client.patch(f"{UNITS}/12345", json={"floor": 1}), 404, "not_found")
    assert_error(client.delete(f"{UNITS}/12345"), 404, "not_found")


def test_unknown_url_and_method_answer_json(client: TestClient) -> None:
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.put(UNITS), 405, "method_not_allowed")


def test_list_answers_items_cursor_and_count(client: TestClient) -> None:
    for n in range(3):
        client.post(UNITS, json={"code": f"A-{n}", "floor": n})

    first = client.get(UNITS, params={"limit": 2, "sort": "-floor"}).json()
    rest = client.get(UNITS, params={"limit": 2, "sort": "-floor", "cursor": first["next_cursor"]})

    assert set(first) == {"items", "next_cursor", "count"}
    assert [u["code"] for u in first["items"]] == ["A-2", "A-1"]
    assert first["count"] == 3
    assert rest.json()["items"][0]["code"] == "A-0"
    assert rest.json()["next_cursor"] is None


def test_bad_list_parameters_answer_422(client: TestClient) -> None:
    details = assert_error(
        client.get(UNITS, params={"floor__gt": "high", "sort": "x"}), 422, "validation_error"
    )

    assert [d["path"] for d in details] == ["floor__gt", "sort"]


def test_cursor_for_another_sort_answers_400(client: TestClient) -> None:
    for n in range(3):
        client.post(UNITS, json={"code": f"A-{n}"})
    cursor = client.get(UNITS, params={"limit": 1}).json()["next_cursor"]

    assert_error(client.get(UNITS, params={"sort": "-code", "cursor": cursor}), 400, "bad_request")


def test_openapi_document_is_valid(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    validate(document)
    assert "/api/estate/unit/{id}" in document["paths"]
    assert "rent" in document["components"]["schemas"]["EstateUnit"]["properties"]


def upload(client: TestClient, data: bytes, name: str = "plan.png", kind: str = "image/png") -> Any:
    return client.post("/api/files", files={"file": (name, data, kind)})


def test_uploaded_file_can_be_attached_and_downloaded(client: TestClient) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

    uploaded = upload(client, data)

    assert uploaded.status_code == 201
    info = uploaded.json()
    assert info["name"] == "plan.png"
    assert (info["size"], info["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    unit = client.post(UNITS, json={"code": "A-1", "photo": info["id"]})
    assert unit.status_code == 201
    assert unit.json()["photo"] == info["id"]
    download = client.get(f"/api/files/{info['id']}")
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/png"


def test_record_with_an_unknown_file_answers_422(client: TestClient) -> None:
    details = assert_error(
        client.post(UNITS, json={"code": "A-1", "photo": "0" * 32}), 422, "validation_error"
    )

    assert [d["path"] for d in details] == ["photo"]


def test_upload_without_a_file_field_answers_422(client: TestClient) -> None:
    response = client.post("/api/files", data={"name": "plan.png"})

    assert [d["path"] for d in assert_error(response, 422, "validation_error")] == ["file"]


def test_unknown_file_answers_404(client: TestClient) -> None:
    assert_error(client.get(f"/api/files/{'0' * 32}"), 404, "not_found")


@pytest.mark.parametrize("operator", ["contains", "startswith"])
def test_text_filters_ignore_case_on_every_database(client: TestClient, operator: str) -> None:
    for code, notes in (("A-1", "Boiler room"), ("B-2", "boiler checked"), ("C-3", "roof")):
        assert client.post(UNITS, json={"code": code, "notes": notes}).status_code == 201
    response = client.get(UNITS, params={f"notes__{operator}": "bOILER", "sort": "code"})
    assert [item["code"] for item in response.json()["items"]] == ["A-1", "B-2"]
