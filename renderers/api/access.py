"""`GET /api/{app}/{entity}/{id}/access`: why a user can or cannot see and change a record."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine.auth.principals import principal_for_user
from engine.auth.users import user_id_of
from engine.errors import Forbidden, NotFound, Unauthorized, field_error
from engine.permissions.explain import explain_access
from renderers.api.requests import entity_of, principal_of, record_id_of
from renderers.api.responses import JSON

EXPLAINERS = ("admin", "auditor")  # may ask about anyone and about records they cannot see


async def explain(request: Request) -> Response:
    """The caller's own access, or with `?user=name` (admin, auditor) another user's."""
    runtime = request.app.state.runtime
    entity = entity_of(runtime.require_catalog(), request)
    record_id = record_id_of(request)
    caller = principal_of(request)
    if not caller.is_authenticated:
        raise Unauthorized("log in first")
    explainer = caller.is_superuser or "auditor" in caller.roles
    username = request.query_params.get("user")
    if username and username != caller.username and not explainer:
        raise Forbidden("only an administrator or an auditor may ask about another user")

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            subject = caller
            if username and username != caller.username:
                user_id = user_id_of(conn, username)
                found = principal_for_user(conn, user_id, None) if user_id else None
                if found is None:
                    raise NotFound("no such user", [field_error("user", f"no user {username!r}")])
                subject = found
            explanation = explain_access(conn, entity, record_id, subject)
        if not explainer and not explanation["actions"]["read"]["allowed"]:
            raise NotFound(f"{entity.path} {record_id} not found")
        return explanation

    return JSON(await run_in_threadpool(run))
