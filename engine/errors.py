"""Errors users can act on, each with an HTTP status and the JSON shape of the public contract."""

from __future__ import annotations

from typing import Any


class AnjuError(Exception):
    """Base of every error that reaches a client as `{"error": {code, message, details}}`."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(AnjuError):
    status, code = 422, "validation_error"


class Unauthorized(AnjuError):
    """No valid credentials: log in, or send `Authorization: Bearer <token>`."""

    status, code = 401, "unauthorized"


class Forbidden(AnjuError):
    """Known caller, not allowed."""

    status, code = 403, "forbidden"


class NotFound(AnjuError):
    status, code = 404, "not_found"


class Conflict(AnjuError):
    status, code = 409, "conflict"


class PreconditionFailed(AnjuError):
    status, code = 412, "precondition_failed"


class BadRequest(AnjuError):
    status, code = 400, "bad_request"


class PluginFailed(AnjuError):
    """A plugin raised while the platform called it: the write rolls back, the message names
    the plugin and the hook, and the platform goes on serving."""

    status, code = 500, "plugin_error"

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        super().__init__(f"plugin {plugin!r} failed in {hook}: {type(error).__name__}: {error}")
        self.plugin = plugin
        self.hook = hook


def field_error(path: str, message: str) -> dict[str, Any]:
    return {"path": path, "message": message}
