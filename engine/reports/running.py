"""Running a report for a caller: who may, which fields it may group and sum, the caller's row
scope in the query, and the result from the cache while the data has not moved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.errors import Forbidden
from engine.permissions import FieldLevel, access_for
from engine.principal import Principal
from engine.records.evaluation import environment, sql_context
from engine.reports.cache import result_cache, scope_signature, watermark
from engine.reports.compiled import CompiledDimension, CompiledReport, report_of
from engine.reports.params import params_as_text, report_now
from engine.reports.query import build_statement, title_column
from engine.reports.results import ReportResult, finish_rows, shape_rows
from metamodel.labels import Labels, pick

PLAIN_AGGREGATES = ("count", "sum", "min", "max", "distinct")  # sortable in SQL as they are


@dataclass(frozen=True)
class ReportEntry:
    """A report or dashboard the caller may open."""

    app: str
    name: str
    label: Labels
    kind: str  # report | dashboard
    path: str  # the screen: /{app}/reports/{name} or /{app}/dashboards/{name}


def may_run(report: CompiledReport, principal: Principal) -> bool:
    """The report's roles (if it names any) and read on its source entity."""
    if principal.is_superuser:
        return True
    roles = set(principal.roles) | {a.role for a in principal.held_roles()}
    if report.definition.roles and not roles & set(report.definition.roles):
        return False
    return access_for(report.source, principal).allows("read")


def runnable_reports(catalog: Catalog, principal: Principal) -> list[ReportEntry]:
    """The reports the caller may run and the dashboards with a widget it may see, by app."""
    from engine.reports.dashboards import dashboard_of, may_open

    found: list[ReportEntry] = []
    for app, bundle in catalog.definitions.apps.items():
        for name, definition in bundle.reports.items():
            report = report_of(catalog, app, name)
            if report is not None and may_run(report, principal):
                path = f"/{app}/reports/{name}"
                found.append(ReportEntry(app, name, definition.label, "report", path))
        for name, dashboard in bundle.dashboards.items():
            compiled = dashboard_of(catalog, app, name)
            if compiled is not None and may_open(catalog, compiled, principal):
                path = f"/{app}/dashboards/{name}"
                found.append(ReportEntry(app, name, dashboard.label, "dashboard", path))
    return found


def check_fields(report: CompiledReport, principal: Principal) -> list[bool]:
    """403 naming the first field the caller may not read along a dimension or measure path
    (a dimension needs its values in clear; a measure other than a count, unmasked values);
    returns, per dimension, whether the caller sees the titles of the records it names."""
    for label, item in _paths(report):
        for step, entity in zip(item.steps, item.entities, strict=True):
            if step.spec is None:
                continue  # system columns follow the record's own visibility
            level = access_for(entity, principal).level(step.field)
            counted = label.startswith("measures") and getattr(
                item.definition, "aggregate", None
            ) in ("count", "distinct")
            if level == FieldLevel.HIDDEN or (level == FieldLevel.MASKED and not counted):
                shown = "hidden from" if level == FieldLevel.HIDDEN else "masked for"
                raise Forbidden(f"{label}: the field {entity.path}.{step.field} is {shown} you")
    titled = []
    for dimension in report.dimensions:
        titled.append(_titled(dimension, principal))
    return titled


def _paths(report: CompiledReport) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [(f"dimensions.{d.name}", d) for d in report.dimensions]
    return found + [(f"measures.{m.name}", m) for m in report.measures if m.steps]


def _titled(dimension: CompiledDimension, principal: Principal) -> bool:
    target = dimension.target
    if target is None:
        return False
    title = title_column(target)
    return title is not None and access_for(target, principal).clear(title)


def run_report(
    conn: sa.Connection,
    catalog: Catalog,
    report: CompiledReport,
    principal: Principal,
    params: Mapping[str, Any],
    language: str = "zh",
    *,
    cache: bool = True,
) -> ReportResult:
    """The report's rows that the caller may see (its read scope on the source is part of
    the query), from the cache while nothing the report reads was written."""
    if not may_run(report, principal):
        raise Forbidden(f"you may not run the report {report.path}")
    titled = check_fields(report, principal)
    now = report_now(catalog)
    env = environment(None, report.source, principal, {"params": dict(params)}, now)
    shown = params_as_text(params)
    key = (
        catalog.version,
        report.path,
        tuple(sorted((k, str(v)) for k, v in shown.items())),
        env.today,
        scope_signature(report, principal),
        watermark(conn, report.entities),
        language,
    )
    results = result_cache(catalog)
    if cache:
        hit = results.get(key)
        if hit is not None:
            return hit.hit()  # type: ignore[no-any-return]
    context = sql_context(conn, report.source, env)
    table = report.source.table
    conditions = [f.sql_condition(table, context) for f in report.expressions.filters]
    scope = access_for(report.source, principal).row_condition("read", table, context)
    if scope is not None:
        conditions.append(scope)
    plan = build_statement(report, context, conditions, now, _sql_limit(report))
    found = conn.execute(plan.statement).mappings().all()
    rows = finish_rows(report, shape_rows(report, found, titled), plan.sql_sorted)
    result = ReportResult(
        report=report.path,
        label=report.label(language),
        version=catalog.version,
        columns=columns(report, language),
        rows=rows,
        chart=report.definition.chart.model_dump(exclude_none=True),
        params=shown,
        generated_at=now,
        kinds={m.name: m.kind for m in report.measures},
    )
    results.put(key, result)
    return result


def _sql_limit(report: CompiledReport) -> int | None:
    """Top-N cut in SQL when the sort needs nothing computed after the query."""
    definition = report.definition
    if definition.limit is None or definition.rollup:
        return None
    dimensions = {d.name for d in report.dimensions}
    plain = {m.name for m in report.measures if m.definition.aggregate in PLAIN_AGGREGATES}
    if all(t.lstrip("-") in dimensions | plain for t in definition.sort):
        return definition.limit
    return None


def columns(report: CompiledReport, language: str) -> list[dict[str, Any]]:
    """What each column of the rows holds: name, label, role, type, format, value labels."""
    found: list[dict[str, Any]] = []
    for dimension in report.dimensions:
        labels = dimension.value_labels
        found.append(
            {
                "name": dimension.name,
                "label": pick(dimension.definition.label, language, dimension.name),
                "role": "dimension",
                "type": "reference" if dimension.target is not None else dimension.kind,
                "format": None,
                "labels": {k: pick(v, language, k) for k, v in labels.items()} if labels else None,
            }
        )
    for measure in report.measures:
        definition = measure.definition
        found.append(
            {
                "name": measure.name,
                "label": pick(definition.label, language, measure.name),
                "role": "measure",
                "type": measure.kind,
                "format": _format(report, definition),
                "labels": None,
            }
        )
    return found


def _format(report: CompiledReport, definition: Any) -> str:
    if definition.format != "number":
        return str(definition.format)
    if definition.ratio or definition.change:
        return "percent"
    if definition.aggregate in ("count", "distinct"):
        return "integer"
    return "number"
