"""Alerts over HTTP: the caller's alerts with filters and unread counts, one alert with its
timeline and send log, lifecycle actions and read marks; the rules with their scan state,
dry runs (and backtests) and manual scans for configurators.

Recipients see their alerts, administrators and auditors all of them; acting needs being a
recipient or an administrator; an alert out of sight is 404. See docs/alerts.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.alerts.dry_run import draft_rule, dry_run
from engine.alerts.lifecycle import act
from engine.alerts.listing import FILTERS, get_alert, list_alerts, mark_read
from engine.alerts.overview import list_rules
from engine.alerts.rules import rule_of
from engine.alerts.scanning import scan_rule
from engine.database import write_transaction
from engine.errors import Conflict, NotFound, ValidationFailed, field_error
from engine.runtime import Runtime
from renderers.api.requests import (
    language_of,
    read_json_object,
    require_roles,
    signed_in,
)
from renderers.api.responses import JSON

RULE_READERS = ("configurator", "auditor")  # and admin: the rules with their scan state
RULE_RUNNERS = ("configurator",)  # and admin: dry runs and scans on demand


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def alert_list(request: Request) -> Response:
    """`GET /api/alerts?status=&severity=&family=&app=&rule=&unread=1&cursor=&limit=`."""
    runtime = _runtime(request)
    principal = signed_in(request)
    params = request.query_params
    filters = {name: params[name] for name in FILTERS if params.get(name)}
    limit = _limit(params.get("limit"), runtime)
    cursor = _number(params.get("cursor"), "cursor")
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return list_alerts(
                conn, catalog, principal, filters, cursor, limit, language_of(request)
            )

    return JSON(await run_in_threadpool(run))


async def alert_detail(request: Request) -> Response:
    """`GET /api/alerts/{id}`: the alert, its recipients, timeline, deliveries, actions."""
    runtime = _runtime(request)
    principal = signed_in(request)
    alert_id = _alert_id(request)
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return get_alert(conn, catalog, principal, alert_id, language_of(request))

    return JSON(await run_in_threadpool(run))


async def alert_action(request: Request) -> Response:
    """`POST /api/alerts/{id}/{action}` with `{"comment"}` (`dispose` needs `opinion`,
    `feedback` needs `feedback`); 409 when the alert's state does not allow it."""
    runtime = _runtime(request)
    principal = signed_in(request)
    alert_id = _alert_id(request)
    body = await read_json_object(request)
    action = request.path_params["action"]

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            return act(conn, runtime, principal, alert_id, action, body, language_of(request))

    return JSON(await run_in_threadpool(run))


async def alert_read(request: Request) -> Response:
    """`POST /api/alerts/{id}/read`: mark the alert read for the caller (204)."""
    runtime = _runtime(request)
    principal = signed_in(request)
    alert_id = _alert_id(request)
    now = runtime.clock.now()

    def run() -> None:
        with write_transaction(runtime.engine) as conn:
            mark_read(conn, principal, alert_id, now)

    await run_in_threadpool(run)
    return Response(status_code=204)


async def rule_list(request: Request) -> Response:
    """`GET /api/alerts/rules`: every rule with its last scan and open count."""
    runtime = _runtime(request)
    require_roles(request, *RULE_READERS)
    catalog = runtime.require_catalog()

    def run() -> list[dict[str, Any]]:
        with runtime.engine.connect() as conn:
            return list_rules(conn, catalog, language_of(request))

    return JSON({"items": await run_in_threadpool(run)})


async def rule_dry_run(request: Request) -> Response:
    """`POST /api/alerts/rules/{app}/{rule}/dry-run` with `{"as_of": null|"YYYY-MM-DD",
    "draft": false}`: what the rule matches, now or on a past date; nothing is written."""
    runtime = _runtime(request)
    require_roles(request, *RULE_RUNNERS)
    body = await read_json_object(request)
    as_of = _as_of(body.get("as_of"))
    app, name = request.path_params["app"], request.path_params["rule"]
    catalog = runtime.require_catalog()

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            if body.get("draft") is True:
                rule = draft_rule(conn, catalog, app, name)
            else:
                compiled = rule_of(catalog, app, name)
                if compiled is None:
                    raise NotFound(f"no alert rule {app}/{name}")
                rule = compiled.definition
            result = dry_run(conn, catalog, app, rule, as_of)
            conn.rollback()  # a dry run writes nothing, whatever a condition reads
            return {
                "app": app,
                "rule": name,
                "draft": body.get("draft") is True,
                **result.as_json(),
            }

    return JSON(await run_in_threadpool(run))


