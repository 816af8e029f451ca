"""JSON responses and the error shape: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.errors import AnjuError

log = logging.getLogger("anju")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class JSON(Response):
    """JSON via orjson: datetimes in ISO 8601 and decimals as exact strings."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSON:
    return JSON(
        {"error": {"code": code, "message": message, "details": details or []}}, status_code=status
    )


async def anju_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AnjuError)
    return JSON(exc.as_json(), status_code=exc.status)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(
        exc.status_code, HTTP_CODES.get(exc.status_code, "error"), str(exc.detail)
    )


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Log the trace for operators; the client learns only that it failed."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "internal error; the operators can find it in the log"
    )
