"""`/{app}/dashboards/{dashboard}`: a dashboard's widgets (KPI numbers, charts, tables) on a
grid of 12 columns, each titled with a link to its report's own page.

The widgets come from `run_dashboard` (each a cached report run), as
`GET /api/{app}/dashboards/{dashboard}` answers them. Place and size come from the widget's
`x`, `width` and `height` as CSS classes (the CSP allows no inline style); widgets flow in
the order of their `y`, then `x`, and stack into one column on a phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.catalog import Catalog
from engine.database import read_mostly
from engine.errors import Forbidden, NotFound
from engine.principal import Principal
from engine.reports import dashboard_of, may_open, run_dashboard
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import principal_of
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.report_params import param_query
from renderers.html.report_view import ResultView, result_view
from renderers.html.reports import TEXTS as REPORT_TEXTS

TEXTS = {
    "zh": {**REPORT_TEXTS["zh"], "open_report": "打开报表", "widget_failed": "该组件无法显示："},
    "en": {
        **REPORT_TEXTS["en"],
        "open_report": "Open the report",
        "widget_failed": "Cannot show: ",
    },
}


@dataclass(frozen=True)
class WidgetView:
    """One widget: its title linking to the report's page (with the widget's parameters),
    its result drawn as `kind`, and its grid classes (`gx-`, `gw-`, `gh-`)."""

    id: str
    title: str
    report_url: str
    kind: str
    view: ResultView | None
    grid: str
    error: str = ""


@dataclass(frozen=True)
class DashboardPage:
    chrome: Chrome
    title: str
    description: str
    widgets: list[WidgetView]


def widget_view(
    index: int, widget: Mapping[str, Any], app: str, language: str, timezone: str
) -> WidgetView:
    """A widget from its JSON (`GET /api/…/dashboards/…`'s `widgets[i]`): the definition's
    fields and `result`, the report's answer (or `error` when it could not run)."""
    result = widget.get("result")
    report = str(widget["report"])
    owner, _, name = report.rpartition(".")
    path = f"/{owner or app}/reports/{name}"
    params = (result or {}).get("params") or widget.get("params") or {}
    query = param_query(params)
    url = f"{path}?{urlencode(query)}" if query else path
    title = pick(widget.get("title") or {}, language) or (result or {}).get("label") or name
    kind = str(widget.get("chart") or ((result or {}).get("chart") or {}).get("type") or "table")
    view = (
        result_view(result, language, timezone, f"{path}/records", query, kind) if result else None
    )
    x, width, height = (
        int(widget.get("x", 0)),
        int(widget.get("width", 6)),
        int(widget.get("height", 4)),
    )
    grid = f"widget gx-{x + 1} gw-{min(width, 12 - x)} gh-{height}"
    error = "" if result else str((widget.get("error") or {}).get("message", ""))
    return WidgetView(f"widget-{index}", title, url, kind, view, grid, error)


def dashboard_page(
    conn: sa.Connection,
    catalog: Catalog,
    app: str,
    name: str,
    principal: Principal,
    chrome: Chrome,
) -> DashboardPage:
    """404 for an unknown dashboard; 403 when it shows the principal nothing it may see."""
    dashboard = dashboard_of(catalog, app, name)
    if dashboard is None:
        raise NotFound(f"no dashboard {app}.{name}")
    if not may_open(catalog, dashboard, principal):
        raise Forbidden(f"the dashboard {app}.{name} has nothing you may see")
    language = chrome.language
    widgets = [w.as_json() for w in run_dashboard(conn, catalog, dashboard, principal, language)]
    ordered = sorted(
        enumerate(widgets), key=lambda item: (item[1].get("y", 0), item[1].get("x", 0), item[0])
    )
    timezone = catalog.options.timezone
    definition = dashboard.definition
    return DashboardPage(
        chrome=chrome,
        title=pick(definition.label, language, name),
        description=pick(definition.description, language),
        widgets=[widget_view(i, w, app, language, timezone) for i, w in ordered],
    )


async def dashboard_screen(request: Request) -> Response:
    """`GET /{app}/dashboards/{dashboard}`."""
    runtime: Runtime = request.app.state.runtime
    catalog = runtime.require_catalog()
    app, name = request.path_params["app"], request.path_params["dashboard"]
    principal = principal_of(request)
    language = language_of_page(request)
    dashboard = dashboard_of(catalog, app, name)
    title = pick(dashboard.definition.label, language, name) if dashboard is not None else name
    chrome = chrome_of(request, title, catalog, TEXTS)

    def run() -> DashboardPage:
        return read_mostly(
            runtime.engine, lambda conn: dashboard_page(conn, catalog, app, name, principal, chrome)
        )

    return render(request, "dashboard.html", await run_in_threadpool(run))


ROUTES: list[BaseRoute] = [
    Route("/{app}/dashboards/{dashboard}", dashboard_screen, methods=["GET"]),
]
