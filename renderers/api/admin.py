"""`/api/auth/...` administration (role `admin`): organisations, users, their roles,
password resets and unlocking; the login history for admins and auditors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, RootModel
from starlette.requests import Request
from starlette.responses import Response

from engine.auth.history import OUTCOMES, LoginFilter, list_logins
from engine.auth.organisations import (
    KINDS,
    OrgChange,
    OrgCreate,
    create_org,
    get_org,
    list_orgs,
    org_tree,
    update_org,
)
from engine.auth.roles import RoleGrant, known_roles, set_roles
from engine.auth.users import (
    UserChange,
    UserCreate,
    UserQuery,
    create_user,
    get_user,
    list_users,
    reset_password,
    unlock_user,
    update_user,
)
from engine.database import write_transaction
from engine.errors import NotFound, ValidationFailed, field_error
from engine.records.orgs import assign_all_orgs
from renderers.api.auth import realm_of
from renderers.api.bodies import read_model
from renderers.api.requests import require_roles
from renderers.api.responses import JSON
from renderers.authentication import password_work

ADMIN = "admin"


class RoleList(RootModel[list[RoleGrant]]):
    """`PUT /api/auth/users/{id}/roles`: `[{"role": "...", "org_id": n | null}]`."""


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Field(min_length=1, max_length=1024)]


async def list_organisations(request: Request) -> Response:
    """`?tree=1` nests `children`; `?under=<id>` keeps one subtree; `?kind=` one kind."""
    require_roles(request, ADMIN)
    realm, params = realm_of(request), request.query_params
    under = _int(params.get("under"), "under")
    kind = _choice(params.get("kind"), "kind", KINDS)

    def run() -> list[dict[str, Any]]:
        with realm.engine.connect() as conn:
            return list_orgs(conn, under, kind)

    orgs = await anyio.to_thread.run_sync(run)
    return JSON({"items": org_tree(orgs) if _flag(params.get("tree")) else orgs})


async def create_organisation(request: Request) -> Response:
    principal = require_roles(request, ADMIN)
    body = await read_model(request, OrgCreate)
    org = await anyio.to_thread.run_sync(create_org, realm_of(request), body, principal)
    await anyio.to_thread.run_sync(_place_records, request, True)
    return JSON(org, status_code=201, headers={"Location": f"/api/auth/orgs/{org['id']}"})


def _place_records(request: Request, only_unassigned: bool) -> None:
    """Records whose `org` expression names an organisation's code follow it: a new one
    gathers the records that named it, a recoded one is looked up again everywhere."""
    runtime = request.app.state.runtime
    catalog = runtime.catalog()
    if catalog is not None:
        with write_transaction(runtime.engine) as conn:
            assign_all_orgs(conn, catalog, only_unassigned)


async def get_organisation(request: Request) -> Response:
    require_roles(request, ADMIN)
    realm, org_id = realm_of(request), _id(request)

    def run() -> dict[str, Any]:
        with realm.engine.connect() as conn:
            return get_org(conn, org_id)

    return JSON(await anyio.to_thread.run_sync(run))


async def update_organisation(request: Request) -> Response:
    """Rename, recode, re-kind, (de)activate, or move under another parent with its subtree."""
    principal = require_roles(request, ADMIN)
    org_id = _id(request)
    body = await read_model(request, OrgChange)
    org = await anyio.to_thread.run_sync(update_org, realm_of(request), org_id, body, principal)
    if "code" in body.model_fields_set:
        await anyio.to_thread.run_sync(_place_records, request, False)
    return JSON(org)


async def list_accounts(request: Request) -> Response:
    """`?org_id=`, `?role=`, `?q=` (part of username or display name), `?active=`,
    `?limit=` (1–500, default 100), `?offset=`."""
    require_roles(request, ADMIN)
    realm, params = realm_of(request), request.query_params
    query = UserQuery(
        org_id=_int(params.get("org_id"), "org_id"),
        role=params.get("role") or None,
        q=params.get("q") or None,
        active=None if params.get("active") is None else _flag(params.get("active")),
        limit=_bounded(params.get("limit"), "limit", 100, 1, 500),
        offset=_bounded(params.get("offset"), "offset", 0, 0, 10**9),
    )

    def run() -> list[dict[str, Any]]:
        with realm.engine.connect() as conn:
            return list_users(conn, query, realm.policy)

    return JSON({"items": await anyio.to_thread.run_sync(run)})


async def create_account(request: Request) -> Response:
    principal = require_roles(request, ADMIN)
    body = await read_model(request, UserCreate)
    realm = realm_of(request)
    roles = known_roles(request.app.state.runtime.catalog())
    user = await password_work(request).run(create_user, realm, body, roles, principal)
    return JSON(user, status_code=201, headers={"Location": f"/api/auth/users/{user['id']}"})


async def get_account(request: Request) -> Response:
    require_roles(request, ADMIN)
    realm, user_id = realm_of(request), _id(request)

    def run() -> dict[str, Any]:
        with realm.engine.connect() as conn:
            return get_user(conn, user_id, realm.policy)

    return JSON(await anyio.to_thread.run_sync(run))


async def update_account(request: Request) -> Response:
    """Display name, organisation, active, phone and e-mail (for notifications);
    deactivating ends the user's tokens and sessions."""
    principal = require_roles(request, ADMIN)
    user_id = _id(request)
    body = await read_model(request, UserChange)
    user = await anyio.to_thread.run_sync(update_user, realm_of(request), user_id, body, principal)
    return JSON(user)


