"""Converting values between text, JSON and a field's Python type.

One set of rules serves query-string filters, cursors and the data conversion a type change
needs, so a value that filters as a date also converts as one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from metamodel.fields import (
    DecimalField,
    EnumField,
    FieldDefinition,
    PluginField,
    StringField,
)

TRUE = {"true", "1", "yes", "y", "t", "是"}
FALSE = {"false", "0", "no", "n", "f", "否"}


class ConversionError(ValueError):
    """The value cannot be read as the field's type; the message says what was expected."""


def convert(spec: FieldDefinition, value: Any) -> Any:
    """`value` (text, JSON or a Python value of another type) as the field's Python type."""
    if value is None or value == "":
        return None
    kind = value_kind(spec)
    converter: Any = _plugin if isinstance(spec, PluginField) else _CONVERTERS[kind]
    try:
        return converter(spec, value)
    except (ValueError, TypeError, InvalidOperation, ArithmeticError) as exc:
        if isinstance(exc, ConversionError):
            raise
        raise ConversionError(f"expected {_EXPECTED[kind]}, got {value!r}") from None


def value_kind(spec: FieldDefinition) -> str:
    """The built-in type whose values a field holds: its own, or `string` for a plugin's."""
    return "string" if isinstance(spec, PluginField) else spec.type


def convert_system(column: str, value: Any) -> Any:
    """Filter values for system columns."""
    if column in ("created_at", "updated_at"):
        return _datetime(None, value)
    if column in ("created_by", "updated_by", "state"):  # `state`: a flow's state name
        return str(value)
    try:
        return _integer(None, value)
    except (TypeError, ValueError):
        raise ConversionError(f"expected an integer, got {value!r}") from None


def _string(spec: Any, value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise ConversionError("expected text")
    text = str(value)
    if isinstance(spec, StringField) and len(text) > spec.max_length:
        raise ConversionError(f"longer than {spec.max_length} characters")
    return text


def normalized(spec: PluginField, text: str) -> str:
    """A plugin field's value as its type stores it; ConversionError with the plugin's own
    reason (`身份证号码校验位错误（check digit wrong）`) if it is not one."""
    try:
        normal = spec.normalize(text)
    except ValueError as exc:
        raise ConversionError(str(exc)) from None
    if spec.max_length is not None and len(normal) > spec.max_length:
        raise ConversionError(f"longer than {spec.max_length} characters")
    return normal


def _plugin(spec: PluginField, value: Any) -> str:
    return normalized(spec, _string(None, value))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _integer(_spec: Any, value: Any) -> int:
    if isinstance(value, bool):
        raise ConversionError(f"expected an integer, got {value!r}")
    if isinstance(value, (float, Decimal)):
        if value != int(value):
            raise ConversionError(f"{value} is not a whole number")
        number = int(value)
    else:
        number = int(str(value).strip())
    if not INT64_MIN <= number <= INT64_MAX:
        raise ConversionError(f"{number} is outside the 64-bit integer range")
    return number


def _decimal(spec: DecimalField, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ConversionError(f"expected a decimal number, got {value!r}")
    number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    if not number.is_finite():
        raise ConversionError("expected a finite number")
    quantum = Decimal(1).scaleb(-spec.scale)
    if number != number.quantize(quantum):
        raise ConversionError(f"{value} has more than {spec.scale} decimal places")
    number = number.quantize(quantum)
    if len(number.as_tuple().digits) > spec.precision:
        raise ConversionError(f"{value} has more than {spec.precision} digits")
    return number


def _boolean(_spec: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConversionError(f"expected true or false, got {value!r}")


def _date(_spec: Any, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _datetime(_spec: Any, value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _enum(spec: EnumField, value: Any) -> str:
    text = str(value)
    allowed = [option.value for option in spec.options]
    if text not in allowed:
        raise ConversionError(f"{text!r} is not one of {', '.join(allowed)}")
    return text


def _file(_spec: Any, value: Any) -> str:
    text = str(value)
    if not re.fullmatch(r"[0-9a-f]{32}", text):
        raise ConversionError("expected a file id from POST /api/files")
    return text


def _json(_spec: Any, value: Any) -> Any:
    return value


_CONVERTERS: dict[str, Any] = {
    "string": _string,
    "text": _string,
    "integer": _integer,
    "reference": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "enum": _enum,
    "file": _file,
    "json": _json,
}
_EXPECTED = {
    "string": "text",
    "text": "text",
    "integer": "an integer",
    "reference": "a record id (integer)",
    "decimal": "a decimal number",
    "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601)",
    "enum": "one of the options",
    "file": "a file id",
    "json": "JSON",
}


def to_json(value: Any) -> Any:
    """A stored value as JSON data: decimals as exact strings, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
