"""`/api/auth/...` for every user: log in for a token, log out, who am I, change my password."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from engine.audit import AuditEvent
from engine.auth.login import Attempt, authenticate, change_password
from engine.auth.realm import Realm
from engine.auth.sessions import COOKIE_NAME, end_session
from engine.auth.tokens import AccessToken, issue_token, revoke_token
from engine.auth.users import get_user
from engine.database import write_transaction
from engine.errors import BadRequest, Unauthorized, field_error
from engine.principal import Principal
from renderers.api.bodies import read_model
from renderers.api.requests import language_of, principal_of
from renderers.api.responses import JSON
from renderers.authentication import password_work, session_of, token_of

NO_STORE = {"Cache-Control": "no-store"}
Secret = Annotated[str, Field(min_length=1, max_length=1024)]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Secret


class PasswordChange(BaseModel):
    """With a token or session, `username` may be left out; without, it names the account
    (how a user whose password expired changes it before logging in)."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    current_password: Secret
    new_password: Secret


def realm_of(request: Request) -> Realm:
    realm: Realm = request.app.state.realm
    return realm


def attempt_of(request: Request, username: str, password: str, method: str) -> Attempt:
    return Attempt(
        username=username,
        password=password,
        address=principal_of(request).address,
        user_agent=request.headers.get("user-agent"),
        method=method,
    )


def issue(realm: Realm, user_id: int, username: str) -> AccessToken:
    minutes = realm.settings.access_token_minutes
    return issue_token(realm.keys(), user_id, username, minutes)


async def token(request: Request) -> Response:
    """`POST /api/auth/token`: `{"username","password"}` → a bearer token."""
    body = await read_model(request, TokenRequest)
    realm = realm_of(request)
    attempt = attempt_of(request, body.username, body.password, "token")

    def run() -> AccessToken:
        user = authenticate(realm, attempt)
        return issue(realm, user.user_id, user.username)

    issued = await password_work(request).run(run)
    return JSON(issued.as_json(), headers=NO_STORE)


async def logout(request: Request) -> Response:
    """`POST /api/auth/logout`: the bearer token, or the session, stops working."""
    realm, principal = realm_of(request), principal_of(request)
    claims, session = token_of(request), session_of(request)

    def run() -> None:
        with write_transaction(realm.engine) as conn:
            if claims is not None:
                revoke_token(conn, claims)
            if session is not None:
                end_session(conn, session.session_id)
            realm.audit(conn, _event(principal, "auth.logout", "token" if claims else "session"))

    await anyio.to_thread.run_sync(run)
    response = Response(status_code=204)
    if session is not None:
        response.delete_cookie(COOKIE_NAME, path="/", secure=realm.settings.secure_cookies)
    return response


async def me(request: Request) -> Response:
    """`GET /api/auth/me`: the user, their roles and organisation, and what they may open."""
    from engine.permissions.menus import menus_for

    realm, principal = realm_of(request), principal_of(request)
    if principal.user_id is None:
        raise Unauthorized("log in first")
    user_id = principal.user_id

    def run() -> dict[str, Any]:
        with realm.engine.connect() as conn:
            return get_user(conn, user_id, realm.policy)

    user = await anyio.to_thread.run_sync(run)
    catalog = request.app.state.runtime.require_catalog()
    assignments = [
        {"role": a.role, "org": None if a.org_id is None else {"id": a.org_id, "code": a.org_code}}
        for a in principal.assignments
    ]
    expires_at = user["password_expires_at"]
    return JSON(
        {
            "user": {k: user[k] for k in ("id", "username", "display_name")},
            "roles": list(principal.roles),
            "assignments": assignments,
            "organisation": user["org"],
            "password_expires_at": expires_at,
            "menus": menus_for(catalog, principal, language_of(request)),
        }
    )


async def password(request: Request) -> Response:
    """`POST /api/auth/password`: change one's own password with the current one; answers a
    fresh token, since every token issued before stops working."""
    body = await read_model(request, PasswordChange)
    realm, principal = realm_of(request), principal_of(request)
    if principal.user_id is not None:
        if body.username is not None and body.username != principal.username:
            raise BadRequest(
                "you can change only your own password",
                [field_error("username", "is not the logged-in user")],
            )
        username = principal.username
    elif body.username is None:
        raise Unauthorized("log in, or send your username with the current password")
    else:
        username = body.username
    attempt = attempt_of(request, username, body.current_password, "password")
    session = session_of(request)
    keep = session.session_id if session else None

    def run() -> AccessToken:
        user = change_password(realm, attempt, body.new_password, keep_session=keep)
        return issue(realm, user.user_id, user.username)

    issued = await password_work(request).run(run)
    return JSON({"changed": True, **issued.as_json()}, headers=NO_STORE)


def _event(principal: Principal, action: str, method: str) -> AuditEvent:
    return AuditEvent.by(principal, action, "user", principal.user_id, {"method": method})