async def rule_scan(request: Request) -> Response:
    """`POST /api/alerts/rules/{app}/{rule}/scan`: scan now (configurators, admin)."""
    runtime = _runtime(request)
    require_roles(request, *RULE_RUNNERS)
    app, name = request.path_params["app"], request.path_params["rule"]
    catalog = runtime.require_catalog()
    compiled = rule_of(catalog, app, name)
    if compiled is None:
        raise NotFound(f"no alert rule {app}/{name}")
    if not compiled.definition.enabled:
        raise Conflict(f"the alert rule {app}/{name} is disabled")
    now = runtime.clock.now()

    def run() -> dict[str, Any]:
        with write_transaction(runtime.engine) as conn:
            return scan_rule(conn, runtime, catalog, app, name, now).as_json()

    return JSON(await run_in_threadpool(run))


def _alert_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise NotFound(f"no alert {raw}")
    return int(raw)


def _number(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed(f"bad {name}", [field_error(name, "expected a number")])
    return int(raw)


def _limit(raw: str | None, runtime: Runtime) -> int:
    limit = _number(raw, "limit") or runtime.settings.page_size
    return max(1, min(limit, runtime.settings.max_page_size))


def _as_of(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _bad_date()
    except ValueError:
        return _bad_date()


def _bad_date() -> date:
    raise ValidationFailed("as_of is not a date", [field_error("as_of", "expected YYYY-MM-DD")])


ROUTES: list[BaseRoute] = [
    Route("/api/alerts", alert_list, methods=["GET"]),
    Route("/api/alerts/rules", rule_list, methods=["GET"]),
    Route("/api/alerts/rules/{app}/{rule}/dry-run", rule_dry_run, methods=["POST"]),
    Route("/api/alerts/rules/{app}/{rule}/scan", rule_scan, methods=["POST"]),
    Route("/api/alerts/{id}", alert_detail, methods=["GET"]),
    Route("/api/alerts/{id}/read", alert_read, methods=["POST"]),
    Route("/api/alerts/{id}/{action}", alert_action, methods=["POST"]),
]
"""Before the record routes: `/api/alerts/...` would otherwise read as app `alerts`."""


def openapi_paths() -> dict[str, Any]:
    """The alert routes for `renderers/api/openapi.py`."""

    def op(summary: str, operation: str, *params: str, body: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = {
            "tags": ["alerts"],
            "summary": summary,
            "operationId": operation,
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ],
            "responses": {
                "200": {"description": "ok", **_json({"type": "object"})},
                **{
                    str(code): {"description": text, **_json({"$ref": ERROR_SCHEMA})}
                    for code, text in ERRORS.items()
                },
            },
        }
        if body:
            found["requestBody"] = {"required": True, **_json({"type": "object"})}
        return found

    return {
        "/api/alerts": {
            "get": op(
                "The caller's alerts (?status=&severity=&family=&app=&rule=&unread=1"
                "&cursor=&limit=) → {items, next_cursor, count, unread}",
                "listAlerts",
            )
        },
        "/api/alerts/rules": {
            "get": op("Alert rules with last scan and open count", "listAlertRules")
        },
        "/api/alerts/rules/{app}/{rule}/dry-run": {
            "post": op(
                "Count what a rule matches, now or on {as_of}; {draft: true} takes the draft",
                "dryRunAlertRule",
                "app",
                "rule",
                body=True,
            )
        },
        "/api/alerts/rules/{app}/{rule}/scan": {
            "post": op("Scan a rule now", "scanAlertRule", "app", "rule")
        },
        "/api/alerts/{id}": {
            "get": op("An alert with timeline, deliveries and actions", "getAlert", "id")
        },
        "/api/alerts/{id}/read": {"post": op("Mark an alert read", "readAlert", "id")},
        "/api/alerts/{id}/{action}": {
            "post": op(
                "acknowledge | dispose {opinion} | feedback {feedback} | resolve, with {comment}",
                "actOnAlert",
                "id",
                "action",
                body=True,
            )
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


ERROR_SCHEMA = "#/components/schemas/Error"
ERRORS = {401: "log in first", 403: "not allowed", 404: "no such alert or rule",
          409: "the alert's state does not allow it", 422: "a bad request body"}  # fmt: skip
