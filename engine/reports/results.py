"""From the grouped rows the query returns to the rows a report shows.

Averages are divided from their sums and counts; ratios and period-on-period or
year-on-year changes are computed here, from the grouped rows, rather than in SQL: a
window function (`LAG`) would compare with whichever group happens to come before —
wrong when a period has no rows — and a year-on-year self-join would double the query.
Here a change looks its base period up by label among rows of the same level and other
groups, exactly, on every database; the rows are few (one per group). Sorting, top-N and
the placing of roll-up subtotals after their group happen here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.reports.compiled import CompiledReport
from engine.reports.periods import earlier_label

QUANTUM = Decimal("0.000001")  # six places, as the expression language's division
Row = dict[str, Any]


@dataclass(frozen=True)
class ReportResult:
    """A report's result; `as_json()` is the API's body."""

    report: str
    label: str
    version: int
    columns: list[dict[str, Any]]
    rows: list[Row]
    chart: dict[str, Any]
    params: dict[str, Any]
    generated_at: datetime
    cached: bool = False
    kinds: dict[str, str] = field(default_factory=dict)  # measure → integer|decimal|…

    def hit(self) -> ReportResult:
        return replace(self, cached=True)

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "label": self.label,
            "version": self.version,
            "columns": self.columns,
            "rows": [{k: _number(v, self.kinds.get(k)) for k, v in r.items()} for r in self.rows],
            "chart": self.chart,
            "params": self.params,
            "generated_at": self.generated_at.isoformat(),
            "cached": self.cached,
        }


def _number(value: Any, kind: str | None) -> Any:
    """Decimals as JSON numbers: whole ones of integer measures as integers."""
    if isinstance(value, Decimal):
        return (
            int(value) if kind == "integer" and value == value.to_integral_value() else float(value)
        )
    return value


def shape_rows(
    report: CompiledReport, found: Sequence[Mapping[Any, Any]], titled: Sequence[bool]
) -> list[Row]:
    """Each SQL row as the report shows it, with `_key`, `_level` and (kept until
    `finish_rows`) its raw group values and sort values."""
    dimensions = report.dimensions
    rows: list[Row] = []
    for sql_row in found:
        level = int(sql_row["lvl"])
        row: Row = {}
        raw: list[Any] = []
        order: list[Any] = []
        for i, dimension in enumerate(dimensions):
            value = sql_row[f"d{i}"] if i < level else None
            raw.append(_plain(value))
            order.append(_plain(sql_row.get(f"o{i}", value)) if i < level else None)
            if i >= level or value is None:
                row[dimension.name] = None
            elif dimension.target is not None:
                title = sql_row.get(f"t{i}") if titled[i] else None
                row[dimension.name] = title if title is not None else f"#{value}"
            else:
                row[dimension.name] = _plain(value)
        for i, measure in enumerate(report.measures):
            aggregate = measure.definition.aggregate
            if aggregate == "avg":
                total, count = sql_row[f"m{i}"], sql_row[f"m{i}n"]
                row[measure.name] = _divide(total, count)
            elif aggregate is not None:
                value = sql_row[f"m{i}"]
                row[measure.name] = (
                    0 if value is None and aggregate in ("count", "distinct") else value
                )
        for measure in report.measures:
            if measure.definition.ratio:
                top, bottom = measure.definition.ratio
                row[measure.name] = _divide(row.get(top), row.get(bottom))
        row["_key"] = {d.name: raw[i] for i, d in enumerate(dimensions) if i < level}
        row["_level"] = level
        row["__raw"], row["__order"] = tuple(raw), tuple(order)
        rows.append(row)
    _changes(report, rows)
    order = [*(d.name for d in dimensions), *(m.name for m in report.measures)]
    return [{**{name: row[name] for name in order}, **row} for row in rows]


def _plain(value: Any) -> Any:
    """Dates as ISO text; everything else as it came."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _divide(top: Any, bottom: Any) -> Decimal | None:
    if top is None or bottom in (None, 0):
        return None
    quotient = Decimal(str(top)) / Decimal(str(bottom))
    return quotient.quantize(QUANTUM, rounding=ROUND_HALF_UP)


def _changes(report: CompiledReport, rows: list[Row]) -> None:
    """Each change measure against its base period among the rows of the same level."""
    changes = [m.definition for m in report.measures if m.definition.change]
    if not changes:
        return
    index = next(i for i, d in enumerate(report.dimensions) if d.definition.bucket)
    bucket = report.dimensions[index].definition.bucket
    assert bucket is not None
    by_key = {(row["_level"], row["__raw"]): row for row in rows}
    for row in rows:
        for measure in changes:
            assert measure.change is not None
            row[measure.name] = None
            label = row["__raw"][index]
            if row["_level"] <= index or label is None:
                continue
            earlier = earlier_label(bucket, str(label), measure.compare)
            raw = list(row["__raw"])
            raw[index] = earlier
            base = by_key.get((row["_level"], tuple(raw)))
            now, then = row.get(measure.change), base.get(measure.change) if base else None
            if now is not None and then not in (None, 0):
                row[measure.name] = _divide(Decimal(str(now)) - Decimal(str(then)), then)


def finish_rows(report: CompiledReport, rows: list[Row], sql_sorted: bool) -> list[Row]:
    """Sorted, cut to the report's `limit`, subtotals after their groups and the grand total
    last; without the internal values."""
    count = len(report.dimensions)
    details = [r for r in rows if r["_level"] == count]
    if not sql_sorted:
        _sort(report, details)
    if report.definition.limit is not None:
        details = details[: report.definition.limit]
    if report.definition.rollup and count:
        subtotals = {
            (r["_level"], r["__raw"][: r["_level"]]): r for r in rows if r["_level"] < count
        }
        ordered = _placed(details, subtotals, 0, count)
        total = subtotals.get((0, ()))
        if total is not None:
            ordered.append(total)
    else:
        ordered = details
    for row in ordered:
        row.pop("__raw", None)
        row.pop("__order", None)
    return ordered


def _sort(report: CompiledReport, rows: list[Row]) -> None:
    terms = report.definition.sort or [d.name for d in report.dimensions]
    position = {d.name: i for i, d in enumerate(report.dimensions)}
    for term in reversed(terms):
        name, descending = term.lstrip("-"), term.startswith("-")

        def value(row: Row, name: str = name) -> Any:
            return row["__order"][position[name]] if name in position else row.get(name)

        if descending:
            rows.sort(key=lambda r: (value(r) is not None, value(r)), reverse=True)
        else:
            rows.sort(key=lambda r: (value(r) is None, value(r)))


def _placed(
    rows: list[Row], subtotals: dict[tuple[int, tuple[Any, ...]], Row], depth: int, count: int
) -> list[Row]:
    """Rows grouped by their first `depth + 1` values in order of first appearance, each
    group followed by its subtotal."""
    if depth >= count - 1:
        return list(rows)
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(row["__raw"][: depth + 1], []).append(row)
    placed: list[Row] = []
    for prefix, members in groups.items():
        placed += _placed(members, subtotals, depth + 1, count)
        subtotal = subtotals.get((depth + 1, prefix))
        if subtotal is not None:
            placed.append(subtotal)
    return placed
