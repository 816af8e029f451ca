"""`/{app}/{entity}`: the list screen of every entity, its bulk actions and its CSV export.

The list reads through the same `records.list_records` query as the JSON API (with the same
count), plus one titles query per reference field, so the page costs about what the API does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine import records
from engine.audit import AuditEvent, append
from engine.catalog import CompiledEntity
from engine.database import read_mostly
from engine.errors import BadRequest, field_error
from engine.principal import Principal
from engine.records.reading import require_action
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import entity_of, principal_of
from renderers.exports.cells import neutralise
from renderers.html.chrome import chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.list_page import (
    EXPORT_LIMIT,
    TEXTS,
    ListPage,
    Params,
    load_list_page,
    screen_params,
)
from renderers.html.pages import forget_notice, remember_notice, take_notice
from renderers.html.values import field_label, reference_titles, show, zone_of

EXPORT_CHUNK = 1000  # rows per query of an export: one titles query per reference per chunk
BOM = "\ufeff"  # so Excel reads the CSV as UTF-8 and shows Chinese


async def list_screen(request: Request) -> Response:
    """`GET /{app}/{entity}`, with the notice a redirect left for it (a delete's), once; an
    htmx request from the filter form gets only the results."""
    runtime: Runtime = request.app.state.runtime
    catalog = runtime.require_catalog()
    entity = entity_of(catalog, request)
    principal = principal_of(request)
    settings = runtime.settings
    params = screen_params(request.query_params.multi_items())
    title = pick(entity.definition.label, language_of_page(request), entity.name)
    chrome = chrome_of(request, title, catalog, own_texts=TEXTS)
    partial = request.headers.get("hx-request") and request.headers.get("hx-target") == "results"
    notice = None if partial else take_notice(request)
    limits = (settings.page_size, settings.max_page_size, settings.count_limit)

    def run() -> ListPage:
        return read_mostly(
            runtime.engine,
            lambda conn: load_list_page(
                conn, entity, principal, params, chrome, limits, notice or ""
            ),
        )

    page = await run_in_threadpool(run)
    status = 422 if page.errors else 200
    response = render(request, "_list_results.html" if partial else "list.html", page, status)
    if notice:
        forget_notice(response)
    return response


async def bulk(request: Request) -> Response:
    """`POST /{app}/{entity}/bulk` with `ids` and `action`: export them, or delete them all
    (or none) and go back to the list as it was, with a notice."""
    runtime: Runtime = request.app.state.runtime
    entity = entity_of(runtime.require_catalog(), request)
    principal = principal_of(request)
    form = await request.form()
    ids = _ids([str(v) for v in form.getlist("ids")])
    action = str(form.get("action", ""))
    back = urlencode(parse_qsl(str(form.get("query", ""))))
    if action == "export":
        return await _export(request, runtime, entity, [("id__in", ",".join(map(str, ids)))])
    if action != "delete":
        raise BadRequest(
            "unknown bulk action", [field_error("action", "expected delete or export")]
        )
    await run_in_threadpool(records.delete_records, runtime.engine, entity, ids, principal)
    response = RedirectResponse(f"/{entity.app}/{entity.name}{'?' if back else ''}{back}", 303)
    notice = chrome_of(request, with_menus=False, own_texts=TEXTS).texts["deleted"]
    remember_notice(response, notice.format(count=len(ids)), runtime.settings.secure_cookies)
    return response


async def export(request: Request) -> Response:
    """`GET /{app}/{entity}/export` with the list's filters: the rows as CSV."""
    runtime: Runtime = request.app.state.runtime
    entity = entity_of(runtime.require_catalog(), request)
    params = [(k, v) for k, v in screen_params(request.query_params.multi_items()) if k != "cursor"]
    return await _export(request, runtime, entity, params)


def _ids(raw: list[str]) -> list[int]:
    if not raw:
        raise BadRequest("no records selected", [field_error("ids", "select at least one record")])
    if not all(v.isdigit() for v in raw):
        raise BadRequest("malformed selection", [field_error("ids", "expected record numbers")])
    return sorted({int(v) for v in raw})


async def _export(
    request: Request, runtime: Runtime, entity: CompiledEntity, params: Params
) -> Response:
    principal = principal_of(request)
    language = language_of_page(request)

    def run() -> tuple[str, bool]:
        return read_mostly(
            runtime.engine, lambda conn: export_csv(conn, entity, principal, params, language)
        )

    text, truncated = await run_in_threadpool(run)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {
        "Content-Disposition": f'attachment; filename="{entity.app}-{entity.name}-{stamp}.csv"',
        "Cache-Control": "no-store",
    }
    if truncated:
        headers["X-Anju-Export-Limit"] = str(EXPORT_LIMIT)  # the rows after it were left out
    return Response(
        (BOM + text).encode("utf-8"), media_type="text/csv; charset=utf-8", headers=headers
    )


def export_csv(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    params: Params,
    language: str,
) -> tuple[str, bool]:
    """The matching rows (at most EXPORT_LIMIT) as CSV text with a header of field labels,
    each value as the screen shows it, and whether rows were left out; the export is written
    to the audit trail in the same transaction."""
    access = require_action(conn, entity, principal, "export")
    query = records.parse_list_query(entity, params, EXPORT_CHUNK, EXPORT_CHUNK, access)
    query = replace(query, limit=EXPORT_CHUNK, cursor=None)
    names = [n for n in entity.fields if access.readable(n)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", *(field_label(entity, n, language) for n in names)])
    written, truncated = 0, False
    zone = zone_of(entity)
    while True:
        page = records.list_records(conn, entity, query, principal, count_limit=0)
        titles = reference_titles(conn, entity, page.items, principal)
        for item in page.items[: EXPORT_LIMIT - written]:
            cells = [
                neutralise(show(entity.fields[n], item.get(n), language, titles.get(n), zone))
                for n in names
            ]
            writer.writerow([item["id"], *cells])
        written += min(len(page.items), EXPORT_LIMIT - written)
        if page.next_cursor is None:
            break
        if written >= EXPORT_LIMIT:
            truncated = True
            break
        query = replace(query, cursor=page.next_cursor)
    detail = {"rows": written, "truncated": truncated, "filters": params, "fields": names}
    event = AuditEvent.by(principal, "record.export", entity.path, None, detail)
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    append(conn, event, catalog.options.audit_hash)
    return out.getvalue(), truncated


ROUTES: list[BaseRoute] = [
    Route("/{app}/{entity}", list_screen, methods=["GET"]),
    Route("/{app}/{entity}/bulk", bulk, methods=["POST"]),
    Route("/{app}/{entity}/export", export, methods=["GET"]),
]
