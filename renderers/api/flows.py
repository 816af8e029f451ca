"""Flows over HTTP: taking transitions, a record's flow view and timeline, the inbox of
tasks with claiming, and in-app messages."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine.database import write_transaction
from engine.errors import NotFound
from engine.flows.choices import flow_view
from engine.flows.inbox import claim_task, list_inbox, release_task
from engine.flows.messages import list_messages, mark_read
from engine.flows.services import FlowServices
from engine.flows.transitions import take_transition
from engine.runtime import Runtime
from renderers.api.requests import (
    entity_of,
    language_of,
    read_json_object,
    record_id_of,
    signed_in,
)
from renderers.api.responses import JSON

INBOX_FILTERS = ("app", "entity", "state", "step", "claimed")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def transition(request: Request) -> Response:
    """`POST /api/{app}/{entity}/{id}/transitions/{name}` with the comment and fields."""
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    record_id = record_id_of(request)
    body = await read_json_object(request)
    record = await run_in_threadpool(
        take_transition,
        runtime.engine,
        entity,
        record_id,
        request.path_params["name"],
        body,
        signed_in(request),
        language_of(request),
        request.headers.get("if-match"),
    )
    return JSON(record, headers={"ETag": f'"{record["row_version"]}"'})


async def record_flow(request: Request) -> Response:
    """`GET /api/{app}/{entity}/{id}/flow`: state, the caller's transitions, tasks, timers and
    the timeline."""
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    record_id = record_id_of(request)
    principal = signed_in(request)

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return flow_view(conn, entity, record_id, principal, language_of(request))

    return JSON(await run_in_threadpool(run))


async def inbox(request: Request) -> Response:
    """`GET /api/inbox?app=&entity=&state=&step=&claimed=me|none&limit=&cursor=`."""
    runtime = _runtime(request)
    principal = signed_in(request)
    params = request.query_params
    filters = {name: params[name] for name in INBOX_FILTERS if params.get(name)}
    limit = min(_number(params.get("limit"), runtime.settings.page_size), 500)
    after = _number(params.get("cursor"), 0) or None

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return list_inbox(conn, principal, filters, limit, after)

    return JSON(await run_in_threadpool(run))


async def claim(request: Request) -> Response:
    return await _task_change(request, claim=True)


async def release(request: Request) -> Response:
    return await _task_change(request, claim=False)


async def _task_change(request: Request, claim: bool) -> Response:
    runtime = _runtime(request)
    principal = signed_in(request)
    task_id = _task_id(request)
    catalog = runtime.require_catalog()
    now = FlowServices.of_catalog(catalog).now()

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            if claim:
                return claim_task(conn, principal, task_id, now)
            return release_task(conn, principal, task_id)

    return JSON(await run_in_threadpool(run))


async def messages(request: Request) -> Response:
    """`GET /api/messages?unread=1`: the caller's in-app messages and unread count."""
    runtime = _runtime(request)
    principal = signed_in(request)
    unread = request.query_params.get("unread") in ("1", "true")

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return list_messages(conn, principal.username, unread)

    return JSON(await run_in_threadpool(run))


async def read_message(request: Request) -> Response:
    runtime = _runtime(request)
    principal = signed_in(request)
    message_id = _task_id(request)
    now = FlowServices.of_catalog(runtime.require_catalog()).now()

    def run() -> bool:
        with write_transaction(runtime.engine) as conn:
            return mark_read(conn, principal.username, message_id, now)

    if not await run_in_threadpool(run):
        raise NotFound(f"no unread message {message_id}")
    return Response(status_code=204)


def _task_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise NotFound(f"no task {raw}")
    return int(raw)


def _number(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.isdigit() else default
