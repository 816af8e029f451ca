"""`/{app}/reports/{report}`: a report's parameters form, its chart (drawn by
`static/reports.js` with the vendored ECharts), its table with every measure linking to the
records behind it, and its exports.

The page runs the same `run_report` as `GET /api/{app}/reports/{report}` (cached by
definition version, parameters and data watermark), so chart, table and API agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.catalog import Catalog, CompiledEntity
from engine.database import read_mostly
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.permissions import access_for
from engine.principal import Principal
from engine.reports import CompiledReport, may_run, parse_params, report_of, run_report
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import principal_of
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.form_view import Option
from renderers.html.pickers import PickOptions, first_records
from renderers.html.report_params import (
    ParamInput,
    loose_errors,
    param_inputs,
    param_query,
    raw_params,
)
from renderers.html.report_view import ResultView, result_view

EXPORT_FORMATS = ("csv", "xlsx", "pdf")
TEXTS = {
    "zh": {
        "parameters": "查询条件",
        "run_report": "查询",
        "chart": "图表",
        "table": "数据表",
        "chart_alt": "图表数据见下方数据表。",
        "exports": "导出",
        "export_csv": "导出 CSV",
        "export_xlsx": "导出 Excel",
        "export_pdf": "导出 PDF",
        "generated_at": "生成于 {at}",
        "from_cache": "（缓存）",
        "no_rows": "没有符合条件的数据。",
        "fix_params": "请修改查询条件。",
        "choose": "请选择",
    },
    "en": {
        "parameters": "Parameters",
        "run_report": "Run",
        "chart": "Chart",
        "table": "Table",
        "chart_alt": "The table below holds the chart's data.",
        "exports": "Export",
        "export_csv": "Export CSV",
        "export_xlsx": "Export Excel",
        "export_pdf": "Export PDF",
        "generated_at": "Generated at {at}",
        "from_cache": " (cached)",
        "no_rows": "No data matches.",
        "fix_params": "Please correct the parameters.",
        "choose": "Choose…",
    },
}


@dataclass(frozen=True)
class ExportLink:
    format: str
    label: str
    url: str


@dataclass(frozen=True)
class ReportPage:
    """One report: its parameters form, then (unless a parameter is wrong) the result's chart
    and table and the export links (only with `export` on the source entity)."""

    chrome: Chrome
    title: str
    description: str
    path: str  # /{app}/reports/{report}
    inputs: list[ParamInput]
    result: ResultView | None
    exports: list[ExportLink] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def texts(self) -> dict[str, str]:
        return self.chrome.texts


def source_entity(catalog: Catalog, app: str, source: str) -> CompiledEntity:
    """The entity a report reads: `name` in the report's app, or `app.name`."""
    owner, _, name = source.rpartition(".")
    entity = catalog.entity(owner or app, name)
    if entity is None:
        raise NotFound(f"the report's source {source} is not defined")
    return entity


def runnable_report(catalog: Catalog, app: str, name: str, principal: Principal) -> CompiledReport:
    """The compiled report, or 404 (unknown) / 403 (not the principal's to run)."""
    report = report_of(catalog, app, name)
    if report is None:
        raise NotFound(f"no report {app}.{name}")
    if not may_run(report, principal):
        raise Forbidden(f"you may not run the report {app}.{name}")
    return report


def export_links(
    api_path: str, query: list[tuple[str, str]], texts: Mapping[str, str]
) -> list[ExportLink]:
    return [
        ExportLink(f, texts[f"export_{f}"], f"{api_path}?{urlencode([*query, ('format', f)])}")
        for f in EXPORT_FORMATS
    ]


def report_page(
    conn: sa.Connection,
    catalog: Catalog,
    app: str,
    name: str,
    principal: Principal,
    raw: Mapping[str, str],
    chrome: Chrome,
) -> tuple[ReportPage, int]:
    """The page and its status: 422 with the errors beside the parameters when `parse_params`
    refuses them (nothing is run), else 200 with the result."""
    report = runnable_report(catalog, app, name, principal)
    definition = report.definition
    language = chrome.language
    path = f"/{app}/reports/{name}"
    source = report.source
    choices = _reference_choices(conn, catalog, app, definition.params, principal)
    title = pick(definition.label, language, name)
    description = pick(definition.description, language)
    try:
        params = parse_params(report, raw)
    except ValidationFailed as refused:
        inputs = param_inputs(
            definition.params, raw, refused.details, choices, path + "/pick", language
        )
        errors = [chrome.texts["fix_params"], *loose_errors(refused.details, definition.params)]
        return ReportPage(chrome, title, description, path, inputs, None, errors=errors), 422
    result = run_report(conn, catalog, report, principal, params, language).as_json()
    query = param_query(result.get("params") or params)
    timezone = catalog.options.timezone
    view = result_view(result, language, timezone, f"{path}/records", query)
    inputs = param_inputs(
        definition.params,
        {**(result.get("params") or params), **raw},
        [],
        choices,
        path + "/pick",
        language,
    )
    exports = []
    if access_for(source, principal).allows("export"):
        exports = export_links(f"/api{path}", query, chrome.texts)
    return ReportPage(chrome, title, description, path, inputs, view, exports), 200


def _reference_choices(
    conn: sa.Connection,
    catalog: Catalog,
    app: str,
    params: Mapping[str, Any],
    principal: Principal,
) -> dict[str, list[tuple[int, str]]]:
    """The first records of each reference parameter's entity that the principal may list."""
    found = {}
    for name, param in params.items():
        if param.type == "reference" and param.entity:
            found[name] = first_records(conn, source_entity(catalog, app, param.entity), principal)
    return found


# --- routes --------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def report_screen(request: Request) -> Response:
    """`GET /{app}/reports/{report}?<param>=…`."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    app, name = request.path_params["app"], request.path_params["report"]
    principal = principal_of(request)
    raw = raw_params(request.query_params.multi_items())
    language = language_of_page(request)
    report = report_of(catalog, app, name)
    title = pick(report.definition.label, language, name) if report is not None else name
    chrome = chrome_of(request, title, catalog, TEXTS)

    def run() -> tuple[ReportPage, int]:
        return read_mostly(
            runtime.engine,
            lambda conn: report_page(conn, catalog, app, name, principal, raw, chrome),
        )

    page, status = await run_in_threadpool(run)
    return render(request, "report.html", page, status)


async def pick_param(request: Request) -> Response:
    """`GET /{app}/reports/{report}/pick/{param}?q=`: `<option>`s of the records a reference
    parameter may name, found by `q` among those the user may list."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    app, name = request.path_params["app"], request.path_params["report"]
    principal = principal_of(request)
    report = runnable_report(catalog, app, name, principal)
    param = report.definition.params.get(request.path_params["param"])
    if param is None or param.type != "reference" or not param.entity:
        raise NotFound("no such reference parameter")
    target = source_entity(catalog, app, param.entity)
    q = request.query_params.get("q", "")

    def run() -> list[tuple[int, str]]:
        return read_mostly(runtime.engine, lambda conn: first_records(conn, target, principal, q))

    found = await run_in_threadpool(run)
    word = TEXTS[language_of_page(request)]["choose"]
    options = (Option("", word), *(Option(str(i), title) for i, title in found))
    return render(request, "_pick_options.html", PickOptions(options))


ROUTES: list[BaseRoute] = [
    Route("/{app}/reports/{report}", report_screen, methods=["GET"]),
    Route("/{app}/reports/{report}/pick/{param}", pick_param, methods=["GET"]),
]
