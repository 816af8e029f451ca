"""One cell of an export as text: plain for CSV, displayed for PDF, and made harmless.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return)
as a formula, so a record title such as `=HYPERLINK(...)` could act when the export is
opened. As OWASP advises (CSV injection), such text is neutralised: in CSV with a leading
apostrophe, in XLSX by Excel's own quote prefix (the text shows unchanged and stays text when
edited). Numbers are written as numbers, so `-5` stays a number.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)%?")
YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}


def is_number(value: Any) -> bool:
    """Whether a value is written as a number (booleans are not)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def risky(text: str) -> bool:
    """Whether a spreadsheet would read the text as a formula (a plain number is not one)."""
    return text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text)


def neutralise(text: str) -> str:
    """The text with a leading apostrophe when a spreadsheet would run it as a formula.

    >>> neutralise("=1+1"), neutralise("-5"), neutralise("芙蓉区")
    ("'=1+1", '-5', '芙蓉区')
    """
    return "'" + text if risky(text) else text


def plain_text(value: Any, format: str | None, language: str) -> str:
    """A value for CSV: numbers without grouping (money with two decimals, percent as
    `12.5%`), dates in ISO form, booleans as 是/否 (Yes/No), risky text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value, language)
    if is_number(value):
        return _number(value, format, grouped=False)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def display_text(value: Any, format: str | None, language: str) -> str:
    """A value as a printed page shows it: `1,200`, `1,234.50`, `¥1,234.50`, `12.5%`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value, language)
    if is_number(value):
        return _number(value, format, grouped=True)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def text_width(text: str) -> int:
    """How many columns the text takes in a monospaced grid: CJK and other wide characters
    count double (so a column of Chinese district names is wide enough in Excel)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _number(value: int | float | Decimal, format: str | None, grouped: bool) -> str:
    group = "," if grouped else ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if format == "integer":
        return f"{round(value):{group}d}"
    if format == "money":
        return ("¥" if grouped else "") + f"{value:{group}.2f}"
    if format == "percent":
        return f"{value * 100:.1f}%"
    if format == "number" or isinstance(value, float | Decimal):
        return f"{value:{group}.2f}" if format == "number" else _trimmed(value, group)
    return f"{value:{group}d}"


def _trimmed(value: float | Decimal, group: str) -> str:
    """A number of unknown precision: as many decimals as it has (at most six)."""
    text = f"{value:{group}.6f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _yes_no(value: bool, language: str) -> str:
    yes, no = YES_NO.get(language, YES_NO["zh"])
    return yes if value else no
