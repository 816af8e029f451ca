"""The built-in functions: string, number and date, each with its Python and SQL forms."""

from __future__ import annotations

import calendar as calendar_module
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.expressions.calendar import add_working_days, working_days_between
from engine.expressions.functions import DECIMALS, ArgumentProblem, Function, SqlElement
from engine.expressions.types import BOOLEAN, DATE, DATETIME, INTEGER, STRING, Type, decimal

if TYPE_CHECKING:
    from engine.expressions.sql import SqlContext
    from engine.expressions.typed import Typed

TEXT = (("string",), "text")

# argument checks


def _kinds(types: list[Type], index: int, kinds: tuple[str, ...], what: str) -> Type:
    kind = types[index]
    if kind.kind != "null" and kind.kind not in kinds:
        raise ArgumentProblem(index, f"argument {index + 1} must be {what}, not {kind}")
    return kind


def _nullable(types: list[Type]) -> bool:
    return any(t.nullable for t in types)


def _concat_returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    for i in range(len(types)):
        _kinds(types, i, ("string", "integer"), "text or a whole number")
    return STRING


def _substr_returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    _kinds(types, 0, ("string",), "text")
    for i in range(1, len(types)):
        _kinds(types, i, ("integer",), "a whole number")
    return STRING.maybe_null(_nullable(types))


def _round_returns(types: list[Type], args: Sequence[Typed]) -> Type:
    from engine.expressions.typed import TLiteral

    _kinds(types, 0, ("integer", "decimal"), "a number")
    digits = 0
    if len(args) == 2:
        literal = args[1]
        if not (isinstance(literal, TLiteral) and type(literal.value) is int):
            raise ArgumentProblem(1, "the number of digits must be written as a whole number")
        digits = literal.value
        if not 0 <= digits <= 12:
            raise ArgumentProblem(1, "the number of digits must be between 0 and 12")
    if digits == 0 or types[0].kind == "integer":
        return Type("integer", nullable=types[0].nullable)
    return decimal(digits, types[0].nullable)


def _same_number(types: list[Type], _args: Sequence[Typed]) -> Type:
    _kinds(types, 0, ("integer", "decimal"), "a number")
    return types[0]


def _extreme_returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    from engine.expressions.types import common

    result = common(types)
    if result is None or result.kind not in ("integer", "decimal", "date", "datetime", "string"):
        raise ArgumentProblem(0, "the arguments must be numbers, dates or text, all of one kind")
    return result.maybe_null(_nullable(types))


def _signature(
    kinds: Sequence[tuple[tuple[str, ...], str]], result: Type
) -> Callable[[list[Type], Sequence[Typed]], Type]:
    def returns(types: list[Type], _args: Sequence[Typed]) -> Type:
        for i, (allowed, what) in enumerate(kinds[: len(types)]):
            _kinds(types, i, allowed, what)
        return result.maybe_null(_nullable(types) or result.nullable)

    return returns


A_DATE = (("date",), "a date")
A_DATETIME = (("datetime",), "a datetime")
WHOLE = (("integer",), "a whole number")


# Python implementations


def _substr(text: str, start: int, length: int | None = None) -> str:
    begin = max(start, 1) - 1
    return text[begin:] if length is None else text[begin : begin + max(length, 0)]


def _round(value: int | Decimal, digits: int = 0) -> int | Decimal:
    if isinstance(value, int):
        return value
    rounded = value.quantize(Decimal(1).scaleb(-digits), context=DECIMALS)
    return int(rounded) if digits == 0 else rounded


