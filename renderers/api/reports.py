"""The reports API: run a report (JSON, or a CSV / XLSX / PDF download), the records behind a
cell, a dashboard's widgets, and the reports and dashboards the caller may open.

    GET /api/reports
    GET /api/{app}/reports/{report}?<param>=…[&format=csv|xlsx|pdf]
    GET /api/{app}/reports/{report}/records?k.<dimension>=…&<param>=…&m=&cursor=&limit=
    GET /api/{app}/dashboards/{dashboard}

Every path goes through `engine.reports` (roles, read on the source, the caller's row scope,
fields hidden from it). An export also needs `export` on the source entity and is audited
(`report.export` with the format, the parameters and the rows written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.audit import AuditEvent, append
from engine.catalog import Catalog
from engine.database import read_mostly
from engine.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    ValidationFailed,
    field_error,
)
from engine.permissions import access_for
from engine.principal import Principal
from engine.reports import (
    CompiledReport,
    ReportResult,
    dashboard_of,
    drill_down,
    parse_params,
    report_of,
    run_dashboard,
    run_report,
    runnable_reports,
)
from engine.reports.running import may_run
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import language_of, signed_in
from renderers.api.responses import JSON
from renderers.exports import (
    EXPORTERS,
    ExportColumn,
    ExportTable,
    content_disposition,
    download_name,
)

TOTALS = {"zh": ("小计", "合计"), "en": ("Subtotal", "Total")}
NUMBER_FORMATS = ("number", "integer", "money", "percent")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _report(catalog: Catalog, request: Request, principal: Principal) -> CompiledReport:
    app, name = request.path_params["app"], request.path_params["report"]
    report = report_of(catalog, app, name)
    if report is None:
        raise NotFound(f"no report {app}/{name}")
    if not may_run(report, principal):
        raise Forbidden(f"you may not run the report {app}.{name}")
    return report


async def list_reports(request: Request) -> Response:
    """`GET /api/reports`: what the caller may run, by app."""
    runtime = _runtime(request)
    principal = signed_in(request)
    language = language_of(request)
    entries = runnable_reports(runtime.require_catalog(), principal)
    items = [
        {
            "app": e.app,
            "name": e.name,
            "kind": e.kind,
            "label": pick(e.label, language, e.name),
            "path": e.path,
            "api": f"/api{e.path}",
        }
        for e in entries
    ]
    return JSON({"items": items})


async def get_report(request: Request) -> Response:
    """`GET /api/{app}/reports/{report}`: the result as JSON, or a download with `format`."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    principal = signed_in(request)
    report = _report(catalog, request, principal)
    raw = dict(request.query_params)
    params = parse_params(report, raw)
    language = language_of(request)
    kind = raw.get("format", "json")
    if kind != "json" and kind not in EXPORTERS:
        expected = ", ".join(["json", *EXPORTERS])
        raise BadRequest("unknown format", [field_error("format", f"expected {expected}")])
    if kind != "json" and not access_for(report.source, principal).allows("export"):
        raise Forbidden(f"exporting needs the export right on {report.source.path}")

    def work(conn: sa.Connection) -> tuple[ReportResult, bytes | None, bool]:
        result = run_report(conn, catalog, report, principal, params, language)
        if kind == "json":
            return result, None, False
        exporter = EXPORTERS[kind]
        table = export_table(result, principal, language, catalog.options.timezone)
        body = exporter.write(table)
        written = exporter.rows_written(table)
        detail = {"format": kind, "params": result.params, "rows": written}
        event = AuditEvent.by(principal, "report.export", report.path, None, detail)
        append(conn, event, catalog.options.audit_hash)
        return result, body, exporter.truncates(table)

    def run() -> tuple[ReportResult, bytes | None, bool]:
        return read_mostly(runtime.engine, work)

    result, body, truncated = await run_in_threadpool(run)
    if body is None:
        return JSON(result.as_json())
    exporter = EXPORTERS[kind]
    stamp = result.generated_at.astimezone(ZoneInfo(catalog.options.timezone)).strftime(
        "%Y%m%d-%H%M"
    )
    filename = download_name(result.label, exporter.extension, stamp)
    headers = {"Content-Disposition": content_disposition(filename)}
    if truncated:
        headers["X-Anju-Export-Limit"] = str(exporter.row_limit)  # later rows were left out
    return Response(body, media_type=exporter.content_type, headers=headers)


def export_table(
    result: ReportResult, principal: Principal, language: str, timezone: str = "UTC"
) -> ExportTable:
    """The result as the exporters read it: labels translated, enum values as their labels,
    subtotal and total rows named, the time it was made in the catalog's time zone."""
    columns = result.columns
    dimensions = [c for c in columns if c["role"] == "dimension"]
    subtotal, total = TOTALS.get(language, TOTALS["zh"])
    rows: list[list[Any]] = []
    for row in result.as_json()["rows"]:
        cells: list[Any] = []
        level = row.get("_level", len(dimensions))
        for i, column in enumerate(columns):
            value = row.get(column["name"])
            if column["role"] == "dimension":
                if i == level and level < len(dimensions):
                    value = total if level == 0 else subtotal
                elif column.get("labels") and value is not None:
                    value = column["labels"].get(value, value)
            cells.append(value)
        rows.append(cells)
    return ExportTable(
        title=result.label,
        columns=[ExportColumn(c["label"], _format(c)) for c in columns],
        rows=rows,
        subtitle=_subtitle(result.params),
        generated_at=result.generated_at.astimezone(ZoneInfo(timezone)),
        generated_by=principal.username,
        language=language,
    )


