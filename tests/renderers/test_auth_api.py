"""`/api/auth`: tokens, who am I, logout, password changes, and the administration of
organisations, users, roles and the login history — with the contract's error shapes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.databases import ADMIN_PASSWORD
from tests.identity import (
    USER_PASSWORD,
    anonymous,
    client_as,
    create_org,
    create_user,
    login,
    token_for,
)

NEW_PASSWORD = "Tenant-Pass-2027"


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the contract's error JSON with `code`; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return dict(body["error"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def city(client: TestClient) -> dict[str, Any]:
    return create_org(client, "310000", "city", name="上海市")


# --- tokens and the 401 shapes ---------------------------------------------------------


def test_a_token_is_issued_for_good_credentials(client: TestClient) -> None:
    response = anonymous(client).post(
        "/api/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 900)


@pytest.mark.parametrize(
    ("username", "password"), [("admin", "Wrong-Pass-1"), ("nobody", ADMIN_PASSWORD)]
)
def test_bad_credentials_get_one_generic_401(
    client: TestClient, username: str, password: str
) -> None:
    response = anonymous(client).post(
        "/api/auth/token", json={"username": username, "password": password}
    )

    assert error_of(response, 401, "unauthorized")["message"] == "wrong username or password"


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, ["username", "password"]),
        ({"username": "admin"}, ["password"]),
        ({"username": "admin", "password": "x", "remember": True}, ["remember"]),
        ([], [""]),
    ],
)
def test_a_malformed_token_request_is_422_with_paths(
    client: TestClient, body: Any, paths: list[str]
) -> None:
    error = error_of(anonymous(client).post("/api/auth/token", json=body), 422, "validation_error")

    assert [d["path"] for d in error["details"]] == paths


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/estate/unit"),
        ("POST", "/api/estate/unit"),
        ("GET", "/api/auth/me"),
        ("GET", "/api/meta/versions"),
        ("GET", "/openapi.json"),
        ("POST", "/api/auth/logout"),
    ],
)
def test_without_credentials_the_api_answers_401(
    client: TestClient, method: str, path: str
) -> None:
    response = anonymous(client).request(method, path)

    error_of(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_a_bad_bearer_token_answers_401(client: TestClient, token: str) -> None:
    response = anonymous(client).get("/api/estate/unit", headers=bearer(token))

    error_of(response, 401, "unauthorized")


def test_health_needs_no_credentials(client: TestClient) -> None:
    assert anonymous(client).get("/-/health").status_code == 200


def test_openapi_is_served_to_any_user(client: TestClient) -> None:
    tenant = client_as(client, "tenant")

    assert tenant.get("/openapi.json").json()["openapi"] == "3.1.0"


# --- me, logout, password -------------------------------------------------------------


def test_me_describes_the_user(client: TestClient, city: dict[str, Any]) -> None:
    district = create_org(client, "310101", parent_id=city["id"], name="黄浦区")
    manager = client_as(
        client, "zhang", "manager", {"role": "auditor", "org_id": city["id"]}, org_id=district["id"]
    )

    me = manager.get("/api/auth/me").json()

    assert me["user"] == {"id": me["user"]["id"], "username": "zhang", "display_name": "zhang"}
    assert me["roles"] == ["auditor", "manager"]
    assert me["assignments"] == [
        {"role": "auditor", "org": {"id": city["id"], "code": "310000"}},
        {"role": "manager", "org": {"id": district["id"], "code": "310101"}},
    ]
    assert me["organisation"] == {
        "id": district["id"],
        "code": "310101",
        "name": "黄浦区",
        "kind": "district",
    }
    assert me["password_expires_at"] is not None
    assert "menus" in me


def test_logout_revokes_the_token(client: TestClient) -> None:
    token = token_for(client, "admin", ADMIN_PASSWORD)
    other = anonymous(client)

    assert other.post("/api/auth/logout", headers=bearer(token)).status_code == 204

    error_of(other.get("/api/auth/me", headers=bearer(token)), 401, "unauthorized")
    assert client.get("/api/auth/me").status_code == 200  # the fixture's own token lives on


def test_changing_the_password_revokes_earlier_tokens(client: TestClient) -> None:
    create_user(client, "tenant")
    first, second = token_for(client, "tenant"), token_for(client, "tenant")
    other = anonymous(client)

    response = other.post(
        "/api/auth/password",
        json={"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(first),
    )

    assert response.status_code == 200
    assert response.json()["changed"] is True
    for old in (first, second):
        error_of(other.get("/api/auth/me", headers=bearer(old)), 401, "unauthorized")
    assert other.get("/api/auth/me", headers=bearer(response.json()["access_token"])).is_success
    assert token_for(client, "tenant", NEW_PASSWORD)


def test_a_weak_new_password_lists_every_unmet_rule(client: TestClient) -> None:
    tenant = client_as(client, "tenant")

    response = tenant.post(
        "/api/auth/password", json={"current_password": USER_PASSWORD, "new_password": "abc"}
    )

    error = error_of(response, 422, "validation_error")
    assert [(d["path"], d["rule"]) for d in error["details"]] == [
        ("new_password", "min_length"),
        ("new_password", "uppercase"),
        ("new_password", "digit"),
        ("new_password", "symbol"),
    ]


def test_an_expired_password_is_changed_without_a_token(client: TestClient) -> None:
    user = create_user(client, "tenant")
    assert (
        client.post(
            f"/api/auth/users/{user['id']}/password", json={"password": "Temporary-Pass-1"}
        ).status_code
        == 204
    )
    other = anonymous(client)

    refused = other.post(
        "/api/auth/token", json={"username": "tenant", "password": "Temporary-Pass-1"}
    )
    error_of(refused, 403, "password_expired")
    changed = other.post(
        "/api/auth/password",
        json={
            "username": "tenant",
            "current_password": "Temporary-Pass-1",
            "new_password": NEW_PASSWORD,
        },
    )

    assert changed.status_code == 200, changed.text
    assert token_for(client, "tenant", NEW_PASSWORD)


def test_a_password_change_without_token_needs_a_username(client: TestClient) -> None:
    response = anonymous(client).post(
        "/api/auth/password", json={"current_password": "x", "new_password": "y"}
    )

    error_of(response, 401, "unauthorized")


def test_repeated_failures_lock_until_an_admin_unlocks(client: TestClient) -> None:
    user = create_user(client, "tenant")
    other = anonymous(client)
    wrong = {"username": "tenant", "password": "Wrong-Pass-1"}
    for _ in range(4):
        error_of(other.post("/api/auth/token", json=wrong), 401, "unauthorized")

    error_of(other.post("/api/auth/token", json=wrong), 403, "account_locked")
    right = {"username": "tenant", "password": USER_PASSWORD}
    error_of(other.post("/api/auth/token", json=right), 403, "account_locked")
    assert client.get(f"/api/auth/users/{user['id']}").json()["locked"] is True

    unlocked = client.post(f"/api/auth/users/{user['id']}/unlock")

    assert unlocked.json()["locked"] is False
    assert other.post("/api/auth/token", json=right).status_code == 200


# --- organisations ----------------------------------------------------------------------


def test_orgs_form_a_tree_with_materialised_paths(client: TestClient, city: dict[str, Any]) -> None:
    district = create_org(client, "310101", parent_id=city["id"])
    street = create_org(client, "310101001", "street", parent_id=district["id"])

    assert city["path"] == f"/{city['id']}/"
    assert street["path"] == f"/{city['id']}/{district['id']}/{street['id']}/"
    flat = client.get("/api/auth/orgs").json()["items"]
    assert [o["code"] for o in flat] == ["310000", "310101", "310101001"]
    [root] = client.get("/api/auth/orgs", params={"tree": "1"}).json()["items"]
    assert root["code"] == "310000"
    assert root["children"][0]["children"][0]["code"] == "310101001"
    under = client.get("/api/auth/orgs", params={"under": district["id"]}).json()["items"]
    assert [o["code"] for o in under] == ["310101", "310101001"]


def test_moving_an_org_rewrites_its_subtree(client: TestClient, city: dict[str, Any]) -> None:
    other_city = create_org(client, "320000", "city")
    district = create_org(client, "310101", parent_id=city["id"])
    street = create_org(client, "310101001", "street", parent_id=district["id"])
    community = create_org(client, "310101001001", "community", parent_id=street["id"])

    moved = client.patch(f"/api/auth/orgs/{district['id']}", json={"parent_id": other_city["id"]})

    assert moved.status_code == 200
    assert moved.json()["path"] == f"/{other_city['id']}/{district['id']}/"
    community_after = client.get(f"/api/auth/orgs/{community['id']}").json()
    assert community_after["path"] == (
        f"/{other_city['id']}/{district['id']}/{street['id']}/{community['id']}/"
    )
    to_top = client.patch(f"/api/auth/orgs/{district['id']}", json={"parent_id": None})
    assert to_top.json()["path"] == f"/{district['id']}/"
    assert client.get(f"/api/auth/orgs/{street['id']}").json()["path"] == (
        f"/{district['id']}/{street['id']}/"
    )


def test_an_org_cannot_move_under_its_own_subtree(client: TestClient, city: dict[str, Any]) -> None:
    district = create_org(client, "310101", parent_id=city["id"])

    for target in (city["id"], district["id"]):
        response = client.patch(f"/api/auth/orgs/{city['id']}", json={"parent_id": target})
        assert error_of(response, 422, "validation_error")["details"][0]["path"] == "parent_id"


def test_org_changes_are_checked(client: TestClient, city: dict[str, Any]) -> None:
    duplicate = client.post("/api/auth/orgs", json={"code": "310000", "name": "x", "kind": "city"})
    assert error_of(duplicate, 409, "conflict")["details"][0]["path"] == "code"
    orphan = client.post(
        "/api/auth/orgs", json={"code": "X1", "name": "x", "kind": "street", "parent_id": 999}
    )
    assert error_of(orphan, 422, "validation_error")["details"][0]["path"] == "parent_id"
    bad = client.post("/api/auth/orgs", json={"code": "", "name": "x", "kind": "planet", "x": 1})
    paths = [d["path"] for d in error_of(bad, 422, "validation_error")["details"]]
    assert paths == ["code", "kind", "x"]
    error_of(client.get("/api/auth/orgs/999"), 404, "not_found")
    renamed = client.patch(f"/api/auth/orgs/{city['id']}", json={"name": "上海"})
    assert renamed.json()["name"] == "上海"


# --- users and roles --------------------------------------------------------------------


def test_users_are_created_listed_and_filtered(client: TestClient, city: dict[str, Any]) -> None:
    create_user(client, "zhang", "manager", org_id=city["id"], display_name="张三")
    create_user(client, "li", "auditor")

    def names(**params: Any) -> list[str]:
        return [u["username"] for u in client.get("/api/auth/users", params=params).json()["items"]]

    assert names() == ["admin", "li", "zhang"]
    assert names(org_id=city["id"]) == ["zhang"]
    assert names(role="auditor") == ["li"]
    assert names(q="张") == ["zhang"]
    assert names(q="ZHA") == ["zhang"]
    assert names(limit=1, offset=1) == ["li"]
    [zhang] = client.get("/api/auth/users", params={"q": "zhang"}).json()["items"]
    assert zhang["org"]["code"] == "310000"
    assert zhang["roles"] == [{"role": "manager", "org_id": None, "org_code": None}]
    assert "password_hash" not in zhang and "password" not in zhang


def test_user_creation_is_checked(client: TestClient) -> None:
    weak = client.post("/api/auth/users", json={"username": "x", "password": "abc"})
    assert {d["rule"] for d in error_of(weak, 422, "validation_error")["details"]} >= {"min_length"}
    unknown = client.post(
        "/api/auth/users",
        json={"username": "x", "password": USER_PASSWORD, "roles": [{"role": "wizard"}]},
    )
    assert error_of(unknown, 422, "validation_error")["details"][0]["path"] == "roles[0].role"
    bad_name = client.post("/api/auth/users", json={"username": "a b", "password": USER_PASSWORD})
    assert error_of(bad_name, 422, "validation_error")["details"][0]["path"] == "username"
    create_user(client, "tenant")
    taken = client.post("/api/auth/users", json={"username": "tenant", "password": USER_PASSWORD})
    assert error_of(taken, 409, "conflict")["details"][0]["path"] == "username"


def test_deactivating_a_user_ends_their_tokens(client: TestClient) -> None:
    user = create_user(client, "tenant")
    tenant = login(client, "tenant")

    changed = client.patch(f"/api/auth/users/{user['id']}", json={"active": False})

    assert changed.json()["active"] is False
    error_of(tenant.get("/api/auth/me"), 401, "unauthorized")
    refused = anonymous(client).post(
        "/api/auth/token", json={"username": "tenant", "password": USER_PASSWORD}
    )
    error_of(refused, 401, "unauthorized")


def test_roles_are_replaced_and_checked(client: TestClient, city: dict[str, Any]) -> None:
    user = create_user(client, "zhang", "manager")
    old_token = token_for(client, "zhang")
    url = f"/api/auth/users/{user['id']}/roles"

    response = client.put(
        url, json=[{"role": "auditor", "org_id": city["id"]}, {"role": "manager"}]
    )

    assert response.status_code == 200
    assert response.json()["roles"] == [
        {"role": "auditor", "org_id": city["id"], "org_code": "310000"},
        {"role": "manager", "org_id": None, "org_code": None},
    ]
    error_of(anonymous(client).get("/api/auth/me", headers=bearer(old_token)), 401, "unauthorized")
    bad = client.put(url, json=[{"role": "manager"}, {"role": "nope", "org_id": 999}])
    paths = [d["path"] for d in error_of(bad, 422, "validation_error")["details"]]
    assert paths == ["[1].role", "[1].org_id"]
    error_of(client.put(url, json={"role": "manager"}), 422, "validation_error")


def test_a_password_reset_ends_the_users_tokens(client: TestClient) -> None:
    user = create_user(client, "tenant")
    tenant = login(client, "tenant")

    reset = client.post(f"/api/auth/users/{user['id']}/password", json={"password": "weak"})
    error_of(reset, 422, "validation_error")
    assert (
        client.post(
            f"/api/auth/users/{user['id']}/password", json={"password": "Temporary-Pass-1"}
        ).status_code
        == 204
    )

    error_of(tenant.get("/api/auth/me"), 401, "unauthorized")
    assert client.get(f"/api/auth/users/{user['id']}").json()["must_change_password"] is True


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/auth/users", None),
        ("POST", "/api/auth/users", {"username": "x", "password": USER_PASSWORD}),
        ("GET", "/api/auth/orgs", None),
        ("POST", "/api/auth/orgs", {"code": "X", "name": "X", "kind": "city"}),
        ("PUT", "/api/auth/users/1/roles", [{"role": "admin"}]),
        ("POST", "/api/auth/users/1/password", {"password": USER_PASSWORD}),
        ("POST", "/api/auth/users/1/unlock", None),
        ("GET", "/api/auth/logins", None),
    ],
)
def test_administration_is_refused_to_other_users(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    manager = client_as(client, "zhang", "manager")

    error_of(manager.request(method, path, json=body), 403, "forbidden")


# --- login history ----------------------------------------------------------------------


def test_the_login_history_lists_every_attempt(client: TestClient) -> None:
    create_user(client, "tenant")
    other = anonymous(client)
    other.post("/api/auth/token", json={"username": "tenant", "password": "Wrong-Pass-1"})
    other.post("/api/auth/token", json={"username": "ghost", "password": "Wrong-Pass-1"})
    token_for(client, "tenant")
    auditor = client_as(client, "li", "auditor")

    items = auditor.get("/api/auth/logins", params={"limit": 3}).json()["items"]

    assert [(i["username"], i["outcome"], i["method"]) for i in items] == [
        ("li", "ok", "token"),
        ("tenant", "ok", "token"),
        ("ghost", "unknown_user", "token"),
    ]
    assert items[0]["address"] == "testclient"
    failed = auditor.get("/api/auth/logins", params={"outcome": "bad_password"}).json()
    assert [i["username"] for i in failed["items"]] == ["tenant"]
    page = auditor.get("/api/auth/logins", params={"limit": 2}).json()
    rest = auditor.get("/api/auth/logins", params={"before": page["next_before"]}).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [
        i["id"] for i in auditor.get("/api/auth/logins").json()["items"]
    ]
    bad = auditor.get("/api/auth/logins", params={"outcome": "maybe"})
    assert error_of(bad, 422, "validation_error")["details"][0]["path"] == "outcome"


# --- the definitions API is guarded by role --------------------------------------------


def test_meta_reads_need_configurator_or_auditor(client: TestClient) -> None:
    manager = client_as(client, "zhang", "manager")
    auditor = client_as(client, "li", "auditor")

    error_of(manager.get("/api/meta/versions"), 403, "forbidden")
    error_of(manager.get("/api/meta/diff"), 403, "forbidden")
    assert auditor.get("/api/meta/versions").status_code == 200
    assert auditor.get("/api/meta/definitions/estate/entity/unit").status_code == 200
    assert manager.get("/api/meta/apps").status_code == 200


def test_meta_changes_need_a_configurator_who_becomes_the_author(client: TestClient) -> None:
    auditor = client_as(client, "li", "auditor")
    configurator = client_as(client, "wang", "configurator")
    unit = client.get("/api/meta/definitions/estate/entity/unit").json()
    unit["fields"]["deposit"] = {"type": "decimal"}
    url = "/api/meta/definitions/estate/entity/unit"

    error_of(auditor.put(url, json=unit), 403, "forbidden")
    error_of(auditor.post("/api/meta/publish", json={"message": "x"}), 403, "forbidden")
    error_of(auditor.post("/api/meta/dry-run"), 403, "forbidden")
    assert configurator.put(url, json=unit).status_code == 200
    assert configurator.post("/api/meta/dry-run").status_code == 200
    published = configurator.post("/api/meta/publish", json={"message": "Add deposit"})

    assert published.status_code == 200
    assert published.json()["author"] == "wang"
    rollback = auditor.post("/api/meta/rollback", json={"version": 1})
    error_of(rollback, 403, "forbidden")
