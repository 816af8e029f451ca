"""Reading request bodies and path parameters, with errors in the contract's shape."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from engine.catalog import Catalog, CompiledEntity
from engine.errors import AnjuError, BadRequest, Forbidden, NotFound, Unauthorized, field_error
from engine.principal import ANONYMOUS, Principal

MAX_BODY = 10 * 1024 * 1024


class TooLarge(AnjuError):
    status, code = 413, "too_large"


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
    return body


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed JSON", [field_error("", str(exc))]) from None
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object", [field_error("", "expected a JSON object")])
    return data


def principal_of(request: Request) -> Principal:
    """The caller, as the authentication middleware found it (anonymous without credentials)."""
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    return principal


def signed_in(request: Request) -> Principal:
    """The caller if logged in; else 401."""
    principal = principal_of(request)
    if not principal.is_authenticated:
        raise Unauthorized("log in first")
    return principal


def require_roles(request: Request, *roles: str) -> Principal:
    """The caller if they hold one of `roles` (admin always does); else 401 or 403."""
    principal = signed_in(request)
    if principal.is_superuser or not set(roles).isdisjoint(principal.roles):
        return principal
    raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")


def language_of(request: Request) -> str:
    """`en` when the client prefers English (Accept-Language), else Chinese, the default."""
    preferred = request.headers.get("accept-language", "").strip().lower()
    return "en" if preferred.startswith("en") else "zh"


def entity_of(catalog: Catalog, request: Request) -> CompiledEntity:
    app, name = request.path_params["app"], request.path_params["entity"]
    entity = catalog.entity(app, name)
    if entity is None:
        raise NotFound(f"no entity {app}/{name}")
    return entity


def record_id_of(request: Request) -> int:
    raw = request.path_params["id"]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise NotFound(f"no record {raw}")
    return int(raw)
