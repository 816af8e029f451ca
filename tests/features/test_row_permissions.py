"""Row scopes and field rules end to end over HTTP, with real logins: organisations created by
the administrator, records placed in them, a street officer seeing its street only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from engine.settings import Settings
from renderers.app import create_app
from tests.definitions import write_folder
from tests.engine.test_permissions import secured_folder
from tests.identity import authorize, client_as, create_org

BUILDINGS = "/api/estate/building"


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:
    write_folder(settings.apps_config, secured_folder())
    with TestClient(create_app(settings)) as client:
        authorize(client)
        yield client


@pytest.fixture
def street(admin: TestClient) -> TestClient:
    district = create_org(admin, "430102")
    street = create_org(admin, "430102001", kind="street", parent_id=district["id"])
    for name, code in (("north", "430102001"), ("east", "430102002"), ("west", "430103001")):
        body = {"name": name, "street_code": code, "owner_id": "110105199001011234"}
        assert admin.post(BUILDINGS, json=body).status_code == 201
    return client_as(admin, "li", "street_officer", org_id=street["id"])


def ids(client: TestClient) -> dict[str, int]:
    return {item["name"]: item["id"] for item in client.get(BUILDINGS).json()["items"]}


def test_a_new_organisation_gathers_the_records_that_name_it(admin: TestClient) -> None:
    admin.post(BUILDINGS, json={"name": "early", "street_code": "430109001"})
    [early] = admin.get(BUILDINGS).json()["items"]
    assert early["org_id"] is None
    org = create_org(admin, "430109001", kind="street")
    assert admin.get(f"{BUILDINGS}/{early['id']}").json()["org_id"] == org["id"]


def test_a_street_officer_sees_its_street_and_nothing_else(
    admin: TestClient, street: TestClient
) -> None:
    everything = ids(admin)
    page = street.get(BUILDINGS).json()
    assert [item["name"] for item in page["items"]] == ["north"]
    assert page["count"] == 1
    assert page["items"][0]["owner_id"] == "110105********1234"
    outside = street.get(f"{BUILDINGS}/{everything['east']}")
    assert outside.status_code == 404
    assert outside.json()["error"]["code"] == "not_found"
    refused = street.patch(f"{BUILDINGS}/{everything['north']}", json={"name": "renamed"})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == [
        {"path": "name", "message": "your roles may not set this field"}
    ]
    assert street.get(f"{BUILDINGS}?sort=notes").status_code == 422
    assert street.get("/api/estate/unit").status_code == 403


def test_me_lists_what_the_user_may_open(street: TestClient) -> None:
    me = street.get("/api/auth/me").json()
    [estate] = me["menus"]
    assert [(e["name"], e["actions"]) for e in estate["entities"]] == [
        ("building", ["read", "update"])
    ]


def test_access_is_explained_to_the_user_and_to_an_auditor(
    admin: TestClient, street: TestClient
) -> None:
    everything = ids(admin)
    mine = street.get(f"{BUILDINGS}/{everything['north']}/access").json()
    assert mine["actions"]["read"]["reason"] == "granted by street_officer (org_subtree)"
    assert street.get(f"{BUILDINGS}/{everything['east']}/access").status_code == 404
    assert street.get(f"{BUILDINGS}/{everything['east']}/access?user=admin").status_code == 403
    auditor = client_as(admin, "audit", "auditor")
    theirs = auditor.get(f"{BUILDINGS}/{everything['east']}/access?user=li").json()
    assert theirs["actions"]["read"]["allowed"] is False
    assert "outside the scope" in theirs["actions"]["read"]["reason"]
    assert auditor.get(f"{BUILDINGS}/1/access?user=nobody").status_code == 404


def test_a_form_is_evaluated_only_for_those_who_may_fill_it(
    admin: TestClient, street: TestClient
) -> None:
    path = "/api/meta/forms/estate/unit/state"
    assert street.post(path, json={}).status_code == 403  # no grant on units
    assert admin.post(path, json={}).status_code == 200
