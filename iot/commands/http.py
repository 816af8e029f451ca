"""Commands over HTTP, for people and for devices.

People (bearer token or session): `POST /api/iot/devices/{id}/commands` asks for a command
(201), `GET /api/iot/devices/{id}/commands` lists a device's commands, `GET
/api/iot/commands/{id}` shows one with its events, `POST /api/iot/commands/{id}/cancel`
cancels one not yet sent. Reading needs `read` on the device record, asking and cancelling
`update`; a device out of sight is 404.

Devices (HTTP Basic, code and secret): `GET /api/iot/commands/pending` collects the
commands waiting for the device (marking them sent), `POST /api/iot/commands/replies` answers
them, one reply or `{"replies": [...]}`. See docs/devices-commands.md.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.catalog import Catalog
from engine.database import write_transaction
from engine.errors import BadRequest, Conflict, NotFound, field_error
from engine.flows.transitions import take_transition
from engine.principal import SYSTEM, Principal
from engine.runtime import Runtime
from iot.commands.dispatch import take_pending
from iot.commands.lifecycle import load_command, move
from iot.commands.replies import handle_replies
from iot.commands.service import (
    REQUEST_ENTITY,
    command_history,
    command_view,
    request_command,
    require_device_action,
)
from iot.registry import load_device
from iot.tables import AWAITING_APPROVAL, CANCELLED, QUEUED
from renderers.api.requests import read_json_object, record_id_of, signed_in
from renderers.api.responses import JSON

MAX_LIMIT = 200


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def create_command(request: Request) -> Response:
    """`POST /api/iot/devices/{id}/commands` `{"command", "params"?, "reason"?, "key"?}`."""
    runtime = _runtime(request)
    principal = signed_in(request)
    device_id = record_id_of(request)
    body = await read_json_object(request)
    command = body.get("command")
    if not isinstance(command, str) or not command:
        raise BadRequest("name the command", [field_error("command", "is required")])
    reason, key = body.get("reason"), body.get("key")
    for name, value in (("reason", reason), ("key", key)):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{name} is text", [field_error(name, "must be text")])
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            require_device_action(conn, catalog, principal, device_id, "read")
            device = load_device(conn, catalog, device_id)
            return request_command(
                conn,
                runtime,
                catalog,
                principal,
                device,
                command,
                body.get("params"),
                reason=reason,
                key=f"user:{principal.username}:{key}" if key else None,
            )

    return JSON(await run_in_threadpool(run), status_code=201)


async def device_commands(request: Request) -> Response:
    """`GET /api/iot/devices/{id}/commands?limit=&before=`: newest first, with events."""
    runtime = _runtime(request)
    principal = signed_in(request)
    device_id = record_id_of(request)
    limit = _number(request.query_params.get("limit"), "limit") or 50
    before = _number(request.query_params.get("before"), "before")
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            require_device_action(conn, catalog, principal, device_id, "read")
            items = command_history(conn, device_id, min(limit, MAX_LIMIT), before)
        more = len(items) == min(limit, MAX_LIMIT)
        return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}

    return JSON(await run_in_threadpool(run))


async def command_detail(request: Request) -> Response:
    """`GET /api/iot/commands/{id}`: the command and its events."""
    runtime = _runtime(request)
    principal = signed_in(request)
    command_id = record_id_of(request)
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            _visible(conn, catalog, principal, command_id, "read")
            return command_view(conn, command_id)

    return JSON(await run_in_threadpool(run))


async def cancel_command(request: Request) -> Response:
    """`POST /api/iot/commands/{id}/cancel`: a command still queued or awaiting approval;
    409 once it has gone to the device or is final."""
    runtime = _runtime(request)
    principal = signed_in(request)
    command_id = record_id_of(request)
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            command = _visible(conn, catalog, principal, command_id, "update")
            if command["status"] == QUEUED:
                detail = {"cancelled_by": principal.username}
                now = runtime.clock.now()
                if move(conn, catalog, command, CANCELLED, principal.username, now, None, detail):
                    return command_view(conn, command_id)
                command = load_command(conn, command_id) or command
            if command["status"] != AWAITING_APPROVAL:
                raise Conflict(
                    f"command {command_id} is {command['status']}: it cannot be cancelled"
                )
        _withdraw(runtime, catalog, command, principal)
        with runtime.engine.connect() as conn:
            return command_view(conn, command_id)

    return JSON(await run_in_threadpool(run))


def _withdraw(runtime: Runtime, catalog: Catalog, command: dict[str, Any], by: Principal) -> None:
    """Withdraw the command's approval request (the requester themselves, else the platform
    on the canceller's behalf): the flow action cancels the command with it."""
    entity = catalog.entity(*REQUEST_ENTITY)
    if entity is None:
        raise NotFound("the devices app has no entity command_request")
    actor = by if by.username == command["requested_by"] else SYSTEM
    body = {"comment": f"cancelled by {by.username}"}
    take_transition(runtime.engine, entity, command["approval_id"], "withdraw", body, actor)


def _visible(
    conn: Any, catalog: Catalog, principal: Principal, command_id: int, action: str
) -> dict[str, Any]:
    command = load_command(conn, command_id)
    if command is None:
        raise NotFound(f"no command {command_id}")
    try:
        require_device_action(conn, catalog, principal, command["device_id"], action)
    except NotFound:
        raise NotFound(f"no command {command_id}") from None
    return command


async def pending_commands(request: Request) -> Response:
    """`GET /api/iot/commands/pending` (device): `{"commands": [...]}`, each as the device's
    driver encodes it, now marked sent over HTTP."""
    from iot.auth import device_of

    runtime = _runtime(request)
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        device = device_of(request)
        with write_transaction(runtime.engine) as conn:
            taken = take_pending(conn, runtime, catalog, device, runtime.clock.now())
        return {"commands": taken}

    return JSON(await run_in_threadpool(run))


async def command_replies(request: Request) -> Response:
    """`POST /api/iot/commands/replies` (device): one reply `{"id", "status", "result"?,
    "error"?}` or `{"replies": [...]}`; 200 with what each did, 422 when none applied."""
    from iot.auth import device_of

    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    body = await read_json_object(request)

    def run() -> dict[str, Any]:
        device = device_of(request)
        return handle_replies(runtime, catalog, device, body, "http")

    return JSON(await run_in_threadpool(run))


def _number(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"{name} is a positive integer", [field_error(name, "must be a number")])
    return int(raw)


ROUTES: list[BaseRoute] = [
    Route("/api/iot/commands/pending", pending_commands, methods=["GET"]),
    Route("/api/iot/commands/replies", command_replies, methods=["POST"]),
    Route("/api/iot/commands/{id}", command_detail, methods=["GET"]),
    Route("/api/iot/commands/{id}/cancel", cancel_command, methods=["POST"]),
    Route("/api/iot/devices/{id}/commands", create_command, methods=["POST"]),
    Route("/api/iot/devices/{id}/commands", device_commands, methods=["GET"]),
]
