"""`/{app}/reports/{report}/records?k.<dimension>=…&<param>=…`: the records behind one cell
of a report, in the columns of the source entity's list, a page at a time.

The records come from `drill_down`, which applies the report's filters, the cell's group
and the caller's row scope, so the count here is the number in the cell that was clicked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.catalog import Catalog, CompiledEntity
from engine.database import read_mostly
from engine.permissions import access_for
from engine.principal import Principal
from engine.reports import drill_down, parse_params, run_report
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import principal_of
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.list_page import Cell, Row, list_columns, rows_html
from renderers.html.report_params import param_query, raw_params
from renderers.html.report_view import dimension_text, format_value
from renderers.html.reports import runnable_report
from renderers.html.values import field_label, is_number, reference_titles, shower, zone_of

PAGE_SIZE = 50
TEXTS = {
    "zh": {
        "records_behind": "明细记录",
        "back_to_report": "返回报表",
        "cell": "所选数据",
        "record_count": "共 {count} 条记录",
        "no_records": "没有对应的记录。",
        "record_id": "编号",
        "all_groups": "全部",
    },
    "en": {
        "records_behind": "Records behind the figure",
        "back_to_report": "Back to the report",
        "cell": "Selected figure",
        "record_count": "{count} records",
        "no_records": "No records.",
        "record_id": "No.",
        "all_groups": "All",
    },
}


@dataclass(frozen=True)
class KeyPart:
    """What the clicked cell groups by, or one of its figures: a label and its text."""

    label: str
    text: str


@dataclass(frozen=True)
class RecordsPage:
    """The records of one cell: the cell described (`group`: its dimensions, `figures`: its
    measures as the report shows them), the source entity's list columns and a page of rows."""

    chrome: Chrome
    title: str
    report_title: str
    report_url: str
    entity_label: str
    group: list[KeyPart]
    figures: list[KeyPart]
    columns: list[tuple[str, bool]]  # label, numeric
    rows: list[Row]
    count_text: str
    next_url: str | None
    first_url: str | None

    @property
    def body(self) -> Markup:
        return rows_html(self.rows, False, "")


def records_page(
    conn: sa.Connection,
    catalog: Catalog,
    app: str,
    name: str,
    principal: Principal,
    items: list[tuple[str, str]],
    chrome: Chrome,
) -> RecordsPage:
    """The page for the query `items` (the cell's `k.` keys, the parameters, `cursor`)."""
    report = runnable_report(catalog, app, name, principal)
    definition = report.definition
    language = chrome.language
    entity = report.source
    raw = raw_params(items)
    params = parse_params(report, raw)
    key = {k[2:]: v for k, v in items if k.startswith("k.")}
    given = dict(items)
    cursor, measure = given.get("cursor") or None, given.get("m") or None
    found = drill_down(
        conn, catalog, report, principal, params, key, cursor, PAGE_SIZE, measure=measure
    )
    result = run_report(conn, catalog, report, principal, params, language).as_json()
    group, figures = _describe(result, key, measure, chrome.texts)
    access = access_for(entity, principal)
    names = list_columns(entity, access)
    page_items = list(found["items"])
    titles = reference_titles(conn, entity, page_items, principal, names)
    path = f"/{app}/reports/{name}"
    cell = [*((f"k.{k}", v) for k, v in key.items()), *([("m", measure)] if measure else [])]
    query = [*cell, *param_query(result.get("params") or params)]
    count = found.get("count")
    next_cursor = found.get("next_cursor")
    return RecordsPage(
        chrome=chrome,
        title=chrome.texts["records_behind"],
        report_title=pick(definition.label, language, name),
        report_url=f"{path}?{urlencode(param_query(result.get('params') or params))}",
        entity_label=pick(entity.definition.label, language, entity.name),
        group=group,
        figures=figures,
        columns=_columns(entity, names, language, chrome.texts),
        rows=_rows(entity, names, page_items, titles, language),
        count_text=chrome.texts["record_count"].format(count=count) if count is not None else "",
        next_url=f"{path}/records?{urlencode([*query, ('cursor', next_cursor)])}"
        if next_cursor
        else None,
        first_url=f"{path}/records?{urlencode(query)}" if cursor else None,
    )


