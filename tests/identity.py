"""Acting as a given user in tests: create organisations and users through the admin API,
log in, and get a client of the same app that sends that user's bearer token.

    manager = client_as(client, "zhang", "manager", org_id=district["id"])
    assert manager.get("/api/estate/unit").status_code == 200
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.databases import ADMIN_PASSWORD

USER_PASSWORD = "Tenant-Pass-2026"  # meets both password policies


def token_for(client: TestClient, username: str, password: str = USER_PASSWORD) -> str:
    response = client.post("/api/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def authorize(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Make `client` send the user's bearer token from now on."""
    client.headers["Authorization"] = f"Bearer {token_for(client, username, password)}"


def login(
    client: TestClient, username: str, password: str = USER_PASSWORD, raise_errors: bool = True
) -> TestClient:
    """Another client of the same app, acting as `username` (the app is already started);
    `raise_errors=False` makes a server error a response, as a user would see it."""
    other = TestClient(client.app, raise_server_exceptions=raise_errors)
    authorize(other, username, password)
    return other


def anonymous(client: TestClient) -> TestClient:
    """A client of the same app without credentials; server errors are responses."""
    return TestClient(client.app, raise_server_exceptions=False)


def create_org(
    admin: TestClient,
    code: str,
    kind: str = "district",
    parent_id: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    body = {"code": code, "name": name or code, "kind": kind, "parent_id": parent_id}
    response = admin.post("/api/auth/orgs", json=body)
    assert response.status_code == 201, response.text
    org: dict[str, Any] = response.json()
    return org


def create_user(
    admin: TestClient,
    username: str,
    *roles: str | dict[str, Any],
    org_id: int | None = None,
    password: str = USER_PASSWORD,
    **extra: Any,
) -> dict[str, Any]:
    """A user with `roles` (names, or `{"role", "org_id"}` for a role in another org)."""
    grants = [{"role": r} if isinstance(r, str) else r for r in roles]
    body = {"username": username, "password": password, "org_id": org_id, "roles": grants}
    response = admin.post("/api/auth/users", json={**body, **extra})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def client_as(
    admin: TestClient,
    username: str,
    *roles: str | dict[str, Any],
    org_id: int | None = None,
) -> TestClient:
    """Create the user with `roles` in `org_id` and return a client logged in as them."""
    create_user(admin, username, *roles, org_id=org_id)
    return login(admin, username)
