"""`/audit…`: the auditor's view. Versions with side-by-side diffs, the audit trail with
filters, and chain verification.

Access mirrors the JSON API: the trail, its verification and the chain's head need the
`auditor` role (`/api/audit…`); a version's diff is readable by configurators too, as
`/api/meta/diff` is. Admin passes every check. Like the API, reading the trail is not
itself written to the trail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.errors import BadRequest, field_error
from engine.runtime import Runtime
from renderers.api.meta import READERS
from renderers.api.requests import require_roles
from renderers.html.audit_diff import diff_page
from renderers.html.audit_texts import TEXTS, text
from renderers.html.audit_trail import trail_page
from renderers.html.audit_verify import verify_page
from renderers.html.audit_versions import overview_page
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render

AUDITORS = ("auditor",)
View = TypeVar("View")


async def overview(request: Request) -> Response:
    """The versions, newest first (`?page=N`), and the state of the audit chain."""
    require_roles(request, *AUDITORS)
    number = _whole_number(request.query_params.get("page", "1"), "page")
    chrome = _chrome(request, "audit_title")
    zone = _zone(request)
    page = await _read(request, lambda conn: overview_page(conn, chrome, number, zone))
    return render(request, "audit/overview.html", page)


async def version_diff(request: Request) -> Response:
    """What version `n` changed against the version before it, or `?against=m`."""
    require_roles(request, *READERS)
    number: int = request.path_params["number"]
    raw = request.query_params.get("against", "")
    against = _whole_number(raw, "against") if raw else None
    chrome = _chrome(request, "diff_title", n=number)
    zone = _zone(request)
    page = await _read(request, lambda conn: diff_page(conn, chrome, number, against, zone))
    return render(request, "audit/diff.html", page)


async def trail(request: Request) -> Response:
    """The trail, filtered by the API's parameters; bad filters come back beside the form."""
    require_roles(request, *AUDITORS)
    chrome = _chrome(request, "trail_title")
    params = request.query_params.multi_items()
    settings = _runtime(request).settings
    page = await _read(request, lambda conn: trail_page(conn, chrome, params, settings))
    return render(request, "audit/trail.html", page, 422 if page.invalid else 200)


async def verify(request: Request) -> Response:
    """The chain walked and judged; a GET like `/api/audit/verify`, as it changes nothing."""
    require_roles(request, *AUDITORS)
    chrome = _chrome(request, "verify_title")
    anchor = request.query_params.get("anchor", "")
    page = await _read(request, lambda conn: verify_page(conn, chrome, anchor))
    return render(request, "audit/verify.html", page, 422 if page.anchor_error else 200)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _read(request: Request, build: Callable[[sa.Connection], View]) -> View:
    """Build a view model on one connection, off the event loop."""
    runtime = _runtime(request)

    def run() -> View:
        with runtime.engine.connect() as conn:
            return build(conn)

    return await run_in_threadpool(run)


def _chrome(request: Request, title_key: str, **values: object) -> Chrome:
    title = text(TEXTS[language_of_page(request)], title_key, **values)
    return chrome_of(request, title, own_texts=TEXTS)


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(_runtime(request).settings.timezone)


def _whole_number(raw: str, name: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,8}", raw):
        raise BadRequest(
            f"{name} must be a whole number from 1", [field_error(name, "expected 1, 2, 3…")]
        )
    return int(raw)


ROUTES: list[BaseRoute] = [
    Route("/audit", overview, methods=["GET"]),
    Route("/audit/versions/{number:int}", version_diff, methods=["GET"]),
    Route("/audit/trail", trail, methods=["GET"]),
    Route("/audit/verify", verify, methods=["GET"]),
]