def _describe(
    result: Mapping[str, Any],
    key: Mapping[str, str],
    measure: str | None,
    texts: Mapping[str, str],
) -> tuple[list[KeyPart], list[KeyPart]]:
    """The cell's dimensions by their labels and its figure (every measure of the row when
    none was named), from the result row whose `_key` is the one clicked (keys compared as
    text, as they came in the address)."""
    dimensions = [c for c in result["columns"] if c["role"] == "dimension"]
    measures = [
        c for c in result["columns"] if c["role"] == "measure" and measure in (None, c["name"])
    ]
    wanted = dict(key)
    row = next(
        (
            r
            for r in result["rows"]
            if {k: "" if v is None else str(v) for k, v in (r.get("_key") or {}).items()} == wanted
        ),
        None,
    )
    if row is None:
        group = [KeyPart(d["label"], wanted[d["name"]]) for d in dimensions if d["name"] in wanted]
        return group or [KeyPart(texts["cell"], texts["all_groups"])], []
    group = [
        KeyPart(d["label"], dimension_text(d, row.get(d["name"]), "—"))
        for d in dimensions
        if d["name"] in wanted
    ]
    figures = [
        KeyPart(m["label"], format_value(row.get(m["name"]), m.get("format"))) for m in measures
    ]
    return group or [KeyPart(texts["cell"], texts["all_groups"])], figures


def _columns(
    entity: CompiledEntity, names: list[str], language: str, texts: Mapping[str, str]
) -> list[tuple[str, bool]]:
    leading = [] if entity.definition.title_field in names else [(texts["record_id"], True)]
    return leading + [
        (field_label(entity, n, language), is_number(entity.fields[n])) for n in names
    ]


def _rows(
    entity: CompiledEntity,
    names: list[str],
    items: list[dict[str, Any]],
    titles: dict[str, dict[int, str]],
    language: str,
) -> list[Row]:
    """Cells as the entity's list shows them: the title links to the record, references to
    theirs (when the user may see their title)."""
    path = f"/{entity.app}/{entity.name}"
    title_field = entity.definition.title_field
    zone = zone_of(entity)
    shows = {n: shower(entity.fields[n], language, titles.get(n), zone) for n in names}
    rows = []
    for item in items:
        url = f"{path}/{item['id']}"
        cells = [] if title_field in names else [Cell(f"#{item['id']}", url, True)]
        for name in names:
            value = item.get(name)
            text = shows[name](value)
            target = entity.references.get(name)
            if name == title_field:
                cells.append(Cell(text or f"#{item['id']}", url))
            elif target is not None and value is not None and text != f"#{value}":
                cells.append(Cell(text, f"/{target.app}/{target.name}/{value}"))
            else:
                cells.append(Cell(text, None, is_number(entity.fields[name])))
        rows.append(Row(item["id"], cells))
    return rows


async def records_screen(request: Request) -> Response:
    """`GET /{app}/reports/{report}/records?k.<dim>=…`; a wrong parameter is the error page."""
    runtime: Runtime = request.app.state.runtime
    catalog = runtime.require_catalog()
    app, name = request.path_params["app"], request.path_params["report"]
    principal = principal_of(request)
    items = request.query_params.multi_items()
    title = TEXTS[language_of_page(request)]["records_behind"]
    chrome = chrome_of(request, title, catalog, TEXTS)

    def run() -> RecordsPage:
        return read_mostly(
            runtime.engine,
            lambda conn: records_page(conn, catalog, app, name, principal, items, chrome),
        )

    return render(request, "report_records.html", await run_in_threadpool(run))


ROUTES: list[BaseRoute] = [
    Route("/{app}/reports/{report}/records", records_screen, methods=["GET"]),
]
