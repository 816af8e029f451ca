"""Drill-down: the records behind one cell of a report, a page at a time.

A cell is named by its row's `_key` (`?k.district=12&k.status=vacant`): each dimension
becomes a condition on the source table — a value through reference paths (as nested
`IN` subqueries), a bucket label the range of dates it covers, a hierarchy level the subtree
under the named record. With the report's filters (and a measure's `where` when one is
named) they go through the records listing path, which adds the caller's row scope, pages
with cursors and counts — so the count equals the cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.errors import Forbidden, ValidationFailed, field_error
from engine.permissions import access_for
from engine.principal import Principal
from engine.records.evaluation import environment, sql_context
from engine.records.listing import list_records, parse_list_query
from engine.reports.compiled import CompiledDimension, CompiledReport
from engine.reports.params import report_now
from engine.reports.periods import datetime_range, period_end, period_start
from engine.reports.running import check_fields, may_run
from metamodel.fields import EnumField

Condition = sa.ColumnElement[bool]


def drill_down(
    conn: sa.Connection,
    catalog: Catalog,
    report: CompiledReport,
    principal: Principal,
    params: Mapping[str, Any],
    key: Mapping[str, str],
    cursor: str | None = None,
    limit: int = 50,
    *,
    measure: str | None = None,
) -> dict[str, Any]:
    """`{"items", "next_cursor", "count"}` as `GET /api/{app}/{entity}` gives them: the
    source records in the cell `key` (dimension → value; missing dimensions are not
    constrained, as in a subtotal row), within the caller's scope."""
    if not may_run(report, principal):
        raise Forbidden(f"you may not run the report {report.path}")
    check_fields(report, principal)
    source = report.source
    now = report_now(catalog)
    env = environment(None, source, principal, {"params": dict(params)}, now)
    context = sql_context(conn, source, env)
    table = source.table
    where = [f.sql_condition(table, context) for f in report.expressions.filters]
    if measure is not None:
        found = report.measure(measure)
        if found is None:
            raise ValidationFailed("unknown measure", [field_error("m", f"no measure {measure!r}")])
        if measure in report.expressions.wheres:
            where.append(report.expressions.wheres[measure].sql_condition(table, context))
    names = {d.name: d for d in report.dimensions}
    errors = [field_error(f"k.{n}", "not a dimension of the report") for n in key if n not in names]
    for name, text in key.items():
        if name not in names:
            continue
        try:
            where.append(_cell(conn, catalog, names[name], text))
        except ValueError as exc:
            errors.append(field_error(f"k.{name}", str(exc)))
    if errors:
        raise ValidationFailed("the cell is not one of the report's", errors)
    raw = [("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
    query = parse_list_query(source, raw, access=access_for(source, principal))
    page = list_records(conn, source, query, principal, where=where)
    return {"items": page.items, "next_cursor": page.next_cursor, "count": page.count}


def _cell(
    conn: sa.Connection, catalog: Catalog, dimension: CompiledDimension, text: str
) -> Condition:
    """The condition on the source table that a dimension's value in `_key` stands for."""
    definition = dimension.definition
    last = dimension.steps[-1]
    entity = dimension.entities[-1]
    column = _column(entity, last.field)
    condition: Condition
    if text == "":
        condition = column.is_(None)
    elif definition.bucket is not None:
        start = period_start(definition.bucket, text)
        if start is None:
            raise ValueError(
                f"expected a {definition.bucket} such as the report shows, got {text!r}"
            )
        end = period_end(definition.bucket, start)
        if last.kind == "datetime":
            low, high = datetime_range(start, end, catalog.options.timezone)
            condition = sa.and_(column >= low, column < high)
        else:
            condition = sa.and_(column >= start, column < end)
    elif definition.level is not None and dimension.target is not None:
        condition = column.in_(_subtree(conn, dimension.target, _whole(text)))
    else:
        condition = column == _value(dimension, last.kind, text)
    return _through(dimension, condition)


def _column(entity: CompiledEntity, name: str) -> sa.ColumnElement[Any]:
    virtual = entity.expressions.virtual.get(name)
    if virtual is not None:
        raise ValueError("a virtual field's value cannot name records; drill down by another")
    return entity.table.c[name]


def _through(dimension: CompiledDimension, condition: Condition) -> Condition:
    """A condition on the last entity of a path, as one on the source: nested `IN`s."""
    for step, entity in reversed(
        list(zip(dimension.steps[:-1], dimension.entities[:-1], strict=True))
    ):
        target = dimension.entities[dimension.entities.index(entity) + 1]
        ids = sa.select(target.table.c.id).where(condition)
        condition = entity.table.c[step.field].in_(ids)
    return condition


def _subtree(conn: sa.Connection, target: CompiledEntity, root: int) -> list[int]:
    """The record and every record under it, one level of the hierarchy per query."""
    hierarchy = target.definition.hierarchy
    assert hierarchy is not None
    spec = target.fields[hierarchy.level]
    depth = len(spec.options) if isinstance(spec, EnumField) else 8
    parent = target.table.c[hierarchy.parent]
    found, frontier = [root], [root]
    for _ in range(depth):
        query = sa.select(target.table.c.id).where(parent.in_(frontier))
        frontier = [int(i) for i in conn.execute(query).scalars()]
        if not frontier:
            break
        found += frontier
    return found


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a record id, got {text!r}") from None


def _value(dimension: CompiledDimension, kind: str, text: str) -> Any:
    match kind:
        case "reference" | "integer":
            return _whole(text)
        case "decimal":
            try:
                return Decimal(text)
            except InvalidOperation:
                raise ValueError(f"expected a number, got {text!r}") from None
        case "boolean":
            if text not in ("true", "false"):
                raise ValueError(f"expected true or false, got {text!r}")
            return text == "true"
        case "date":
            return date.fromisoformat(text)
    labels = dimension.value_labels
    if labels is not None and text not in labels:
        raise ValueError(f"expected one of {', '.join(labels)}, got {text!r}")
    return text
