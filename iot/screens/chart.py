"""The device page's chart: one numeric field over the last 24 hours (raw readings), 7 days
(hourly averages) or 30 days (daily averages), drawn by `static/reports.js` from a JSON data
island, with the same points in a table as its text alternative."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import sqlalchemy as sa
from markupsafe import Markup

from iot.screens.presenting import moment_text
from iot.telemetry.series import series
from iot.telemetry.state import ms_to_datetime
from metamodel.devices import DeviceType
from metamodel.labels import pick

HOUR_MS = 3_600_000
RANGES = {  # name → (milliseconds back from now, resolution)
    "24h": (24 * HOUR_MS, "raw"),
    "7d": (7 * 24 * HOUR_MS, "hour"),
    "30d": (30 * 24 * HOUR_MS, "day"),
}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class PointRow:
    time: str
    average: str
    minimum: str
    maximum: str


@dataclass(frozen=True)
class ChartView:
    """The chosen field and period, links to the others, the chart's options and its table
    (`rolled_up`: the table has minimum and maximum columns)."""

    field_label: str
    unit: str
    resolution_label: str
    fields: list[Link]
    ranges: list[Link]
    options_json: Markup  # safe inside <script type="application/json">
    points: list[PointRow] = field(default_factory=list)
    rolled_up: bool = False


def chart_view(
    conn: sa.Connection,
    device_id: int,
    device_type: DeviceType,
    asked_field: str | None,
    asked_range: str | None,
    now: datetime,
    timezone: str,
    texts: dict[str, str],
    language: str,
) -> ChartView | None:
    """The chart of the asked field (else the type's first numeric one) over the asked
    period (else 24 hours); None for a type without numeric fields."""
    numeric = [n for n, s in device_type.telemetry.items() if s.type in ("number", "integer")]
    if not numeric:
        return None
    name = asked_field if asked_field in numeric else numeric[0]
    period = asked_range if asked_range in RANGES else DEFAULT_RANGE
    back, resolution = RANGES[period]
    end = int(now.timestamp() * 1000)
    spec = device_type.telemetry[name]
    points = series(conn, device_id, name, end - back, end, resolution, spec.type, timezone)
    label = pick(spec.label, language, name)
    base = f"/iot/devices/{device_id}"
    return ChartView(
        field_label=label,
        unit=spec.unit or "",
        resolution_label=texts[f"resolution_{resolution}"],
        fields=[
            Link(
                pick(device_type.telemetry[n].label, language, n),
                f"{base}?{urlencode({'field': n, 'range': period})}#chart",
                n == name,
            )
            for n in numeric
        ],
        ranges=[
            Link(
                texts[f"range_{r}"],
                f"{base}?{urlencode({'field': name, 'range': r})}#chart",
                r == period,
            )
            for r in RANGES
        ],
        options_json=_options(points, label, spec.unit, resolution, texts, timezone),
        points=[_row(p, timezone) for p in points],
        rolled_up=resolution != "raw",
    )


def _options(
    points: list[dict[str, Any]],
    label: str,
    unit: str | None,
    resolution: str,
    texts: dict[str, str],
    timezone: str,
) -> Markup:
    """ECharts options: a time axis on the catalog's clock (times travel as local text, so
    the browser's own zone does not shift them), the average line, and for rollups the
    minimum and maximum of each bucket."""
    times = [_time(p["ts"], timezone) for p in points]
    if resolution == "raw":
        lines = [("value", label)]
    else:
        lines = [("avg", f"{label} · {texts['average']}")]
        lines += [("min", texts["minimum"]), ("max", texts["maximum"])]
    options = {
        "tooltip": {"trigger": "axis"},
        "legend": {"show": resolution != "raw"},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 32},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": unit or "", "scale": True},
        "series": [
            {
                "type": "line",
                "name": name,
                "showSymbol": len(points) < 50,
                "data": [[t, p[key]] for t, p in zip(times, points, strict=True)],
            }
            for key, name in lines
        ],
        "anju": {"format": "number"},
    }
    text = orjson.dumps(options).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _row(point: dict[str, Any], timezone: str) -> PointRow:
    """A raw reading fills the average column alone."""
    return PointRow(
        _time(point["ts"], timezone),
        _number(point["value"] if "value" in point else point.get("avg")),
        _number(point.get("min")),
        _number(point.get("max")),
    )


def _time(ms: int, timezone: str) -> str:
    return moment_text(ms_to_datetime(ms), timezone)


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,.3f}".rstrip("0").rstrip(".")
