"""`/api/audit`, `/api/audit/verify`, `/api/audit/head`: the audit trail, for auditors."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine.audit import AuditHead, read_head
from engine.audit.search import AuditPage, parse_audit_query, search_audit
from engine.audit.verify import Verification, verify_chain
from engine.errors import ValidationFailed, field_error
from engine.runtime import Runtime
from renderers.api.requests import require_roles
from renderers.api.responses import JSON

ANCHOR = re.compile(r"([0-9]{1,18}):([0-9a-fA-F]{64})")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def search(request: Request) -> Response:
    """`?actor=&action=auth.&target=&record_id=&outcome=&address=&from=&to=&limit=&cursor=`."""
    require_roles(request, "auditor")
    runtime = _runtime(request)
    settings = runtime.settings
    query = parse_audit_query(
        request.query_params.multi_items(),
        settings.page_size,
        settings.max_page_size,
        settings.timezone,
    )

    def run() -> AuditPage:
        with runtime.engine.connect() as conn:
            return search_audit(conn, query.filters, query.limit, query.cursor)

    page = await run_in_threadpool(run)
    return JSON({"items": page.items, "next_cursor": page.next_cursor})


async def verify(request: Request) -> Response:
    """The whole chain verified; `?anchor=SEQ:HASH` (repeatable) checks recorded heads."""
    require_roles(request, "auditor")
    runtime = _runtime(request)
    anchors = _anchors(request.query_params.getlist("anchor"))

    def run() -> Verification:
        with runtime.engine.connect() as conn:
            return verify_chain(conn, anchors)

    return JSON((await run_in_threadpool(run)).as_json())


async def head(request: Request) -> Response:
    """The newest entry's seq and hash (the values to anchor) and the retention checkpoint."""
    require_roles(request, "auditor")
    runtime = _runtime(request)

    def run() -> AuditHead:
        with runtime.engine.connect() as conn:
            return read_head(conn)

    return JSON((await run_in_threadpool(run)).as_json())


def _anchors(values: list[str]) -> list[tuple[int, str]]:
    anchors, errors = [], []
    for value in values:
        match = ANCHOR.fullmatch(value)
        if match is None:
            errors.append(field_error("anchor", f"expected SEQ:HASH, not {value!r}"))
        else:
            anchors.append((int(match[1]), match[2].lower()))
    if errors:
        raise ValidationFailed("invalid query parameters", errors)
    return anchors
