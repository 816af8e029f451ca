"""`/api/notifications/...` for administrators: the outbox (the send log of every channel,
addresses masked) and queueing a failed or dead notification again."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine.audit import AuditEvent, append
from engine.database import write_transaction
from engine.errors import NotFound, ValidationFailed, field_error
from engine.notifications import CHANNELS, STATUSES, list_outbox, retry_notification
from engine.runtime import Runtime
from renderers.api.requests import require_roles
from renderers.api.responses import JSON

ADMIN = "admin"
MAX_LIMIT = 500


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def outbox(request: Request) -> Response:
    """`GET /api/notifications/outbox?status=&channel=&cursor=&limit=`: newest first."""
    require_roles(request, ADMIN)
    runtime = _runtime(request)
    params = request.query_params
    status = _choice(params.get("status"), "status", STATUSES)
    channel = _choice(params.get("channel"), "channel", CHANNELS)
    cursor = _number(params.get("cursor"), "cursor")
    limit = _number(params.get("limit"), "limit") or runtime.settings.page_size
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("limit out of range", [field_error("limit", f"1 to {MAX_LIMIT}")])

    def run() -> dict[str, object]:
        with runtime.engine.connect() as conn:
            return list_outbox(conn, status, channel, cursor, limit)

    return JSON(await run_in_threadpool(run))


async def retry(request: Request) -> Response:
    """`POST /api/notifications/outbox/{id}/retry`: a failed or dead row queued again (409
    for any other status); audited."""
    principal = require_roles(request, ADMIN)
    runtime = _runtime(request)
    raw = request.path_params["id"]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise NotFound(f"no notification {raw}")
    outbox_id = int(raw)

    def run() -> dict[str, object]:
        with write_transaction(runtime.engine) as conn:
            row = retry_notification(conn, runtime, outbox_id)
            detail = {"channel": row["channel"], "recipient": row["recipient"]}
            event = AuditEvent.by(
                principal, "notification.retry", "notification", outbox_id, detail
            )
            append(conn, event, algorithm=runtime.settings.audit_hash)
            return row

    return JSON(await run_in_threadpool(run))


def _choice(raw: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    if not raw:
        return None
    if raw not in allowed:
        message = f"expected one of {', '.join(allowed)}"
        raise ValidationFailed(f"unknown {name}", [field_error(name, message)])
    return raw


def _number(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise ValidationFailed(f"{name} must be a number", [field_error(name, "expected a number")])
    return int(raw)
