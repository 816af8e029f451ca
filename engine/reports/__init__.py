"""Reports and dashboards: definitions compiled once per catalog into one SQL query each,
run with the caller's row scope, cached by definition version, parameters, scope and data
watermark. See docs/reports.md.

>>> report = report_of(catalog, "housing_stock", "units_by_status")
>>> params = parse_params(report, {"as_of": "2026-11-21"})
>>> run_report(conn, catalog, report, principal, params).as_json()["rows"][0]
{'district': '芙蓉区', 'status': 'vacant', 'units': 1200, '_key': {...}, '_level': 2}
"""

from __future__ import annotations

from engine.reports.cache import watermark
from engine.reports.compiled import CompiledDashboard, CompiledReport, dashboard_of, report_of
from engine.reports.dashboards import WidgetResult, may_open, run_dashboard
from engine.reports.drilling import drill_down
from engine.reports.params import parse_params
from engine.reports.results import ReportResult
from engine.reports.running import ReportEntry, may_run, run_report, runnable_reports

__all__ = [
    "CompiledDashboard",
    "CompiledReport",
    "ReportEntry",
    "ReportResult",
    "WidgetResult",
    "dashboard_of",
    "drill_down",
    "may_open",
    "may_run",
    "parse_params",
    "report_of",
    "run_dashboard",
    "run_report",
    "runnable_reports",
    "watermark",
]