def _format(column: Mapping[str, Any]) -> str | None:
    if column["role"] == "measure":
        found = column.get("format")
        return found if found in NUMBER_FORMATS else "number"
    return "date" if column.get("type") == "date" else None


def _subtitle(params: Mapping[str, Any]) -> str:
    return "; ".join(f"{k} = {v}" for k, v in params.items() if v is not None)


async def report_records(request: Request) -> Response:
    """`GET /api/{app}/reports/{report}/records`: the records behind one cell, paged."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    principal = signed_in(request)
    report = _report(catalog, request, principal)
    raw = dict(request.query_params)
    params = parse_params(report, raw)
    key = {name[2:]: value for name, value in raw.items() if name.startswith("k.")}
    limit = _limit(raw.get("limit"), runtime.settings.page_size, runtime.settings.max_page_size)

    def run() -> dict[str, Any]:
        return read_mostly(
            runtime.engine,
            lambda conn: drill_down(
                conn,
                catalog,
                report,
                principal,
                params,
                key,
                raw.get("cursor") or None,
                limit,
                measure=raw.get("m") or None,
            ),
        )

    return JSON(await run_in_threadpool(run))


def _limit(text: str | None, default: int, maximum: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise ValidationFailed(
            "invalid query parameters",
            [field_error("limit", f"expected a whole number from 1 to {maximum}")],
        )
    return int(text)


async def get_dashboard(request: Request) -> Response:
    """`GET /api/{app}/dashboards/{dashboard}`: each widget with its report's result."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    principal = signed_in(request)
    app, name = request.path_params["app"], request.path_params["dashboard"]
    dashboard = dashboard_of(catalog, app, name)
    if dashboard is None:
        raise NotFound(f"no dashboard {app}/{name}")
    language = language_of(request)

    def run() -> list[dict[str, Any]]:
        found = read_mostly(
            runtime.engine,
            lambda conn: run_dashboard(conn, catalog, dashboard, principal, language),
        )
        return [w.as_json() for w in found]

    widgets = await run_in_threadpool(run)
    if not widgets:
        raise Forbidden(f"the dashboard {app}.{name} has nothing you may see")
    label = pick(dashboard.definition.label, language, name)
    return JSON({"dashboard": dashboard.path, "label": label, "widgets": widgets})


ROUTES: list[BaseRoute] = [
    Route("/api/reports", list_reports, methods=["GET"]),
    Route("/api/{app}/reports/{report}", get_report, methods=["GET"]),
    Route("/api/{app}/reports/{report}/records", report_records, methods=["GET"]),
    Route("/api/{app}/dashboards/{dashboard}", get_dashboard, methods=["GET"]),
]


PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "reference": {"type": "integer"},
    "decimal": {"type": "string", "format": "decimal"},
    "date": {"type": "string", "format": "date"},
    "boolean": {"type": "boolean"},
}
ERRORS = {401: "not logged in", 403: "not allowed", 404: "unknown", 422: "a parameter is wrong"}


def openapi_paths(catalog: Catalog) -> dict[str, Any]:
    """The reports routes for `renderers/api/openapi.py`: one path per report, with its
    parameters, and one per dashboard."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    def op(summary: str, operation: str, query: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "tags": ["reports"],
            "summary": summary,
            "operationId": operation,
            "parameters": query,
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **{str(code): {"description": text, **error} for code, text in ERRORS.items()},
            },
        }

    def query(name: str, schema: dict[str, Any], text: str = "") -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": schema, "description": text}

    paths: dict[str, Any] = {
        "/api/reports": {"get": op("Reports and dashboards the caller may open", "listReports", [])}
    }
    formats = {"type": "string", "enum": ["json", *EXPORTERS]}
    for app, bundle in catalog.definitions.apps.items():
        for name, report in bundle.reports.items():
            params = [
                query(p, PARAM_SCHEMAS.get(spec.type, {"type": "string", "enum": spec.options}))
                for p, spec in report.params.items()
            ]
            label = pick(report.label, "en", name)
            base = f"/api/{app}/reports/{name}"
            shown = [*params, query("format", formats, "a download instead of JSON (audited)")]
            paths[base] = {"get": op(f"{label}: columns and rows", f"report_{app}_{name}", shown)}
            cell = [
                *params,
                *(
                    query(f"k.{d.name}", {"type": "string"}, "the cell's group")
                    for d in report.dimensions
                ),
                query("m", {"type": "string"}, "only the records a measure counts"),
                query("cursor", {"type": "string"}),
                query("limit", {"type": "integer"}),
            ]
            summary = f"{label}: the records behind a cell"
            paths[f"{base}/records"] = {"get": op(summary, f"report_{app}_{name}_records", cell)}
        for name, dashboard in bundle.dashboards.items():
            label = pick(dashboard.label, "en", name)
            summary = f"{label}: widgets with their reports' results"
            paths[f"/api/{app}/dashboards/{name}"] = {
                "get": op(summary, f"dashboard_{app}_{name}", [])
            }
    return paths
