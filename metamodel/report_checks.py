"""Semantic checks of reports, dashboards and entity hierarchies, each naming file and path.

A report's field paths must resolve through reference fields, buckets need time fields,
`level` a reference to an entity with a `hierarchy`, aggregates fitting fields; sensitive
values never become groups or sums. Filters, measure `where` conditions and parameter
defaults are expressions, checked by the engine's expression pass
(`engine/expressions/report_expressions.py`) with file, path and column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metamodel.definitions import Definitions, Key
from metamodel.errors import DefinitionError
from metamodel.fields import EnumField, FieldDefinition, ReferenceField
from metamodel.models import PLATFORM_ROLES, Entity
from metamodel.reports import Dashboard, Measure, Report

Reporter = Callable[[Key, tuple[Any, ...], str], DefinitionError]
Problems = list[tuple[tuple[Any, ...], str]]
SYSTEM_KINDS = {
    "id": "integer",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "string",
    "updated_by": "string",
}
GROUPABLE = ("string", "integer", "decimal", "boolean", "date", "datetime", "enum", "reference")
TIME_KINDS = ("date", "datetime")
NUMBER_KINDS = ("integer", "decimal")
ORDERED_KINDS = ("integer", "decimal", "date", "datetime")
GRID_COLUMNS = 12


@dataclass(frozen=True)
class PathStep:
    """One field along a report's field path: the entity it belongs to and its kind
    (a field type, or `state` for the flow state)."""

    app: str
    entity: Entity
    field: str
    spec: FieldDefinition | None  # None for system columns
    kind: str

    @property
    def sensitive(self) -> bool:
        return bool(self.spec is not None and self.spec.sensitive)


def resolve_path(
    definitions: Definitions, app: str, entity: Entity, path: str
) -> tuple[list[PathStep], str | None]:
    """The steps of `a.b.c` from `entity` (each but the last a reference field), or the
    steps found so far and why the path does not resolve."""
    steps: list[PathStep] = []
    current_app, current = app, entity
    names = path.split(".")
    for i, name in enumerate(names):
        step = _step(definitions, current_app, current, name)
        if step is None:
            return steps, f"{current.name} has no field {name!r}"
        steps.append(step)
        if i == len(names) - 1:
            return steps, None
        spec = step.spec
        if not isinstance(spec, ReferenceField):
            return steps, f"{current.name}.{name} is not a reference, so it cannot be followed"
        target = definitions.resolve(current_app, spec.entity)
        if target is None:
            return steps, f"{current.name}.{name} refers to an unknown entity"
        current_app, current = target
    return steps, None


def _step(definitions: Definitions, app: str, entity: Entity, name: str) -> PathStep | None:
    spec = entity.fields.get(name)
    if spec is not None:  # a virtual field is read through its SQL expression
        return PathStep(app, entity, name, spec, spec.type)
    if name in SYSTEM_KINDS:
        return PathStep(app, entity, name, None, SYSTEM_KINDS[name])
    if name == "state" and definitions.flow_of(app, entity.name) is not None:
        return PathStep(app, entity, name, None, "state")
    return None


def check_reports(definitions: Definitions, report: Reporter) -> list[DefinitionError]:
    """Every problem of every report, dashboard and entity `hierarchy`."""
    errors: list[DefinitionError] = []
    roles = _known_roles(definitions)
    for app_name, bundle in definitions.apps.items():
        for entity in bundle.entities.values():
            key = (app_name, "entity", entity.name)
            errors += [report(key, p, m) for p, m in hierarchy_problems(entity)]
        for definition in bundle.reports.values():
            key = (app_name, "report", definition.name)
            problems = report_problems(definitions, app_name, definition, roles)
            errors += [report(key, p, m) for p, m in problems]
        for dashboard in bundle.dashboards.values():
            key = (app_name, "dashboard", dashboard.name)
            problems = dashboard_problems(definitions, app_name, dashboard, roles)
            errors += [report(key, p, m) for p, m in problems]
    return errors


def _known_roles(definitions: Definitions) -> set[str]:
    roles = set(PLATFORM_ROLES)
    for bundle in definitions.apps.values():
        roles.update(bundle.roles.roles)
    return roles


def hierarchy_problems(entity: Entity) -> Problems:
    """`parent` must refer to the entity itself, `level` be an enum field."""
    hierarchy = entity.hierarchy
    if hierarchy is None:
        return []
    found: Problems = []
    parent = entity.fields.get(hierarchy.parent)
    target = parent.entity.rpartition(".")[2] if isinstance(parent, ReferenceField) else None
    if target != entity.name:
        found.append((("hierarchy", "parent"), f"expected a reference field to {entity.name}"))
    if not isinstance(entity.fields.get(hierarchy.level), EnumField):
        found.append((("hierarchy", "level"), "expected an enum field naming each level"))
    return found


def report_problems(
    definitions: Definitions, app: str, report: Report, roles: set[str]
) -> Problems:
    found: Problems = []
    resolved = definitions.resolve(app, report.source)
    for i, role in enumerate(report.roles):
        if role not in roles:
            found.append((("roles", i), f"unknown role {role!r}; declare it in a roles.yaml"))
    for name, param in report.params.items():
        if param.entity and definitions.resolve(app, param.entity) is None:
            found.append((("params", name, "entity"), f"unknown entity {param.entity!r}"))
    if resolved is None:
        return found + [(("source",), f"unknown entity {report.source!r}")]
    source_app, source = resolved
    names: dict[str, str] = {}
    for i, dimension in enumerate(report.dimensions):
        where = ("dimensions", i)
        if dimension.name in names:
            found.append((where + ("name",), f"{dimension.name!r} is used twice"))
        names[dimension.name] = "dimension"
        steps, problem = resolve_path(definitions, source_app, source, dimension.field)
        if problem is not None:
            found.append((where + ("field",), problem))
            continue
        found += [(where + (k,), m) for k, m in _dimension_problems(definitions, dimension, steps)]
    for i, measure in enumerate(report.measures):
        where = ("measures", i)
        if measure.name in names:
            found.append((where + ("name",), f"{measure.name!r} is used twice"))
        names[measure.name] = "measure"
        if measure.field is not None:
            steps, problem = resolve_path(definitions, source_app, source, measure.field)
            if problem is not None:
                found.append((where + ("field",), problem))
            elif measure.aggregate is not None:
                found += [(where + (k,), m) for k, m in _aggregate_problems(measure, steps[-1])]
    found += _derived_problems(report)
    found += _layout_problems(report, names)
    return found


def _dimension_problems(
    definitions: Definitions, dimension: Any, steps: list[PathStep]
) -> list[tuple[str, str]]:
    last = steps[-1]
    found: list[tuple[str, str]] = []
    if any(step.sensitive for step in steps):
        found.append(("field", f"{last.field} is sensitive (encrypted); it cannot be a group"))
    if last.kind not in GROUPABLE + ("state",):
        found.append(("field", f"a {last.kind} field cannot be a group"))
    if dimension.bucket is not None and dimension.level is not None:
        found.append(("level", "give either bucket or level"))
    if dimension.bucket is not None and last.kind not in TIME_KINDS:
        found.append(("bucket", f"time buckets need a date or datetime field, not {last.kind}"))
    if dimension.level is not None:
        problem = _level_problem(definitions, last, dimension.level)
        if problem:
            found.append(("level", problem))
    return found


def _level_problem(definitions: Definitions, last: PathStep, level: str) -> str | None:
    if not isinstance(last.spec, ReferenceField):
        return "a level needs a reference to an entity with a hierarchy"
    resolved = definitions.resolve(last.app, last.spec.entity)
    if resolved is None or resolved[1].hierarchy is None:
        return f"{last.spec.entity} declares no hierarchy"
    target = resolved[1]
    assert target.hierarchy is not None
    levels = target.fields.get(target.hierarchy.level)
    options = [o.value for o in levels.options] if isinstance(levels, EnumField) else []
    if level not in options:
        return f"{level!r} is not a level of {target.name}; expected one of {', '.join(options)}"
    return None


def _aggregate_problems(measure: Measure, last: PathStep) -> list[tuple[str, str]]:
    aggregate = measure.aggregate
    if last.sensitive and aggregate not in ("count", "distinct"):
        return [("aggregate", f"{last.field} is sensitive; only count and distinct may read it")]
    if aggregate in ("sum", "avg") and last.kind not in NUMBER_KINDS:
        return [("aggregate", f"{aggregate} needs a number field, not {last.kind}")]
    if aggregate in ("min", "max") and last.kind not in ORDERED_KINDS:
        return [("aggregate", f"{aggregate} needs a number, date or datetime field")]
    if aggregate == "distinct" and last.kind == "json":
        return [("aggregate", "json values cannot be counted apart")]
    return []


def _derived_problems(report: Report) -> Problems:
    """Ratios name two aggregate measures; a change names another measure and needs exactly
    one bucketed dimension to find the period before."""
    found: Problems = []
    kinds = {m.name: m for m in report.measures}
    buckets = [d for d in report.dimensions if d.bucket is not None]
    for i, measure in enumerate(report.measures):
        for j, name in enumerate(measure.ratio or []):
            other = kinds.get(name)
            if other is None or other.aggregate is None:
                found.append(
                    (("measures", i, "ratio", j), f"expected an aggregate measure, not {name!r}")
                )
        if measure.change is not None:
            other = kinds.get(measure.change)
            if other is None or other.change is not None or other is measure:
                message = f"expected another aggregate or ratio measure, not {measure.change!r}"
                found.append((("measures", i, "change"), message))
            if len(buckets) != 1:
                message = "a change needs exactly one dimension with a time bucket"
                found.append((("measures", i, "change"), message))
        if measure.where is not None and measure.aggregate is None:
            found.append((("measures", i, "where"), "only aggregate measures take where"))
    return found


def _layout_problems(report: Report, names: dict[str, str]) -> Problems:
    found: Problems = []
    for i, term in enumerate(report.sort):
        if term.lstrip("-") not in names:
            found.append((("sort", i), f"{term.lstrip('-')!r} is not a dimension or measure"))
    chart = report.chart
    for key, name in (("x", chart.x), ("series", chart.series)):
        if name is not None and names.get(name) != "dimension":
            found.append((("chart", key), f"{name!r} is not a dimension of the report"))
    for i, name in enumerate(chart.y):
        if names.get(name) != "measure":
            found.append((("chart", "y", i), f"{name!r} is not a measure of the report"))
    if chart.type == "kpi" and not chart.y:
        found.append((("chart", "y"), "a KPI shows a measure: give y"))
    return found


def dashboard_problems(
    definitions: Definitions, app: str, dashboard: Dashboard, roles: set[str]
) -> Problems:
    """Widgets name existing reports and their parameters, and do not overlap."""
    found: Problems = []
    for i, role in enumerate(dashboard.roles):
        if role not in roles:
            found.append((("roles", i), f"unknown role {role!r}; declare it in a roles.yaml"))
    placed: list[tuple[int, int, int, int, int]] = []
    for i, widget in enumerate(dashboard.widgets):
        where = ("widgets", i)
        owner, _, name = widget.report.rpartition(".")
        bundle = definitions.apps.get(owner or app)
        target = bundle.reports.get(name) if bundle else None
        if target is None:
            found.append((where + ("report",), f"unknown report {widget.report!r}"))
        else:
            for param in widget.params:
                if param not in target.params:
                    message = f"the report {widget.report} has no parameter {param!r}"
                    found.append((where + ("params", param), message))
        if widget.x + widget.width > GRID_COLUMNS:
            found.append((where + ("width",), f"the widget reaches past column {GRID_COLUMNS}"))
        box = (widget.x, widget.y, widget.x + widget.width, widget.y + widget.height)
        for j, *other in placed:
            if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                found.append((where, f"the widget overlaps widget {j}"))
        placed.append((i, *box))
    return found
