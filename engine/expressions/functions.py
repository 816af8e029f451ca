"""Allow-listed, typed functions: one Python implementation and, where possible, one SQL one.

A registry belongs to one app instance; plugins add functions to it (`register`), built-ins
are registered the same way. A function without `sql` still works in closures, and the
checker refuses it where an expression must run in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.expressions.types import Type

if TYPE_CHECKING:
    from engine.expressions.sql import SqlContext
    from engine.expressions.typed import Typed

AGGREGATES = ("count", "sum", "avg", "min", "max", "exists")
DECIMALS = Context(prec=60, rounding=ROUND_HALF_UP)
SqlElement = sa.ColumnElement[Any]


class ArgumentProblem(Exception):
    """Raised by a function's `returns` when argument `index` does not fit."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class Function:
    """One function the language allows.

    `returns(types, args)` gives the result type or raises `ArgumentProblem`; `python(*args)`
    computes it (receiving first the environment values named in `needs`: today, now,
    timezone, calendar); `sql(context, args, types)` builds the SQL. With `propagate_nulls`
    a null argument gives null without calling either.
    """

    name: str
    arity: tuple[int, int | None]
    returns: Callable[[list[Type], Sequence[Typed]], Type]
    python: Callable[..., Any]
    sql: Callable[[SqlContext, list[SqlElement], list[Type]], SqlElement] | None = None
    doc: str = ""
    propagate_nulls: bool = True
    needs: tuple[str, ...] = ()


class FunctionRegistry:
    """The functions one app instance allows; `builtin_functions()` makes the default one."""

    def __init__(self, functions: Iterable[Function] = ()) -> None:
        self._functions: dict[str, Function] = {}
        for function in functions:
            self.register(function)

    def register(self, function: Function) -> None:
        taken = function.name in self._functions or function.name in ("if", "coalesce")
        if taken or (function.name in AGGREGATES and function.name not in ("min", "max")):
            raise ValueError(f"function {function.name!r} is already defined")
        self._functions[function.name] = function

    def get(self, name: str) -> Function | None:
        return self._functions.get(name)

    def names(self) -> list[str]:
        return sorted(self._functions)

    def __iter__(self) -> Iterator[Function]:
        return iter(self._functions.values())


def builtin_functions() -> FunctionRegistry:
    """The default registry: string, number and date functions (aggregates, `if` and
    `coalesce` are part of the language itself)."""
    from engine.expressions.builtins import BUILTINS

    return FunctionRegistry(BUILTINS)