def _add_days(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def add_months(day: date, months: int) -> date | None:
    """Months later, on the same day or the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    last = calendar_module.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def local_date(zone: str, moment: datetime) -> date:
    """The date of `moment` in time zone `zone`, with that date's own offset (summer time)."""
    return moment.astimezone(ZoneInfo(zone)).date()


def upper(text: str) -> str:
    """Capitals, one character for one as databases do: 'ß' stays 'ß' (str.upper gives 'SS')."""
    return "".join(c if len(u := c.upper()) > 1 else u for c in text)


def lower(text: str) -> str:
    """Small letters, one character for one as databases do: 'Σ' is always 'σ' and 'İ' is 'i'
    (str.lower gives a final 'ς' and 'i̇')."""
    return "".join(c.lower()[0] for c in text)


def _concat(*parts: str | int | None) -> str:
    return "".join(str(p) for p in parts if p is not None)


# SQL implementations


def _sql_upper(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    return sa.func.anju_upper(args[0]) if ctx.sqlite else sa.func.upper(args[0])


def _sql_lower(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    return sa.func.anju_lower(args[0]) if ctx.sqlite else sa.func.lower(args[0])


def _sql_contains(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    found = sa.func.instr(*args) if ctx.sqlite else sa.func.strpos(*args)
    return found > 0


def _sql_startswith(_ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    text, prefix = args
    return sa.func.substr(text, 1, sa.func.length(prefix)) == prefix


def _sql_concat(_ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    parts: list[SqlElement] = [sa.func.coalesce(sa.cast(a, sa.Text), "") for a in args]
    result = parts[0]
    for part in parts[1:]:
        result = result.concat(part)
    return result


def _sql_substr(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    text, start, *rest = args
    begin = _int4(ctx.greatest(start, sa.literal(1)))
    if not rest:
        return sa.func.substr(text, begin)
    return sa.func.substr(text, begin, _int4(ctx.greatest(rest[0], sa.literal(0))))


def _int4(number: SqlElement) -> SqlElement:
    """A position or length for PostgreSQL's substr, which takes int (whole numbers in
    expressions are bigint): beyond int's range, the largest int means the same."""
    largest = 2**31 - 1
    return sa.cast(sa.case((number > largest, largest), else_=number), sa.Integer)


def _sql_round(ctx: SqlContext, args: list[SqlElement], types: list[Type]) -> SqlElement:
    if types[0].kind == "integer":
        return args[0]
    digits = args[1] if len(args) == 2 else sa.literal(0)
    if ctx.sqlite:
        rounded = sa.func.anju_round(args[0], digits)
    else:
        rounded = sa.func.round(sa.cast(args[0], sa.Numeric), sa.cast(digits, sa.Integer))
    whole = len(args) == 1 or getattr(args[1], "value", None) == 0
    return sa.cast(rounded, sa.BigInteger) if whole else rounded


def _sql_extreme(name: str) -> Callable[[SqlContext, list[SqlElement], list[Type]], SqlElement]:
    def build(ctx: SqlContext, args: list[SqlElement], types: list[Type]) -> SqlElement:
        if ctx.sqlite:  # SQLite's many-argument min/max give null when any argument is null
            return getattr(sa.func, name)(*args)
        if any(t.kind == "string" for t in types):  # by code point, whatever the collation
            args = [a.collate("C") for a in args]
        value = (sa.func.least if name == "min" else sa.func.greatest)(*args)
        nullable = [a for a, t in zip(args, types, strict=True) if t.nullable]
        if not nullable:
            return value
        return sa.case((sa.or_(*(a.is_(None) for a in nullable)), sa.null()), else_=value)

    return build


def _sql_days_between(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    start, end = args
    if ctx.sqlite:
        return sa.cast(sa.func.julianday(end) - sa.func.julianday(start), sa.Integer)
    return sa.cast(end, sa.Date) - sa.cast(start, sa.Date)


FIRST_DAY, LAST_DAY = sa.literal(date.min, sa.Date()), sa.literal(date.max, sa.Date())


def _sql_add_days(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    day, days = args
    if ctx.sqlite:
        # "-3 days", "5 days"; a null number of days gives a null modifier, so a null date
        return _within_years(sa.func.date(day, sa.cast(days, sa.Text).concat(" days")))
    day = sa.type_coerce(day, sa.Date)
    days = _clamp(days, (FIRST_DAY - day) - 1, (LAST_DAY - day) + 1)
    return _within_years(day + sa.cast(days, sa.Integer))


def _sql_add_months(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    day, months = args
    if ctx.sqlite:
        return sa.func.anju_add_months(day, months)
    day = sa.type_coerce(day, sa.Date)
    month_index = sa.extract("year", day) * 12 + sa.extract("month", day) - 1
    months = _clamp(months, 11 - month_index, 10_000 * 12 - month_index)
    interval = sa.func.make_interval(0, sa.cast(months, sa.Integer))
    return _within_years(sa.cast(day + interval, sa.Date))


def _clamp(number: SqlElement, low: SqlElement, high: SqlElement) -> SqlElement:
    """Days or months cut to one step outside years 1 to 9999, so that PostgreSQL neither
    overflows int nor leaves its own date range (`_within_years` then gives null); null when
    any part is, never the uncut number, which PostgreSQL may cast even on an untaken branch."""
    return sa.case((number < low, low), (number > high, high), (number.between(low, high), number))


def _within_years(day: SqlElement) -> SqlElement:
    """Null past 31 December 9999 or before 1 January 1, as Python's dates (and the closures)."""
    return sa.case((day.between(FIRST_DAY, LAST_DAY), day), else_=sa.null())


def _sql_part(part: str) -> Callable[[SqlContext, list[SqlElement], list[Type]], SqlElement]:
    def build(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
        if ctx.sqlite:
            return sa.cast(sa.func.strftime("%Y" if part == "year" else "%m", args[0]), sa.Integer)
        return sa.cast(sa.extract(part, args[0]), sa.Integer)

    return build


def _sql_local_date(ctx: SqlContext, args: list[SqlElement], _t: list[Type]) -> SqlElement:
    if ctx.sqlite:  # no zone database in SQLite: Python's, through a registered function
        return sa.func.anju_local_date(args[0], ctx.timezone)
    return sa.cast(sa.func.timezone(ctx.timezone, args[0]), sa.Date)


def _sql_today(ctx: SqlContext, _a: list[SqlElement], _t: list[Type]) -> SqlElement:
    return ctx.literal(ctx.today, DATE)


def _sql_now(ctx: SqlContext, _a: list[SqlElement], _t: list[Type]) -> SqlElement:
    return ctx.literal(ctx.now, DATETIME)


BUILTINS: tuple[Function, ...] = (
    Function(
        "len",
        (1, 1),
        _signature([TEXT], INTEGER),
        len,
        lambda _c, a, _t: sa.func.length(a[0]),
        "number of characters",
    ),
    Function(
        "upper",
        (1, 1),
        _signature([TEXT], STRING),
        upper,
        _sql_upper,
        "text in capitals",
    ),
    Function(
        "lower",
        (1, 1),
        _signature([TEXT], STRING),
        lower,
        _sql_lower,
        "text in small letters",
    ),
    Function(
        "contains",
        (2, 2),
        _signature([TEXT, TEXT], BOOLEAN),
        lambda s, part: part in s,
        _sql_contains,
        "whether text holds a part",
    ),
    Function(
        "startswith",
        (2, 2),
        _signature([TEXT, TEXT], BOOLEAN),
        str.startswith,
        _sql_startswith,
        "whether text begins with a prefix",
    ),
    Function(
        "concat",
        (1, None),
        _concat_returns,
        _concat,
        _sql_concat,
        "texts joined; nulls are skipped",
        propagate_nulls=False,
    ),
    Function(
        "substr",
        (2, 3),
        _substr_returns,
        _substr,
        _sql_substr,
        "part of a text from a 1-based position",
    ),
    Function(
        "round",
        (1, 2),
        _round_returns,
        _round,
        _sql_round,
        "rounded half away from zero to n digits (a whole number when n is 0)",
    ),
    Function(
        "abs",
        (1, 1),
        _same_number,
        abs,
        lambda _c, a, _t: sa.func.abs(a[0]),
        "absolute value",
    ),
    Function("min", (2, None), _extreme_returns, min, _sql_extreme("min"), "smallest argument"),
    Function("max", (2, None), _extreme_returns, max, _sql_extreme("max"), "largest argument"),
    Function(
        "today",
        (0, 0),
        _signature([], DATE),
        lambda today: today,
        _sql_today,
        "today's date in the platform's time zone",
        needs=("today",),
    ),
    Function(
        "now",
        (0, 0),
        _signature([], DATETIME),
        lambda now: now,
        _sql_now,
        "the current moment",
        needs=("now",),
    ),
    Function(
        "date",
        (1, 1),
        _signature([A_DATETIME], DATE),
        local_date,
        _sql_local_date,
        "the date of a moment in the platform's time zone",
        needs=("timezone",),
    ),
    Function(
        "days_between",
        (2, 2),
        _signature([A_DATE, A_DATE], INTEGER),
        lambda a, b: (b - a).days,
        _sql_days_between,
        "days from a to b",
    ),
    Function(
        "add_days",
        (2, 2),
        _signature([A_DATE, WHOLE], Type("date")),
        _add_days,
        _sql_add_days,
        "a date n days later",
    ),
    Function(
        "add_months",
        (2, 2),
        _signature([A_DATE, WHOLE], Type("date")),
        add_months,
        _sql_add_months,
        "a date n months later, clamped to the month's end",
    ),
    Function(
        "year",
        (1, 1),
        _signature([A_DATE], INTEGER),
        lambda d: d.year,
        _sql_part("year"),
        "the year of a date",
    ),
    Function(
        "month",
        (1, 1),
        _signature([A_DATE], INTEGER),
        lambda d: d.month,
        _sql_part("month"),
        "the month (1-12) of a date",
    ),
    Function(
        "working_days_between",
        (2, 2),
        _signature([A_DATE, A_DATE], INTEGER),
        working_days_between,
        None,
        "working days after a up to and including b, by the calendar",
        needs=("calendar",),
    ),
    Function(
        "add_working_days",
        (2, 2),
        _signature([A_DATE, WHOLE], DATE),
        add_working_days,
        None,
        "the date n working days later, by the calendar",
        needs=("calendar",),
    ),
)
