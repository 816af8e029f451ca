"""Typed values of sensitive fields as the text that is encrypted, and back, exactly.

Only the types a sensitive field can have: text, integers, decimals (their exact string,
trailing zeros kept, so `12.50` comes back as `Decimal("12.50")`) and dates (ISO 8601).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

Plain = str | int | Decimal | date
KINDS = ("string", "text", "integer", "decimal", "date")


def to_text(value: Plain) -> str:
    """The text a value is encrypted as."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | datetime):
        raise TypeError(f"a sensitive field cannot hold {type(value).__name__} values")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a sensitive field cannot hold {type(value).__name__} values")


def from_text(kind: str, text: str) -> Plain:
    """The value of a field of type `kind` that `to_text` wrote as `text`."""
    try:
        match kind:
            case "string" | "text":
                return text
            case "integer":
                return int(text)
            case "decimal":
                return Decimal(text)
            case "date":
                return date.fromisoformat(text)
    except (ValueError, InvalidOperation):
        raise ValueError(f"{text!r} is not a stored {kind} value") from None
    raise ValueError(f"{kind} fields cannot be sensitive; expected one of {', '.join(KINDS)}")
