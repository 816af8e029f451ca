"""The expression language: one grammar, checked against definitions, run as Python closures
or as SQL. See docs/expressions.md.

>>> expression = compile_expression("size >= 3 and status == 'submitted'", scope, functions)
>>> expression.test({"size": 4, "status": "submitted"}, Environment())
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from engine.expressions.checker import check
from engine.expressions.closures import Closure, Environment, Record, compile_closure
from engine.expressions.errors import ExpressionError
from engine.expressions.functions import Function, FunctionRegistry, builtin_functions
from engine.expressions.scope import ExpressionContext, Scope
from engine.expressions.sql import NotExpressible, SqlContext, to_sql, to_sql_condition
from engine.expressions.syntax import parse
from engine.expressions.typed import Typed
from engine.expressions.types import Type, described

__all__ = [
    "Environment",
    "Expression",
    "ExpressionContext",
    "ExpressionError",
    "Function",
    "FunctionRegistry",
    "NotExpressible",
    "Scope",
    "SqlContext",
    "builtin_functions",
    "compile_expression",
]


@dataclass(frozen=True, eq=False)
class Expression:
    """A checked expression; its closure is built on first use and kept with it."""

    source: str
    tree: Typed

    @property
    def type(self) -> Type:
        return self.tree.type

    @cached_property
    def closure(self) -> Closure:
        return compile_closure(self.tree)

    def evaluate(self, record: Record, env: Environment) -> Any:
        return self.closure(record, env)

    def test(self, record: Record, env: Environment) -> bool:
        """The expression as a condition: null counts as false."""
        return self.closure(record, env) is True

    def sql(self, root: sa.FromClause, context: SqlContext) -> sa.ColumnElement[Any]:
        return to_sql(self.tree, root, context)

    def sql_condition(self, root: sa.FromClause, context: SqlContext) -> sa.ColumnElement[Any]:
        return to_sql_condition(self.tree, root, context)


def compile_expression(
    source: str, scope: Scope, functions: FunctionRegistry, expected: str | None = None
) -> Expression:
    """Parse and check `source` in `scope`; `expected="boolean"` requires a condition.

    Raises `ExpressionError` with the column of the first mistake.
    """
    node = parse(source)
    tree = check(source, node, scope, functions)
    if expected == "boolean" and tree.type.kind not in ("boolean", "null"):
        raise ExpressionError(
            f"must be a condition (true or false), but this gives {described(tree.type)}",
            source,
            0,
            len(source),
        )
    return Expression(source, tree)
