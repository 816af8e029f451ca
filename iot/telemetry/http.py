"""Telemetry over HTTP: devices post readings (Basic auth); people read devices, their state,
time series and refused payloads, and issue device secrets (bearer token or session).
See docs/devices-telemetry.md."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.audit import AuditEvent, append
from engine.database import write_transaction
from engine.errors import BadRequest, NotFound, ValidationFailed, field_error
from engine.records.reading import fetch_in_scope, refuse_missing, require_action
from engine.runtime import Runtime
from iot.auth import device_of
from iot.registry import Device, device_entity, issue_secret
from iot.telemetry.ingest import MAX_MESSAGES, ingest, refuse_payload
from iot.telemetry.messages import parse_ts
from iot.telemetry.series import RESOLUTIONS
from iot.telemetry.state import datetime_to_ms
from iot.telemetry.views import device_detail, device_rejects, device_series, list_devices
from renderers.api.requests import language_of, read_body, record_id_of, signed_in
from renderers.api.responses import JSON

MAX_TELEMETRY_BODY = 2 * 1024 * 1024  # a full batch of 1,000 messages fits with room to spare
DEFAULT_SPAN = timedelta(hours=24)  # a series without `from` covers the last day


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def post_telemetry(request: Request) -> Response:
    """`POST /api/iot/telemetry` (device): one message or `{"messages": [...]}`; 200 with
    `{"accepted", "rejected"}` when at least one was accepted, else 422 naming each problem."""
    runtime = _runtime(request)
    device = await run_in_threadpool(device_of, request)
    catalog = runtime.require_catalog()
    body = await read_body(request, MAX_TELEMETRY_BODY)
    received_at = runtime.clock.now()

    def run() -> dict[str, Any]:
        messages, single = _messages(runtime, device, body, received_at)
        result = ingest(runtime, catalog, device, messages, "http", received_at, single=single)
        if result.accepted == 0:
            details = [{"path": r["path"], "message": r["message"]} for r in result.rejected]
            raise ValidationFailed("no message was accepted", details)
        return result.as_json()

    return JSON(await run_in_threadpool(run))


def _messages(
    runtime: Runtime, device: Device, body: bytes, received_at: Any
) -> tuple[list[Any], bool]:
    """The request's messages, and whether it is a lone message; a body that holds no
    readable messages is kept, counted and refused here."""
    catalog = runtime.require_catalog()

    def refuse(error: BadRequest | ValidationFailed, payload: Any) -> BadRequest | ValidationFailed:
        refuse_payload(runtime, catalog, device, payload, error.details, "http", received_at)
        return error

    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        text = body[:2000].decode(errors="replace")
        raise refuse(BadRequest("malformed JSON", [field_error("", str(exc))]), text) from None
    if not isinstance(data, dict):
        raise refuse(
            ValidationFailed("expected a JSON object", [field_error("", "expected a JSON object")]),
            data,
        )
    if "messages" not in data:
        return [data], True
    messages = data["messages"]
    if not isinstance(messages, list) or not messages:
        error = field_error("messages", "expected a list of 1 to 1000 messages")
        raise refuse(ValidationFailed("no messages", [error]), data)
    if len(messages) > MAX_MESSAGES:
        error = field_error("messages", f"at most {MAX_MESSAGES} messages in one request")
        raise refuse(ValidationFailed("too many messages", [error]), {"messages": len(messages)})
    return messages, False


async def get_devices(request: Request) -> Response:
    """`GET /api/iot/devices?type=&online=&unit=&q=&limit=&cursor=`."""
    runtime = _runtime(request)
    principal = signed_in(request)
    catalog = runtime.require_catalog()
    params = list(request.query_params.multi_items())

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return list_devices(conn, catalog, principal, params)

    return JSON(await run_in_threadpool(run))


async def get_device(request: Request) -> Response:
    """`GET /api/iot/devices/{id}`: the device, its state and its latest values."""
    runtime = _runtime(request)
    principal = signed_in(request)
    device_id = record_id_of(request)
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return device_detail(conn, catalog, principal, device_id, language_of(request))

    return JSON(await run_in_threadpool(run))


async def get_series(request: Request) -> Response:
    """`GET /api/iot/devices/{id}/telemetry?field=&from=&to=&resolution=raw|hour|day`;
    `from`/`to` are ISO-8601 times or epoch ms (default: the last 24 hours)."""
    runtime = _runtime(request)
    principal = signed_in(request)
    device_id = record_id_of(request)
    catalog = runtime.require_catalog()
    params = request.query_params
    now_ms = datetime_to_ms(runtime.clock.now())
    errors: list[dict[str, Any]] = []
    end_ms = _moment(params.get("to"), "to", now_ms, errors)
    start_ms = _moment(
        params.get("from"), "from", end_ms - int(DEFAULT_SPAN.total_seconds() * 1000), errors
    )
    resolution = params.get("resolution", "raw")
    if resolution not in RESOLUTIONS:
        errors.append(field_error("resolution", f"expected one of {', '.join(RESOLUTIONS)}"))
    field = params.get("field", "")
    if not field:
        errors.append(field_error("field", "name the telemetry field"))
    if not errors and start_ms > end_ms:
        errors.append(field_error("from", "must not be after to"))

    if errors:
        raise ValidationFailed("bad series parameters", errors)

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return device_series(
                conn, catalog, principal, device_id, field, start_ms, end_ms, resolution
            )

    return JSON(await run_in_threadpool(run))


def _moment(raw: str | None, name: str, default: int, errors: list[dict[str, Any]]) -> int:
    if raw is None or raw == "":
        return default
    parsed = parse_ts(int(raw) if re.fullmatch(r"[0-9]{1,15}", raw) else raw)
    if isinstance(parsed, str):
        errors.append(field_error(name, parsed))
        return default
    return parsed


async def get_rejects(request: Request) -> Response:
    """`GET /api/iot/devices/{id}/rejects?limit=&cursor=`: refused payloads, newest first."""
    runtime = _runtime(request)
    principal = signed_in(request)
    device_id = record_id_of(request)
    catalog = runtime.require_catalog()
    params = request.query_params
    errors: list[dict[str, Any]] = []
    limit = _whole(params.get("limit"), "limit", 50, 1, 500, errors)
    cursor = _whole(params.get("cursor"), "cursor", 0, 1, 2**62, errors) or None
    if errors:
        raise ValidationFailed("bad list parameters", errors)

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return device_rejects(conn, catalog, principal, device_id, cursor, limit)

    return JSON(await run_in_threadpool(run))


def _whole(
    raw: str | None, name: str, default: int, low: int, high: int, errors: list[dict[str, Any]]
) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not low <= int(raw) <= high:
        errors.append(field_error(name, f"expected a whole number from {low} to {high}"))
        return default
    return int(raw)


async def post_secret(request: Request) -> Response:
    """`POST /api/iot/devices/{id}/secret`: issue or rotate the device's secret (needs
    `update` on the device record); the secret is in this answer only. Audited."""
    runtime = _runtime(request)
    principal = signed_in(request)
    device_id = record_id_of(request)
    catalog = runtime.require_catalog()
    entity = device_entity(catalog)

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            access = require_action(conn, entity, principal, "update")
            row = fetch_in_scope(conn, entity, access, "update", device_id)
            if row is None:
                refuse_missing(conn, entity, principal, "update", device_id)
                raise NotFound(f"no device {device_id}")  # refuse_missing always raises
            now = runtime.clock.now()
            secret = issue_secret(conn, device_id, principal.username, now)
            detail = {"code": row["code"], "hint": secret[-4:]}
            event = AuditEvent.by(principal, "device.secret", entity.path, device_id, detail)
            append(conn, event, catalog.options.audit_hash)
        return {"device": device_id, "code": row["code"], "secret": secret, "issued_at": now}

    return JSON(await run_in_threadpool(run))


ROUTES: list[BaseRoute] = [
    Route("/api/iot/telemetry", post_telemetry, methods=["POST"]),
    Route("/api/iot/devices", get_devices, methods=["GET"]),
    Route("/api/iot/devices/{id}", get_device, methods=["GET"]),
    Route("/api/iot/devices/{id}/telemetry", get_series, methods=["GET"]),
    Route("/api/iot/devices/{id}/rejects", get_rejects, methods=["GET"]),
    Route("/api/iot/devices/{id}/secret", post_secret, methods=["POST"]),
]
