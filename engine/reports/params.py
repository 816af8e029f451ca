"""A report's parameters from a query string: each converted to its type, defaults computed
(`today`, `add_months(today, -12)`), every mistake reported as `params.<name>`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from engine.catalog import Catalog
from engine.errors import ValidationFailed, field_error
from engine.expressions import Environment
from engine.flows.services import FlowServices
from engine.reports.compiled import CompiledReport
from metamodel.reports import Param

MAX_TEXT = 200
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def report_now(catalog: Catalog | None) -> datetime:
    """The runtime's clock (a test's clock moves reports too)."""
    return FlowServices.of_catalog(catalog).now()


def parse_params(report: CompiledReport, raw: Mapping[str, str]) -> dict[str, Any]:
    """Every parameter of the report: the value given, else its default, else None.
    Names the report does not declare are left alone (`format`, `k.<dim>`, `cursor`)."""
    catalog = report.source.catalog
    now = report_now(catalog)
    zone = catalog.options.timezone if catalog is not None else "Asia/Shanghai"
    env = Environment(today=now.astimezone(ZoneInfo(zone)).date(), now=now, timezone=zone)
    values: dict[str, Any] = {}
    errors = []
    for name, param in report.definition.params.items():
        text = (raw.get(name) or "").strip()
        try:
            value = convert_param(param, text) if text else None
        except ValueError as exc:
            errors.append(field_error(f"params.{name}", str(exc)))
            continue
        if value is None and name in report.expressions.defaults:
            value = report.expressions.defaults[name].evaluate({}, env)
            value = _typed_default(param, value)
        if value is None and param.required:
            errors.append(field_error(f"params.{name}", "is required"))
        values[name] = value
    if errors:
        raise ValidationFailed("the report's parameters are not valid", errors)
    return values


def convert_param(param: Param, text: str) -> Any:
    """A parameter's text as its type; ValueError says what was expected."""
    match param.type:
        case "string":
            if len(text) > MAX_TEXT:
                raise ValueError(f"expected at most {MAX_TEXT} characters")
            return text
        case "integer" | "reference":
            try:
                number = int(text)
            except ValueError:
                raise ValueError(f"expected a whole number, got {text!r}") from None
            if param.type == "reference" and number < 1:
                raise ValueError(f"expected a record id, got {text!r}")
            return number
        case "decimal":
            try:
                found = Decimal(text)
            except InvalidOperation:
                raise ValueError(f"expected a number, got {text!r}") from None
            if not found.is_finite():
                raise ValueError(f"expected a number, got {text!r}")
            return found
        case "date":
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"expected a date (YYYY-MM-DD), got {text!r}") from None
        case "boolean":
            if text.lower() in TRUE + FALSE:
                return text.lower() in TRUE
            raise ValueError(f"expected true or false, got {text!r}")
    if text not in param.options:
        raise ValueError(f"expected one of {', '.join(param.options)}, got {text!r}")
    return text


def _typed_default(param: Param, value: Any) -> Any:
    if value is None:
        return None
    if param.type == "decimal":
        return Decimal(value)
    if param.type == "date" and isinstance(value, datetime):
        return value.date()
    return value


def params_as_text(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values as JSON shows them: dates as ISO text, decimals as text."""
    shown: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, date):
            shown[name] = value.isoformat()
        elif isinstance(value, Decimal):
            shown[name] = str(value)
        else:
            shown[name] = value
    return shown
