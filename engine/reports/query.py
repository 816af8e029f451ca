"""A compiled report as ONE SQLAlchemy Core SELECT.

    WITH base AS (SELECT <group keys>, <partial aggregates>
                  FROM source LEFT OUTER JOIN <aliases along reference paths>
                  WHERE <filters> AND <caller's row scope> GROUP BY <group keys>)
    SELECT … FROM (<base> UNION ALL <subtotals> UNION ALL <total>) LEFT JOIN <titles>

Group keys are raw values (reference ids, enum values, bucket labels, a hierarchy ancestor's
id); the titles of referenced records are joined once per group, after grouping. Roll-up
levels are computed from `base` when every measure combines exactly (count and sum add,
min and max take the extreme, avg carries its sum and count); a distinct count cannot be
combined, so each level then groups the source again — in the same statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.expressions import SqlContext
from engine.reports.compiled import CompiledDimension, CompiledMeasure, CompiledReport
from engine.reports.periods import bucket_sql
from engine.types import ExactDecimal
from metamodel.fields import DecimalField, EnumField
from metamodel.report_checks import PathStep

Element = sa.ColumnElement[Any]
COMBINE: dict[str, Callable[[Element], Element]] = {
    "count": sa.func.sum,
    "sum": sa.func.sum,
    "min": sa.func.min,
    "max": sa.func.max,
}


@dataclass
class Joins:
    """The FROM clause: the source table and one LEFT OUTER JOIN per reference path prefix."""

    source: CompiledEntity
    context: SqlContext
    from_: sa.FromClause = field(init=False)
    aliases: dict[tuple[str, ...], sa.FromClause] = field(default_factory=dict)
    joined: int = 0

    def __post_init__(self) -> None:
        self.from_ = self.source.table
        self.aliases[()] = self.source.table

    def alias(
        self, steps: tuple[PathStep, ...], entities: tuple[CompiledEntity, ...]
    ) -> sa.FromClause:
        """The table (aliased) reached by following `steps`, each a reference field."""
        current = self.aliases[()]
        for i, step in enumerate(steps):
            key = tuple(s.field for s in steps[: i + 1])
            if key not in self.aliases:
                target = entities[i + 1] if i + 1 < len(entities) else None
                assert target is not None, "a followed step has the next entity"
                joined = target.table.alias(f"j{len(self.aliases)}")
                self.from_ = self.from_.outerjoin(joined, joined.c.id == current.c[step.field])
                self.aliases[key] = joined
            current = self.aliases[key]
        return current

    def column(self, steps: tuple[PathStep, ...], entities: tuple[CompiledEntity, ...]) -> Element:
        """The last step's column (or virtual field's SQL) on its aliased table."""
        table = self.alias(steps[:-1], entities)
        entity, name = entities[-1], steps[-1].field
        virtual = entity.expressions.virtual.get(name)
        return virtual.sql(table, self.context) if virtual else table.c[name]

    def join(self, table: sa.Table, on: Callable[[sa.FromClause], Element]) -> sa.FromClause:
        """LEFT OUTER JOIN another alias of `table` on the condition `on(alias)`."""
        self.joined += 1
        alias = table.alias(f"h{self.joined}")
        self.from_ = self.from_.outerjoin(alias, on(alias))
        return alias


def dimension_key(dimension: CompiledDimension, joins: Joins, now: datetime) -> Element:
    """What rows group by for the dimension."""
    column = joins.column(dimension.steps, dimension.entities)
    definition = dimension.definition
    if definition.bucket is not None:
        context = joins.context
        kind = dimension.steps[-1].kind
        return bucket_sql(column, definition.bucket, kind, context.dialect, context.timezone, now)
    if definition.level is not None and dimension.target is not None:
        return _ancestor(dimension.target, definition.level, column, joins)
    return column


def _ancestor(target: CompiledEntity, level: str, column: Element, joins: Joins) -> Element:
    """The id of the record's ancestor (or itself) at `level`: the referenced record and its
    parents up to the levels below `level` are joined, the first of them at `level` wins."""
    hierarchy = target.definition.hierarchy
    assert hierarchy is not None, "levels are checked when definitions load"
    spec = target.fields[hierarchy.level]
    assert isinstance(spec, EnumField)
    levels = [o.value for o in spec.options]
    depth = len(levels) - levels.index(level)  # the record itself, then its parents
    whens: list[tuple[Element, Element]] = []
    below: Element = column
    for _ in range(depth):
        table = joins.join(target.table, _id_is(below))
        whens.append((table.c[hierarchy.level] == level, table.c.id))
        below = table.c[hierarchy.parent]
    return sa.case(*whens, else_=sa.null())


def _id_is(value: Element) -> Callable[[sa.FromClause], Element]:
    """The join condition `alias.id = value`."""

    def condition(alias: sa.FromClause) -> Element:
        return alias.c.id == value

    return condition


def partials(
    measure: CompiledMeasure, joins: Joins, where: Element | None
) -> list[tuple[str, Element]]:
    """The SQL aggregates a measure is computed from, labelled `<i>`, `<i>n`: an average
    carries its sum and count, so subtotals can be exact."""
    definition = measure.definition
    aggregate = definition.aggregate
    assert aggregate is not None
    value: Element = (
        joins.column(measure.steps, measure.entities) if measure.steps else sa.literal(1)
    )
    if where is not None:
        value = sa.case((where, value), else_=sa.null())
    match aggregate:
        case "count":
            return [
                (
                    "",
                    sa.func.count(value)
                    if (measure.steps or where is not None)
                    else sa.func.count(),
                )
            ]
        case "distinct":
            return [("", sa.func.count(sa.distinct(value)))]
        case "avg":
            return [("", _typed_sum(measure, value)), ("n", sa.func.count(value))]
        case "sum":
            return [("", _typed_sum(measure, value))]
    return [("", getattr(sa.func, aggregate)(value))]


def _typed_sum(measure: CompiledMeasure, value: Element) -> Element:
    spec = measure.steps[-1].spec if measure.steps else None
    if isinstance(spec, DecimalField):  # SQLite sums REALs: read back at the field's scale
        return sa.type_coerce(sa.func.sum(value), ExactDecimal(38, spec.scale))
    return sa.func.sum(value)


def combinable(report: CompiledReport) -> bool:
    """Whether subtotals can be computed from the finest groups (no distinct count)."""
    return all(
        m.definition.aggregate != "distinct" for m in report.measures if m.definition.aggregate
    )


@dataclass(frozen=True)
class Plan:
    """The statement and how its columns are named: `d<i>` group keys, `t<i>` titles,
    `o<i>` sort values of references, `m<i>` / `m<i>n` partial aggregates, `lvl`."""

    statement: sa.Select[Any]
    sql_sorted: bool


def build_statement(
    report: CompiledReport,
    context: SqlContext,
    conditions: list[Element],
    now: datetime,
    sql_limit: int | None = None,
) -> Plan:
    joins = Joins(report.source, context)
    keys = [dimension_key(d, joins, now).label(f"d{i}") for i, d in enumerate(report.dimensions)]
    measured: list[tuple[str, Element, str]] = []  # (label, partial, aggregate)
    for i, measure in enumerate(report.measures):
        aggregate = measure.definition.aggregate
        if aggregate is None:
            continue
        expression = report.expressions.wheres.get(measure.name)
        where = expression.sql_condition(report.source.table, context) if expression else None
        for suffix, element in partials(measure, joins, where):
            combine = "count" if suffix == "n" else "sum" if aggregate == "avg" else aggregate
            measured.append((f"m{i}{suffix}", element, combine))
    count = len(keys)

    def grouped(level: int) -> sa.Select[Any]:
        """The source grouped by the first `level` keys."""
        columns = [*keys[:level], *(_null_like(k) for k in keys[level:])]
        statement = sa.select(*columns, *(e.label(n) for n, e, _ in measured))
        statement = statement.add_columns(sa.literal(level, sa.Integer).label("lvl"))
        return statement.select_from(joins.from_).where(*conditions).group_by(*keys[:level])

    if not report.definition.rollup or count == 0:
        body: Any = grouped(count)
    elif combinable(report):
        base = grouped(count).cte("base")
        parts = [sa.select(base)]
        for level in range(count - 1, -1, -1):
            leading = [base.c[f"d{i}"] for i in range(level)]
            rest = [_null_like(base.c[f"d{i}"]) for i in range(level, count)]
            combined = [COMBINE[a](base.c[n]).label(n) for n, _, a in measured]
            part = sa.select(*leading, *rest, *combined, sa.literal(level, sa.Integer).label("lvl"))
            parts.append(part.group_by(*leading))
        body = sa.union_all(*parts)
    else:
        body = sa.union_all(*(grouped(level) for level in range(count, -1, -1)))
    grouped_rows = body.subquery("grouped")
    return _with_titles(report, grouped_rows, sql_limit)


def _null_like(column: Element) -> Element:
    return sa.cast(sa.null(), column.type).label(getattr(column, "name", None))


def _with_titles(report: CompiledReport, rows: sa.Subquery, sql_limit: int | None) -> Plan:
    """Join each reference dimension's target once per group for its title and sort value;
    with `sql_limit`, sort and cut in SQL (no roll-up, sort by groups or plain aggregates)."""
    columns: list[Element] = list(rows.c)
    from_: sa.FromClause = rows
    orders: dict[str, Element] = {}
    for i, dimension in enumerate(report.dimensions):
        target = dimension.target
        orders[dimension.name] = rows.c[f"d{i}"]
        if target is None:
            continue
        table = target.table.alias(f"t{i}")
        from_ = from_.outerjoin(table, table.c.id == rows.c[f"d{i}"])
        title = title_column(target)
        if title is not None:
            columns.append(table.c[title].label(f"t{i}"))
        order = sort_column(target) or title
        if order is not None:
            columns.append(table.c[order].label(f"o{i}"))
            orders[dimension.name] = table.c[order]
    statement = sa.select(*columns).select_from(from_)
    if sql_limit is None:
        return Plan(statement, False)
    for i, measure in enumerate(report.measures):
        orders[measure.name] = rows.c[f"m{i}"] if f"m{i}" in rows.c else sa.null()
    terms = []
    for term in report.definition.sort:
        column = orders[term.lstrip("-")]
        terms.append(
            column.desc().nulls_last() if term.startswith("-") else column.asc().nulls_last()
        )
    return Plan(statement.order_by(*terms).limit(sql_limit), True)


def title_column(target: CompiledEntity) -> str | None:
    """The column holding a referenced record's title; None (show `#id`) when the title is
    sensitive (only ciphertext in SQL), virtual or not set."""
    name = target.definition.title_field
    if name is None or name not in target.stored_fields or target.fields[name].sensitive:
        return None
    return name


def sort_column(target: CompiledEntity) -> str | None:
    """Referenced records sort as their entity's list does (`default_sort`'s first field)."""
    for term in target.definition.default_sort:
        name = term.lstrip("-")
        spec = target.stored_fields.get(name)
        if spec is not None and not spec.sensitive:
            return name
    return None
