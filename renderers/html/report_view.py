"""A report's result as screens show it: the table (formatted numbers, enum labels, subtotal
rows, each measure linking to the records behind it) and the chart options that
`static/reports.js` hands to ECharts.

Both are built from the result's JSON (`ReportResult.as_json()`, the API's answer), so what
the page draws is exactly what the API returns, and this module needs no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from markupsafe import Markup

CHARTED = ("bar", "line", "pie")
MAX_CATEGORIES = 200  # beyond this a chart is unreadable; the table still has every row
NO_VALUE = "—"
TEXTS = {
    "zh": {
        "blank": "（空）",
        "total": "合计",
        "subtotal": "小计",
        "drill": "查看 {value} 对应的记录",
    },
    "en": {
        "blank": "(blank)",
        "total": "Total",
        "subtotal": "Subtotal",
        "drill": "Records behind {value}",
    },
}


@dataclass(frozen=True)
class TableColumn:
    name: str
    label: str
    numeric: bool


@dataclass(frozen=True)
class TableCell:
    """One value as shown; `url` (measures only) opens the records behind it."""

    text: str
    numeric: bool = False
    url: str | None = None
    title: str = ""


@dataclass(frozen=True)
class TableRow:
    """`level` counts the dimensions the row groups by; a row with fewer than the report's
    dimensions is a subtotal (`subtotal`), with none the grand total (`total`)."""

    cells: list[TableCell]
    level: int
    subtotal: bool
    total: bool

    @property
    def css(self) -> str:
        return "total" if self.total else "subtotal" if self.subtotal else ""


@dataclass(frozen=True)
class ResultTable:
    columns: list[TableColumn]
    rows: list[TableRow]


@dataclass(frozen=True)
class Chart:
    """What `static/reports.js` draws: `kind` bar/line/pie (options for ECharts in
    `options_json`, a data island), kpi (the big `kpi_text`), or table (nothing drawn)."""

    kind: str
    options: dict[str, Any]
    kpi_text: str = ""
    kpi_label: str = ""

    @property
    def drawn(self) -> bool:
        return self.kind in CHARTED and bool(self.options)

    @property
    def options_json(self) -> Markup:
        """Safe inside `<script type="application/json">`: `<`, `>`, `&` are escaped."""
        text = orjson.dumps(self.options, default=_plain).decode()
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return Markup(text)


def format_value(value: Any, number_format: str | None) -> str:
    """A measure as text: `integer` 1,200; `percent` 12.5%; `money` 1,234.50; else up to two
    decimals without trailing zeros. None is a dash (no base to compare with)."""
    if value is None or value == "":
        return NO_VALUE
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    number = Decimal(str(value))
    if number_format == "percent":
        return f"{_trim(number * 100, 1)}%"
    if number_format == "money":
        return f"{number:,.2f}"
    if number_format == "integer":
        return f"{number:,.0f}"
    return _trim(number, 2, grouped=True)


def dimension_text(column: Mapping[str, Any], value: Any, blank: str) -> str:
    """A dimension value: an enum's label, else the value as the result gives it."""
    if value is None or value == "":
        return blank
    labels = column.get("labels") or {}
    return str(labels.get(str(value), value))


def result_table(
    result: Mapping[str, Any],
    drill_base: str | None,
    query: Sequence[tuple[str, str]],
    language: str,
) -> ResultTable:
    """The rows of `result` as cells; `drill_base` (`/{app}/reports/{report}/records`) with the
    report's `query` (its parameters) makes every measure a link; None: plain numbers."""
    texts = TEXTS[language]
    columns = list(result["columns"])
    dimensions = [c for c in columns if c["role"] == "dimension"]
    header = [TableColumn(c["name"], c["label"], c["role"] == "measure") for c in columns]
    rows = []
    for row in result["rows"]:
        level = int(row.get("_level", len(dimensions)))
        key = row.get("_key") or {}
        cells = []
        for column in columns:
            value = row.get(column["name"])
            if column["role"] == "dimension":
                text = _grouped_text(column, value, key, dimensions, level, texts)
                cells.append(TableCell(text))
            else:
                text = format_value(value, column.get("format"))
                url = None
                if drill_base is not None:
                    url = _drill_url(drill_base, key, column["name"], query)
                title = texts["drill"].format(value=text) if url else ""
                cells.append(TableCell(text, True, url, title))
        subtotal = level < len(dimensions)
        rows.append(TableRow(cells, level, subtotal and level > 0, subtotal and level == 0))
    return ResultTable(header, rows)


def _grouped_text(
    column: Mapping[str, Any],
    value: Any,
    key: Mapping[str, Any],
    dimensions: list[Mapping[str, Any]],
    level: int,
    texts: dict[str, str],
) -> str:
    """A dimension cell; on a roll-up row, the dimensions it does not group by say
    "subtotal" (the first of them) or "total" (the grand total's first cell)."""
    position = next((i for i, d in enumerate(dimensions) if d["name"] == column["name"]), 0)
    if level < len(dimensions) and position >= level and column["name"] not in key:
        if position == level:
            return texts["total"] if level == 0 else texts["subtotal"]
        return ""
    return dimension_text(column, value, texts["blank"])


def _drill_url(
    base: str, key: Mapping[str, Any], measure: str, query: Sequence[tuple[str, str]]
) -> str:
    """The records behind one figure: the row's group (`k.<dimension>`), the measure (`m`,
    whose own `where` narrows them) and the report's parameters."""
    keys = [(f"k.{name}", "" if value is None else str(value)) for name, value in key.items()]
    return f"{base}?{urlencode([*keys, ('m', measure), *query])}"


