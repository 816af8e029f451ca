"""A report or dashboard compiled against one catalog: its field paths resolved to entities,
its expressions checked, what each column shows, and which tables it reads — built once per
catalog version and kept in `catalog.cache`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.catalog import Catalog, CompiledEntity
from engine.expressions.report_expressions import (
    ReportExpressions,
    compile_report_expressions,
    read_entities,
)
from metamodel.fields import EnumField
from metamodel.labels import Labels, pick
from metamodel.report_checks import PathStep, resolve_path
from metamodel.reports import Dashboard, Dimension, Measure, Report

AGGREGATE_TYPES = {"count": "integer", "distinct": "integer", "avg": "decimal"}


@dataclass(frozen=True)
class CompiledDimension:
    """A grouping: its path, the entity whose titles it shows (references and levels), and
    the labels of its values (enums, flow states)."""

    definition: Dimension
    steps: tuple[PathStep, ...]
    entities: tuple[CompiledEntity, ...]  # the entity of each step
    target: CompiledEntity | None  # the referenced entity, for references and levels
    value_labels: dict[str, Labels] | None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def kind(self) -> str:
        """`reference`, `enum`, `period` (a time bucket) or the field's type."""
        if self.definition.bucket is not None:
            return "period"
        last = self.steps[-1].kind
        return "enum" if last == "state" else last


@dataclass(frozen=True)
class CompiledMeasure:
    definition: Measure
    steps: tuple[PathStep, ...]  # empty when the measure reads no field
    entities: tuple[CompiledEntity, ...]

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def kind(self) -> str:
        """The JSON type of the measure's values."""
        definition = self.definition
        if definition.aggregate is None:
            return "decimal"  # ratios and changes are fractions
        if definition.aggregate in AGGREGATE_TYPES:
            return AGGREGATE_TYPES[definition.aggregate]
        return self.steps[-1].kind if self.steps else "integer"


@dataclass(frozen=True)
class CompiledReport:
    app: str
    definition: Report
    source: CompiledEntity
    expressions: ReportExpressions
    dimensions: tuple[CompiledDimension, ...]
    measures: tuple[CompiledMeasure, ...]
    catalog_version: int

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def path(self) -> str:
        return f"{self.app}.{self.name}"

    def label(self, language: str) -> str:
        return pick(self.definition.label, language, self.name)

    @cached_property
    def entities(self) -> tuple[str, ...]:
        """Every entity ("app.entity") the report reads: its data watermark is theirs."""
        found = {self.source.path}
        for item in self.dimensions:
            found.update(e.path for e in item.entities)
        for measure in self.measures:
            found.update(e.path for e in measure.entities)
        for dimension in self.dimensions:
            if dimension.target is not None:
                found.add(dimension.target.path)
        for expression in (*self.expressions.filters, *self.expressions.wheres.values()):
            found.update(read_entities(expression))
        return tuple(sorted(found))

    def measure(self, name: str) -> CompiledMeasure | None:
        return next((m for m in self.measures if m.name == name), None)


@dataclass(frozen=True)
class CompiledDashboard:
    app: str
    definition: Dashboard

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def path(self) -> str:
        return f"{self.app}.{self.name}"


def report_of(catalog: Catalog, app: str, name: str) -> CompiledReport | None:
    """The report `app.name` compiled for this catalog (once), or None if not defined or not
    valid against it."""
    key = ("report", app, name)
    if key not in catalog.cache:
        catalog.cache[key] = _compile_report(catalog, app, name)
    found: CompiledReport | None = catalog.cache[key]
    return found


def dashboard_of(catalog: Catalog, app: str, name: str) -> CompiledDashboard | None:
    """The dashboard `app.name`, or None if not defined."""
    bundle = catalog.definitions.apps.get(app)
    definition = bundle.dashboards.get(name) if bundle else None
    return CompiledDashboard(app, definition) if definition is not None else None


def widget_report(catalog: Catalog, app: str, reference: str) -> CompiledReport | None:
    """The report a widget names: `name` in the dashboard's app, or `app.name`."""
    owner, _, name = reference.rpartition(".")
    return report_of(catalog, owner or app, name)


def _compile_report(catalog: Catalog, app: str, name: str) -> CompiledReport | None:
    definitions = catalog.definitions
    bundle = definitions.apps.get(app)
    definition = bundle.reports.get(name) if bundle else None
    if definition is None:
        return None
    resolved = definitions.resolve(app, definition.source)
    if resolved is None:
        return None
    source = catalog.entity(resolved[0], resolved[1].name)
    assert source is not None, "the catalog has every defined entity"
    located = definitions.calendar(app)
    calendar = f"{located[0]}.default" if located else None
    expressions, problems = compile_report_expressions(
        definitions, catalog.options.functions, app, definition, calendar
    )
    if problems:
        return None  # refused when the definitions were loaded; never half-compiled
    dimensions = []
    for dimension in definition.dimensions:
        steps, entities = _path(catalog, source, dimension.field)
        target = _target(catalog, steps[-1]) if steps[-1].kind == "reference" else None
        dimensions.append(
            CompiledDimension(dimension, steps, entities, target, _value_labels(catalog, steps))
        )
    measures = []
    for measure in definition.measures:
        steps, entities = _path(catalog, source, measure.field) if measure.field else ((), ())
        measures.append(CompiledMeasure(measure, steps, entities))
    return CompiledReport(
        app, definition, source, expressions, tuple(dimensions), tuple(measures), catalog.version
    )


def _path(
    catalog: Catalog, source: CompiledEntity, path: str
) -> tuple[tuple[PathStep, ...], tuple[CompiledEntity, ...]]:
    steps, problem = resolve_path(catalog.definitions, source.app, source.definition, path)
    assert problem is None, "report paths are checked when definitions load"
    entities = tuple(catalog.by_path(f"{s.app}.{s.entity.name}") for s in steps)
    return tuple(steps), entities


def _target(catalog: Catalog, step: PathStep) -> CompiledEntity | None:
    spec: Any = step.spec
    resolved = catalog.definitions.resolve(step.app, spec.entity)
    return catalog.entity(resolved[0], resolved[1].name) if resolved else None


def _value_labels(catalog: Catalog, steps: tuple[PathStep, ...]) -> dict[str, Labels] | None:
    """The labels of an enum's options, or of the flow's states."""
    last = steps[-1]
    if isinstance(last.spec, EnumField):
        return {o.value: o.label for o in last.spec.options}
    if last.kind == "state":
        flow = catalog.definitions.flow_of(last.app, last.entity.name)
        if flow is not None:
            return {name: state.label for name, state in flow.states.items()}
    return None
