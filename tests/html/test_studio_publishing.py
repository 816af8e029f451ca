"""The studio over HTTP: publishing the draft, what a publish serves at once, history,
rollback, discarding the draft, and what an auditor may do (look, never change)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.definitions import to_yaml
from tests.html.browsing import Browser, browse
from tests.identity import USER_PASSWORD, create_user

UNIT = "/studio/estate/entity/unit"


def add_deposit(page: Browser) -> None:
    form = {
        "name": "deposit",
        "type": "decimal",
        "label_zh": "押金",
        "forms": "unit",
        "in_list": "1",
    }
    assert page.post(f"{UNIT}/fields", form).status_code == 303


def versions(client: TestClient) -> list[dict]:
    return client.get("/api/meta/versions").json()


def test_publish_with_a_message_makes_a_version_and_serves_the_field_at_once(
    client: TestClient,
) -> None:
    page = browse(client)
    created = client.post("/api/estate/unit", json={"code": "A-1"})
    assert created.status_code == 201, created.text
    add_deposit(page)

    response = page.post("/studio/publish", {"message": "押金字段"})

    assert response.status_code == 303
    assert response.headers["location"] == "/studio?published=2"
    notice = page.get(response.headers["location"]).text
    assert re.search(r'id="notice">已发布版本 2。', notice)
    assert versions(client)[-1]["message"] == "押金字段"
    assert client.get("/api/meta/draft").json() == []
    listed = client.get("/api/estate/unit").json()["items"]
    assert listed[0]["code"] == "A-1" and "deposit" in listed[0]
    stored = client.post("/api/estate/unit", json={"code": "A-2", "deposit": "1500.00"})
    assert stored.status_code == 201 and stored.json()["deposit"] == "1500.00"
    form = page.get("/estate/unit/new")
    assert form.status_code == 200 and 'id="field-deposit"' in form.text
    records = re.search(r'<table[^>]*id="records".*?</thead>', page.get("/estate/unit").text, re.S)
    assert records and "押金" in records.group(0)


def test_publish_without_a_message_is_refused_beside_the_message(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page)

    response = page.post("/studio/publish", {"message": "  "})

    assert response.status_code == 422
    assert 'id="error-message"' in response.text
    assert len(versions(client)) == 1
    assert client.get("/api/meta/draft").json() != []


def test_publish_with_nothing_in_the_draft_says_so(client: TestClient) -> None:
    page = browse(client)

    response = page.post("/studio/publish", {"message": "nothing"}, params={"lang": "en"})

    assert response.status_code == 422
    assert "Nothing to publish" in response.text
    assert len(versions(client)) == 1


def test_publish_that_would_lose_data_needs_consent(client: TestClient) -> None:
    page = browse(client)
    made = client.post("/api/estate/building", json={"name": "North", "code": "B-1"})
    assert made.status_code == 201
    building = client.get("/api/meta/definitions/estate/entity/building").json()
    building["fields"]["code"] = {"type": "integer"}
    building["search_fields"] = ["name"]  # a number is no search field
    saved = page.post("/studio/estate/entity/building", {"definition": to_yaml(building)})
    assert saved.status_code == 303

    shown = page.get("/studio/diff")
    refused = page.post("/studio/publish", {"message": "codes as numbers"})
    forced = page.post("/studio/publish", {"message": "codes as numbers", "force": "1"})

    assert 'data-severity="data_loss"' in shown.text and 'id="publish-force"' in shown.text
    assert refused.status_code == 422 and 'id="problems"' in refused.text
    assert forced.status_code == 303
    assert len(versions(client)) == 2


def test_history_lists_versions_with_author_message_hash_and_diff_link(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page)
    page.post("/studio/publish", {"message": "押金字段"})

    html = page.get("/studio/history").text

    assert re.findall(r'<li id="version-(\d+)"', html) == ["2", "1"]
    second = re.search(r'<li id="version-2".*?</li>', html, re.S)
    assert second
    assert "押金字段" in second.group(0) and "admin" in second.group(0)
    assert versions(client)[-1]["hash"][:12] in second.group(0)
    assert 'href="/audit/versions/2"' in second.group(0)
    assert 'id="rollback-2"' not in html and 'id="rollback-1"' in html  # the current has none


def test_rollback_publishes_the_old_content_as_a_new_version(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page)
    page.post("/studio/publish", {"message": "押金字段"})

    response = page.post("/studio/rollback", {"version": "1", "message": "撤回押金"})

    assert response.status_code == 303
    assert response.headers["location"] == "/studio?published=3&rolled_back_to=1"
    assert [v["message"] for v in versions(client)][-1] == "撤回押金"
    assert versions(client)[-1]["hash"] == versions(client)[0]["hash"]
    assert "deposit" not in client.get("/api/meta/definitions/estate/entity/unit").json()["fields"]


def test_rollback_without_a_message_is_refused(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page)
    page.post("/studio/publish", {"message": "押金字段"})

    response = page.post("/studio/rollback", {"version": "1", "message": ""})

    assert response.status_code == 422
    assert 'id="error-rollback-1"' in response.text
    assert len(versions(client)) == 2


def test_discarding_the_draft_throws_every_change_away(client: TestClient) -> None:
    page = browse(client)
    add_deposit(page)

    response = page.post("/studio/draft/discard")

    assert response.status_code == 303
    assert client.get("/api/meta/draft").json() == []
    assert "data-change=" not in page.get(response.headers["location"]).text


@pytest.fixture
def auditor(client: TestClient) -> Browser:
    create_user(client, "shen", "auditor")
    return browse(client, "shen", USER_PASSWORD)


@pytest.mark.parametrize(
    "url", ["/studio", UNIT, "/studio/estate/form/unit/preview", "/studio/diff", "/studio/history"]
)
def test_an_auditor_may_look_without_forms_to_change(auditor: Browser, url: str) -> None:
    response = auditor.get(url)

    assert response.status_code == 200
    assert 'id="save-draft"' not in response.text and 'id="publish"' not in response.text
    assert 'id="add-field"' not in response.text


@pytest.mark.parametrize(
    ("url", "form"),
    [
        (UNIT, {"definition": "label: x\n"}),
        (f"{UNIT}/delete", {}),
        (f"{UNIT}/fields", {"name": "deposit", "type": "decimal"}),
        (f"{UNIT}/fields/code", {"label_zh": "编号"}),
        ("/studio/estate/form/unit/move", {"field": "floor", "direction": "up"}),
        ("/studio/publish", {"message": "x"}),
        ("/studio/draft/discard", {}),
        ("/studio/rollback", {"version": "1", "message": "x"}),
    ],
)
def test_an_auditor_is_refused_every_change(
    client: TestClient, auditor: Browser, url: str, form: dict[str, str]
) -> None:
    response = auditor.post(url, form)

    assert response.status_code == 403
    assert "Traceback" not in response.text
    assert client.get("/api/meta/draft").json() == []
    assert len(versions(client)) == 1


def test_a_user_without_studio_roles_is_refused(client: TestClient) -> None:
    create_user(client, "wang", "manager")
    page = browse(client, "wang", USER_PASSWORD)

    assert page.get("/studio").status_code == 403
    assert page.get(UNIT).status_code == 403


def test_a_configurator_adds_a_field_and_publishes(client: TestClient) -> None:
    create_user(client, "zhou", "configurator")
    page = browse(client, "zhou", USER_PASSWORD)
    add_deposit(page)

    response = page.post("/studio/publish", {"message": "押金字段"})

    assert response.status_code == 303
    assert versions(client)[-1]["author"] == "zhou"
    unit = client.get("/api/meta/definitions/estate/entity/unit").json()
    assert "deposit" in unit["fields"] and unit["list_fields"][-1] == "deposit"
