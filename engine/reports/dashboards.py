"""Dashboards: the widgets of a dashboard that the caller may see, each a report result
(from the same cache as the report's own page and API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.errors import AnjuError, Forbidden
from engine.principal import Principal
from engine.reports.compiled import CompiledDashboard, dashboard_of, widget_report
from engine.reports.params import parse_params
from engine.reports.results import ReportResult
from engine.reports.running import may_run, run_report
from metamodel.reports import Widget

__all__ = ["WidgetResult", "dashboard_of", "may_open", "run_dashboard"]


@dataclass(frozen=True)
class WidgetResult:
    """One widget: where it sits, and its report's result — or why it has none."""

    widget: Widget
    report: str  # "app.report"
    result: ReportResult | None
    error: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = self.widget.model_dump(exclude_none=True)
        found["report"] = self.report
        found["result"] = self.result.as_json() if self.result is not None else None
        found["error"] = self.error
        return found


def _roles(principal: Principal) -> set[str]:
    return set(principal.roles) | {a.role for a in principal.held_roles()}


def may_open(catalog: Catalog, dashboard: CompiledDashboard, principal: Principal) -> bool:
    """The dashboard's roles (if it names any), and at least one widget the caller may run."""
    roles = dashboard.definition.roles
    if roles and not principal.is_superuser and not _roles(principal) & set(roles):
        return False
    for widget in dashboard.definition.widgets:
        report = widget_report(catalog, dashboard.app, widget.report)
        if report is not None and may_run(report, principal):
            return True
    return False


def run_dashboard(
    conn: sa.Connection,
    catalog: Catalog,
    dashboard: CompiledDashboard,
    principal: Principal,
    language: str = "zh",
) -> list[WidgetResult]:
    """The widgets whose reports the caller may run, in the definition's order; a widget whose
    report refuses (a field hidden from the caller) carries the error instead of a result."""
    roles = dashboard.definition.roles
    if roles and not principal.is_superuser and not _roles(principal) & set(roles):
        raise Forbidden(f"the dashboard {dashboard.path} is for {', '.join(roles)}")
    found: list[WidgetResult] = []
    for widget in dashboard.definition.widgets:
        report = widget_report(catalog, dashboard.app, widget.report)
        if report is None or not may_run(report, principal):
            continue
        raw = {name: _text(value) for name, value in widget.params.items()}
        try:
            params = parse_params(report, raw)
            result = run_report(conn, catalog, report, principal, params, language)
        except AnjuError as error:
            found.append(WidgetResult(widget, report.path, None, error.as_json()["error"]))
            continue
        found.append(WidgetResult(widget, report.path, result))
    return found


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
