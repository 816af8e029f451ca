"""Device rules over HTTP, for the people who configure and watch them:

- `GET /api/iot/rules`: every device rule with its trigger, priority, last run;
- `POST /api/iot/rules/{app}/{rule}/test`: test mode (`iot.rules.testing`) — replay a
  device's stored telemetry or given readings through the rule; writes and sends nothing;
- `GET /api/iot/rules/{app}/{rule}/runs?device=&cursor=&limit=`: the execution log.

Importing this module registers the reading listener (`iot.rules.evaluate`), so every
process that serves ingest evaluates the rules.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.errors import ValidationFailed, field_error
from engine.runtime import Runtime
from iot.rules import evaluate  # noqa: F401  (registers the reading listener)
from iot.rules.facts import millis
from iot.rules.runs import list_rules, list_runs
from iot.rules.testing import try_rule
from renderers.api.requests import language_of, read_json_object, require_roles
from renderers.api.responses import JSON

RULE_READERS = ("configurator", "auditor", "device_supervisor", "device_operator", "city_centre")
RULE_TESTERS = ("configurator", "device_supervisor", "device_operator")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def rule_list(request: Request) -> Response:
    """`GET /api/iot/rules`."""
    runtime = _runtime(request)
    require_roles(request, *RULE_READERS)
    catalog = runtime.require_catalog()
    language = language_of(request)

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return {"items": list_rules(conn, catalog, language)}

    return JSON(await run_in_threadpool(run))


async def rule_test(request: Request) -> Response:
    """`POST /api/iot/rules/{app}/{rule}/test` with `{"device", "from"?, "to"?}` or
    `{"device", "readings": [{"ts"?, "values"}]}`."""
    runtime = _runtime(request)
    principal = require_roles(request, *RULE_TESTERS)
    body = await read_json_object(request)
    catalog = runtime.require_catalog()
    app, name = request.path_params["app"], request.path_params["rule"]
    language = language_of(request)
    now_ms = millis(runtime.clock.now())

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return try_rule(conn, catalog, principal, app, name, body, now_ms, language)

    return JSON(await run_in_threadpool(run))


async def rule_runs(request: Request) -> Response:
    """`GET /api/iot/rules/{app}/{rule}/runs`: newest first."""
    runtime = _runtime(request)
    require_roles(request, *RULE_READERS)
    catalog = runtime.require_catalog()
    params = request.query_params
    limit = _number(params.get("limit"), "limit") or runtime.settings.page_size
    limit = max(1, min(limit, runtime.settings.max_page_size))
    cursor = _number(params.get("cursor"), "cursor")
    device = _number(params.get("device"), "device")
    app, name = request.path_params["app"], request.path_params["rule"]

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            return list_runs(conn, catalog, app, name, cursor, limit, device)

    return JSON(await run_in_threadpool(run))


def _number(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed(f"bad {name}", [field_error(name, "expected a number")])
    return int(raw)


ROUTES: list[BaseRoute] = [
    Route("/api/iot/rules", rule_list, methods=["GET"]),
    Route("/api/iot/rules/{app}/{rule}/test", rule_test, methods=["POST"]),
    Route("/api/iot/rules/{app}/{rule}/runs", rule_runs, methods=["GET"]),
]
