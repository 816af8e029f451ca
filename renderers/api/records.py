"""`/api/{app}/{entity}` and `/api/{app}/{entity}/{id}`: the CRUD API of every entity."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine import records
from engine.database import read_mostly
from engine.permissions import access_for
from engine.runtime import Runtime
from renderers.api.requests import (
    entity_of,
    language_of,
    principal_of,
    read_body,
    record_id_of,
)
from renderers.api.responses import JSON


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def list_records(request: Request) -> Response:
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    settings = runtime.settings
    principal = principal_of(request)
    query = records.parse_list_query(
        entity,
        request.query_params.multi_items(),
        settings.page_size,
        settings.max_page_size,
        access_for(entity, principal),
    )

    def run() -> records.Page:
        return read_mostly(
            runtime.engine,
            lambda conn: records.list_records(conn, entity, query, principal, settings.count_limit),
        )

    page = await run_in_threadpool(run)
    return JSON({"items": page.items, "next_cursor": page.next_cursor, "count": page.count})


async def create_record(request: Request) -> Response:
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    body = await read_body(request)
    record = await run_in_threadpool(
        records.create_record,
        runtime.engine,
        entity,
        body,
        principal_of(request),
        language_of(request),
    )
    location = f"/api/{entity.app}/{entity.name}/{record['id']}"
    return JSON(record, status_code=201, headers={"Location": location, "ETag": _etag(record)})


async def get_record(request: Request) -> Response:
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    record_id = record_id_of(request)

    def run() -> dict:
        return read_mostly(
            runtime.engine,
            lambda conn: records.get_record(conn, entity, record_id, principal_of(request)),
        )

    record = await run_in_threadpool(run)
    return JSON(record, headers={"ETag": _etag(record)})


async def update_record(request: Request) -> Response:
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    record_id = record_id_of(request)
    body = await read_body(request)
    record = await run_in_threadpool(
        records.update_record,
        runtime.engine,
        entity,
        record_id,
        body,
        principal_of(request),
        request.headers.get("if-match"),
        language_of(request),
    )
    return JSON(record, headers={"ETag": _etag(record)})


async def delete_record(request: Request) -> Response:
    runtime = _runtime(request)
    entity = entity_of(runtime.require_catalog(), request)
    record_id = record_id_of(request)
    await run_in_threadpool(
        records.delete_record,
        runtime.engine,
        entity,
        record_id,
        principal_of(request),
        request.headers.get("if-match"),
    )
    return Response(status_code=204)


def _etag(record: dict) -> str:
    return f'"{record["row_version"]}"'