async def put_roles(request: Request) -> Response:
    """Replace the user's roles; tokens issued before stop working."""
    principal = require_roles(request, ADMIN)
    user_id = _id(request)
    body = (await read_model(request, RoleList)).root
    roles = known_roles(request.app.state.runtime.catalog())
    realm = realm_of(request)
    after = await anyio.to_thread.run_sync(set_roles, realm, user_id, body, roles, principal)
    return JSON({"roles": after})


async def reset_account_password(request: Request) -> Response:
    """Set a password the user must change at the next login (and end their sessions)."""
    principal = require_roles(request, ADMIN)
    user_id = _id(request)
    body = await read_model(request, PasswordReset)
    realm = realm_of(request)
    await password_work(request).run(reset_password, realm, user_id, body.password, principal)
    return Response(status_code=204)


async def unlock_account(request: Request) -> Response:
    principal = require_roles(request, ADMIN)
    user_id = _id(request)
    user = await anyio.to_thread.run_sync(unlock_user, realm_of(request), user_id, principal)
    return JSON(user)


async def login_history(request: Request) -> Response:
    """`?username=`, `?user_id=`, `?outcome=`, `?address=`, `?since=`/`?until=` (ISO 8601),
    `?before=<id>` for the next page, `?limit=` (1–500, default 100); newest first."""
    require_roles(request, ADMIN, "auditor")
    realm, params = realm_of(request), request.query_params
    where = LoginFilter(
        username=params.get("username") or None,
        user_id=_int(params.get("user_id"), "user_id"),
        outcome=_choice(params.get("outcome"), "outcome", OUTCOMES),
        address=params.get("address") or None,
        since=_when(params.get("since"), "since"),
        until=_when(params.get("until"), "until"),
        before_id=_int(params.get("before"), "before"),
        limit=_bounded(params.get("limit"), "limit", 100, 1, 500),
    )

    def run() -> list[dict[str, Any]]:
        with realm.engine.connect() as conn:
            return list_logins(conn, where)

    items = await anyio.to_thread.run_sync(run)
    full = len(items) == where.limit
    return JSON({"items": items, "next_before": items[-1]["id"] if full else None})


def _id(request: Request) -> int:
    raw = request.path_params["id"]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise NotFound(f"no such id {raw}")
    return int(raw)


def _int(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise ValidationFailed(f"{name} must be a number", [field_error(name, "expected an id")])
    return int(raw)


def _bounded(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    value = _int(raw, name)
    if value is None:
        return default
    if not low <= value <= high:
        raise ValidationFailed(
            f"{name} is out of range", [field_error(name, f"expected {low} to {high}")]
        )
    return value


def _choice(raw: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise ValidationFailed(
            f"unknown {name}", [field_error(name, f"expected one of {', '.join(allowed)}")]
        )
    return raw


def _when(raw: str | None, name: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{name} is not a date", [field_error(name, "expected an ISO 8601 date or time")]
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _flag(raw: str | None) -> bool:
    return raw in ("1", "true", "yes")
