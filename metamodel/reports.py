"""Report and dashboard definitions: `reports/<name>.yaml` and `dashboards/<name>.yaml`.

A report counts and sums the records of one source entity, grouped by dimensions (fields,
paths through references, time buckets, levels of a hierarchy), after filters the
configurator writes and parameters the user fills in. It compiles to one SQL query that
carries the caller's row scope. A dashboard arranges reports as widgets on a grid, per role.
See docs/reports.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from metamodel.fields import Expression, Name, Strict
from metamodel.labels import Labels

FieldPath = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=200)]
"""A field of the source entity, or a path through references: `housing_unit.district`."""
EntityName = Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$")]
Bucket = Literal["day", "week", "month", "quarter", "year"]
Aggregate = Literal["count", "sum", "avg", "min", "max", "distinct"]
ChartType = Literal["bar", "line", "pie", "table", "kpi"]
ValueFormat = Literal["number", "integer", "money", "percent"]


class Param(Strict):
    """A value the user fills in, read by filters as `params.<name>`."""

    type: Literal["string", "integer", "decimal", "date", "boolean", "enum", "reference"]
    label: Labels = {}
    required: bool = False
    default: Expression | None = None
    """An expression evaluated when the user leaves the parameter out: `today`, `2025`."""
    options: list[Name] = []
    """The values of an `enum` parameter."""
    entity: EntityName | None = None
    """The entity a `reference` parameter points at."""

    @model_validator(mode="after")
    def _shape(self) -> Param:
        if self.type == "enum" and not self.options:
            raise ValueError("an enum parameter needs options")
        if self.type == "reference" and not self.entity:
            raise ValueError("a reference parameter needs entity")
        return self


class Dimension(Strict):
    """A grouping: a field (or path), optionally cut into time buckets or lifted to a level
    of a hierarchy (`level: district` on a region reference whose entity declares
    `hierarchy`)."""

    name: Name
    field: FieldPath
    label: Labels = {}
    bucket: Bucket | None = None
    level: Name | None = None


class Measure(Strict):
    """A number per group. Give `aggregate` (with `field` unless counting rows), `ratio`
    (two other measures: numerator, denominator) or `change` (another measure compared with
    the previous period or the same period a year before, along the report's time
    dimension)."""

    name: Name
    label: Labels = {}
    aggregate: Aggregate | None = None
    field: FieldPath | None = None
    where: Expression | None = None
    """Only the records for which this holds count towards the measure."""
    ratio: Annotated[list[Name], Field(min_length=2, max_length=2)] | None = None
    change: Name | None = None
    compare: Literal["previous", "year"] = "previous"
    """`previous`: period on period (环比); `year`: year on year (同比)."""
    format: ValueFormat = "number"

    @model_validator(mode="after")
    def _one_kind(self) -> Measure:
        kinds = [k for k in ("aggregate", "ratio", "change") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of aggregate, ratio and change")
        if self.aggregate not in (None, "count") and self.field is None:
            raise ValueError(f"{self.aggregate} needs a field")
        return self


class Chart(Strict):
    """How the result is drawn: `x` a dimension, `y` measures, `series` a second dimension
    that splits the bars or lines."""

    type: ChartType = "table"
    x: Name | None = None
    y: list[Name] = []
    series: Name | None = None


class Report(Strict):
    name: Name
    label: Labels = {}
    description: Labels = {}
    source: EntityName
    roles: list[Name] = []
    """Who may run it; empty: everyone who may read the source entity. Rows are always
    limited to the caller's read scope of the source."""
    params: dict[Name, Param] = {}
    filters: list[Expression] = []
    dimensions: list[Dimension] = []
    measures: Annotated[list[Measure], Field(min_length=1)]
    rollup: bool = False
    """Add subtotal rows for each leading run of dimensions, and a grand total."""
    sort: list[Annotated[str, Field(pattern=r"^-?[a-z][a-z0-9_]*$")]] = []
    limit: Annotated[int, Field(ge=1, le=10_000)] | None = None
    """Top-N: keep the first `limit` rows after sorting."""
    chart: Chart = Chart()


class Widget(Strict):
    """One report on a dashboard's grid of 12 columns."""

    report: EntityName
    """A report of this app, or `app.report`."""
    title: Labels = {}
    chart: ChartType | None = None
    """Draw the report differently here; its own chart otherwise."""
    params: dict[Name, str | int | float | bool] = {}
    x: Annotated[int, Field(ge=0, le=11)] = 0
    y: Annotated[int, Field(ge=0, le=200)] = 0
    width: Annotated[int, Field(ge=1, le=12)] = 6
    height: Annotated[int, Field(ge=1, le=12)] = 4


class Dashboard(Strict):
    name: Name
    label: Labels = {}
    description: Labels = {}
    roles: list[Name] = []
    """Who sees it; empty: everyone who may run one of its reports."""
    widgets: Annotated[list[Widget], Field(min_length=1)]