def result_chart(result: Mapping[str, Any], language: str, kind: str | None = None) -> Chart:
    """The chart of `result` (`kind` overrides the report's own, as a widget may): the rows
    that group by every dimension (no subtotals) along `x`, one series per measure of `y`,
    or per value of the `series` dimension."""
    spec = result.get("chart") or {}
    kind = kind or spec.get("type") or "table"
    columns = {c["name"]: c for c in result["columns"]}
    measures = [c["name"] for c in result["columns"] if c["role"] == "measure"]
    dimensions = [c["name"] for c in result["columns"] if c["role"] == "dimension"]
    y = [name for name in (spec.get("y") or measures[:1]) if name in columns] or measures[:1]
    if kind == "kpi":
        return _kpi(result, columns, y[0] if y else None, len(dimensions))
    if kind not in CHARTED or not y:
        return Chart(kind, {})
    x = spec.get("x") if spec.get("x") in columns else (dimensions[0] if dimensions else None)
    series = spec.get("series") if spec.get("series") in columns else None
    rows = [r for r in result["rows"] if int(r.get("_level", len(dimensions))) == len(dimensions)]
    blank = TEXTS[language]["blank"]
    if x is None:
        categories = [result.get("label", "")]
    else:
        categories = _unique(dimension_text(columns[x], r.get(x), blank) for r in rows)
    categories = categories[:MAX_CATEGORIES]
    if kind == "pie":
        return Chart(kind, _pie(rows, columns, x, y[0], blank))
    if series is not None and series != x:
        lines = _split_series(rows, columns, x, series, y[0], categories, blank)
    else:
        lines = [
            (columns[m]["label"], _aligned(rows, columns, x, m, categories, blank), m) for m in y
        ]
    formats = sorted({columns[m].get("format") or "number" for m in y})
    options = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": categories, "axisLabel": {"hideOverlap": True}},
        "yAxis": {"type": "value"},
        "series": [{"name": name, "type": kind, "data": data} for name, data, _ in lines],
        "anju": {"format": formats[0] if len(formats) == 1 else "number"},
    }
    return Chart(kind, options)


def _kpi(
    result: Mapping[str, Any], columns: Mapping[str, Any], measure: str | None, dimensions: int
) -> Chart:
    """The grand total's value when the result has one, else the first row's."""
    rows = list(result["rows"])
    if measure is None or not rows:
        return Chart("kpi", {}, NO_VALUE, columns[measure]["label"] if measure else "")
    total = next((r for r in rows if int(r.get("_level", dimensions)) == 0), rows[0])
    column = columns[measure]
    return Chart("kpi", {}, format_value(total.get(measure), column.get("format")), column["label"])


def _pie(
    rows: list[Mapping[str, Any]],
    columns: Mapping[str, Any],
    x: str | None,
    measure: str,
    blank: str,
) -> dict[str, Any]:
    data = [
        {
            "name": dimension_text(columns[x], r.get(x), blank) if x else columns[measure]["label"],
            "value": _number(r.get(measure)),
        }
        for r in rows[:MAX_CATEGORIES]
    ]
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "name": columns[measure]["label"],
                "type": "pie",
                "radius": ["35%", "65%"],
                "data": data,
            }
        ],
        "anju": {"format": columns[measure].get("format") or "number"},
    }


def _split_series(
    rows: list[Mapping[str, Any]],
    columns: Mapping[str, Any],
    x: str | None,
    series: str,
    measure: str,
    categories: list[str],
    blank: str,
) -> list[tuple[str, list[float | None], str]]:
    names = _unique(dimension_text(columns[series], r.get(series), blank) for r in rows)
    lines = []
    for name in names:
        chosen = [r for r in rows if dimension_text(columns[series], r.get(series), blank) == name]
        lines.append((name, _aligned(chosen, columns, x, measure, categories, blank), measure))
    return lines


def _aligned(
    rows: list[Mapping[str, Any]],
    columns: Mapping[str, Any],
    x: str | None,
    measure: str,
    categories: list[str],
    blank: str,
) -> list[float | None]:
    """The measure's value per category (None where a category has no row); several rows of
    one category (a dimension not drawn) add up."""
    if x is None:
        return [_number(rows[0].get(measure)) if rows else None]
    values: dict[str, float | None] = {}
    for row in rows:
        category = dimension_text(columns[x], row.get(x), blank)
        number = _number(row.get(measure))
        before = values.get(category)
        values[category] = number if before is None else before + (number or 0)
    return [values.get(c) for c in categories]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _trim(number: Decimal, places: int, grouped: bool = False) -> str:
    text = f"{number:,.{places}f}" if grouped else f"{number:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot put {type(value).__name__} in a chart")


@dataclass(frozen=True)
class ResultView:
    """A report's result on a screen: its chart, its table and when it was computed."""

    chart: Chart
    table: ResultTable
    generated: str  # "2026-11-21 10:00", in the catalog's time zone
    cached: bool
    empty: bool


def result_view(
    result: Mapping[str, Any],
    language: str,
    timezone: str,
    drill_base: str | None,
    query: Sequence[tuple[str, str]],
    kind: str | None = None,
) -> ResultView:
    """Chart and table of one result (`kind` draws it otherwise, as a widget may)."""
    return ResultView(
        chart=result_chart(result, language, kind),
        table=result_table(result, drill_base, query, language),
        generated=moment_text(result.get("generated_at"), timezone),
        cached=bool(result.get("cached")),
        empty=not result["rows"],
    )


def moment_text(value: Any, timezone: str) -> str:
    """An ISO timestamp on the catalog's clock, to the minute ("" when absent)."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
