"""Back-end 2: a checked tree compiled into a SQLAlchemy expression over the entity's table.

Conditions compile to two-valued SQL (never NULL), so `not`, `and` and `or` mean in the
database exactly what they mean in `closures.py`: see docs/expressions.md, "Null". Paths
through references and aggregates become correlated scalar subqueries. Only functions without
a SQL form (the working-day ones) cannot go to SQL; the checker refuses them where SQL is
required, and `to_sql` raises `NotExpressible` if asked anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.expressions.closures import Environment
from engine.expressions.typed import (
    TAggregate,
    TArithmetic,
    TCall,
    TCoalesce,
    TCompare,
    TField,
    TIf,
    TIn,
    TList,
    TLiteral,
    TLogic,
    TNegate,
    TNot,
    TVariable,
    Typed,
)
from engine.expressions.types import DIVISION_SCALE, Type
from engine.tables import BLIND_INDEX_SUFFIX
from engine.types import ExactDecimal, UTCDateTime

SqlElement = sa.ColumnElement[Any]


class NotExpressible(Exception):
    """The expression uses something that has no SQL form."""


@dataclass
class SqlContext:
    """What SQL compilation needs: the dialect, the tables, and the evaluation's variables."""

    dialect: str
    table_of: Callable[[str], sa.Table]  # "app.entity" → its table
    env: Environment

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def today(self) -> date:
        return self.env.today

    @property
    def now(self) -> datetime:
        return self.env.now

    @property
    def timezone(self) -> str:
        return self.env.timezone

    def greatest(self, a: SqlElement, b: SqlElement) -> SqlElement:
        """The larger of the two, null if either is (PostgreSQL's greatest skips nulls)."""
        if self.sqlite:
            return sa.func.max(a, b)
        either_null = sa.or_(a.is_(None), b.is_(None))
        return sa.case((either_null, sa.null()), else_=sa.func.greatest(a, b))

    def literal(self, value: Any, kind: Type) -> SqlElement:
        if value is None:
            return sa.null()
        if isinstance(value, bool):
            return sa.true() if value else sa.false()
        return sa.literal(value, sql_type(kind, value))


def sql_type(kind: Type, value: Any = None) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type that binds and reads values of `kind` alike on both databases."""
    match kind.kind:
        case "integer":
            return sa.BigInteger()
        case "decimal":
            scale = kind.scale
            if isinstance(value, Decimal):
                scale = max(scale, -int(value.as_tuple().exponent))
            return ExactDecimal(38, scale)
        case "string":
            return sa.String()
        case "boolean":
            return sa.Boolean()
        case "date":
            return sa.Date()
        case "datetime":
            return UTCDateTime()
        case "json":
            return sa.JSON()
    return sa.types.NullType()


def to_sql(node: Typed, root: sa.FromClause, context: SqlContext) -> SqlElement:
    """The expression as a value (typed so that results read back as the closure's would)."""
    compiler = _Compiler(context, root, root.c.id)
    return sa.type_coerce(compiler.value(node), sql_type(node.type))


def to_sql_condition(node: Typed, root: sa.FromClause, context: SqlContext) -> SqlElement:
    """The expression as a WHERE condition: true or false, never null."""
    return _Compiler(context, root, root.c.id).condition(node)


def aggregate_query(node: TAggregate, record_id: int, context: SqlContext) -> sa.Select[Any]:
    """A query for one record's aggregate, used when the closure back-end meets one."""
    compiler = _Compiler(context, None, sa.literal(record_id, sa.BigInteger()))
    return sa.select(sa.type_coerce(compiler.aggregate(node), sql_type(node.type)))


def _always_null(node: Typed) -> bool:
    """Null whatever the record: `null`, and arithmetic or functions with a `null` operand."""
    match node:
        case TLiteral():
            return node.value is None
        case TNegate():
            return _always_null(node.operand)
        case TArithmetic():
            return _always_null(node.left) or _always_null(node.right)
        case TCall() if node.function.propagate_nulls:
            return any(_always_null(arg) for arg in node.args)
    return False


def _divide(a: SqlElement, b: SqlElement) -> SqlElement:
    """a / b rounded half away from zero to DIVISION_SCALE places, exactly, on PostgreSQL.

    PostgreSQL's numeric `/` keeps about 20 significant digits, so rounding its quotient
    again can round twice (474218584734 / 843 would end in …061, not …060); integer division
    of the scaled operands cannot.
    """
    dividend, divisor = sa.cast(a, sa.Numeric), sa.func.nullif(sa.cast(b, sa.Numeric), 0)
    size = sa.func.abs(divisor)
    steps = sa.func.div(sa.func.abs(dividend) * 2 * 10**DIVISION_SCALE + size, 2 * size)
    sign = sa.func.sign(dividend) * sa.func.sign(divisor)
    return sign * steps * sa.literal(Decimal(1).scaleb(-DIVISION_SCALE), sa.Numeric())


def _readable(table: sa.FromClause, field: str) -> SqlElement:
    """A field's column; a sensitive one (it has a blind index column) holds only ciphertext."""
    if f"{field}{BLIND_INDEX_SUFFIX}" in table.c:
        raise NotExpressible(f"{field} is sensitive (encrypted at rest); SQL cannot read it")
    return table.c[field]


class _Compiler:
    def __init__(self, ctx: SqlContext, root: sa.FromClause | None, root_id: SqlElement) -> None:
        self.ctx = ctx
        self.root = root
        self.root_id = root_id

    def condition(self, node: Typed) -> SqlElement:
        if isinstance(node, TLiteral):
            return sa.true() if node.value is True else sa.false()
        if node.type.kind == "null":  # never true; and PostgreSQL cannot type coalesce(null, …)
            return sa.false()
        element = self.value(node)
        if node.type.nullable:
            return sa.func.coalesce(element, sa.false())
        return element

    def value(self, node: Typed) -> SqlElement:
        if _always_null(node):  # typed, or PostgreSQL cannot choose an operator for -NULL
            return (
                sa.null() if node.type.kind == "null" else sa.cast(sa.null(), sql_type(node.type))
            )
        match node:
            case TLiteral():
                return self.ctx.literal(node.value, node.type)
            case TField():
                return self._field(node)
            case TVariable():
                found = self._variable(node)
                if found is None:  # typed, so `x >= params.p` compiles when p is left out
                    return sa.cast(sa.null(), sql_type(node.type))
                return self.ctx.literal(found, node.type)
            case TNot():
                return sa.not_(self.condition(node.operand))
            case TNegate():
                return -self.value(node.operand)
            case TLogic():
                parts = [self.condition(o) for o in node.operands]
                return sa.and_(*parts) if node.operator == "and" else sa.or_(*parts)
            case TCompare():
                return self._compare(node)
            case TIn():
                return self._in(node)
            case TArithmetic():
                return self._arithmetic(node)
            case TIf():
                otherwise = self.value(node.otherwise)
                return sa.case(
                    (self.condition(node.condition), self.value(node.then)), else_=otherwise
                )
            case TCoalesce():
                return sa.func.coalesce(*(self.value(a) for a in node.args))
            case TCall():
                return self._call(node)
            case TAggregate():
                return self.aggregate(node)
            case TList():
                raise NotExpressible("a list can only follow 'in'")
        raise AssertionError(f"cannot compile {node!r}")

    def _variable(self, node: TVariable) -> Any:
        if node.name in ("today", "now"):
            return self.ctx.today if node.name == "today" else self.ctx.now
        value = self.ctx.env.variables.get(node.name)
        if node.attribute is None:
            return value
        return (value or {}).get(node.attribute)

    def _field(self, node: TField) -> SqlElement:
        if self.root is None:
            raise NotExpressible("fields of the record itself are not readable here")
        first, *rest = node.steps
        current: SqlElement = _readable(self.root, first.field)
        for step in rest:
            target = self.ctx.table_of(step.entity).alias()
            query = sa.select(_readable(target, step.field)).where(target.c.id == current)
            current = query.correlate(self.root).scalar_subquery()
        return current

    def _compare(self, node: TCompare) -> SqlElement:
        left, right, op = node.left, node.right, node.operator
        if op in ("==", "!="):
            for this, other in ((left, right), (right, left)):
                if isinstance(other, TLiteral) and other.value is None:
                    value = self._operand(this)
                    return value.is_(None) if op == "==" else value.is_not(None)
        a, b = self._operand(left), self._operand(right)
        nullable = [v for v, t in ((a, left), (b, right)) if t.type.nullable]
        if op == "==":
            if len(nullable) == 2:
                return a.is_not_distinct_from(b)
            return self._unless_null(nullable, a == b, sa.false())
        if op == "!=":
            if len(nullable) == 2:
                return a.is_distinct_from(b)
            return self._unless_null(nullable, a != b, sa.true())
        if not self.ctx.sqlite and "string" in (left.type.kind, right.type.kind):
            a = a.collate("C")  # compare text by code point, as Python and SQLite do
        compared = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return self._unless_null(nullable, compared, sa.false())

    @staticmethod
    def _unless_null(
        nullable: list[SqlElement], compared: SqlElement, otherwise: SqlElement
    ) -> SqlElement:
        """`compared`, or `otherwise` when a nullable operand is null: for plain columns as
        `x IS NOT NULL AND …`, which indexes serve; for subqueries with `coalesce`, so the
        database looks the value up once, not twice."""
        if not all(isinstance(v, sa.ColumnClause) for v in nullable):
            return sa.func.coalesce(compared, otherwise)
        if otherwise is sa.true() or isinstance(otherwise, sa.True_):
            return sa.or_(*(v.is_(None) for v in nullable), compared)
        return sa.and_(*(v.is_not(None) for v in nullable), compared)

    def _operand(self, node: Typed) -> SqlElement:
        """A value to compare; the JSON null an empty json field holds compares as null."""
        value = self.value(node)
        if node.type.kind == "json":
            return sa.func.nullif(sa.cast(value, sa.Text), "null")
        return value

    def _in(self, node: TIn) -> SqlElement:
        item = self._operand(node.item)
        collection = node.collection
        if isinstance(collection, TList) and not all(
            isinstance(i, TLiteral) for i in collection.items
        ):
            found = sa.or_(
                *(
                    self._compare(TCompare(node.type, node.node, "==", node.item, i))
                    for i in collection.items
                )
            )
            return sa.not_(found) if node.negated else found
        if isinstance(collection, TList):
            values = [i.value for i in collection.items if isinstance(i, TLiteral)]
        elif isinstance(collection, TVariable):
            values = list(self._variable(collection) or ())
        else:
            raise NotExpressible("'in' needs a list written out or a list variable")
        present = [v for v in values if v is not None]
        item_type = collection.type.item or node.item.type
        binds = [self.ctx.literal(v, item_type) for v in present]
        tests: list[SqlElement] = [item.in_(binds)] if binds else []
        if node.item.type.nullable and binds:
            tests = [sa.and_(item.is_not(None), item.in_(binds))]
        if len(present) < len(values):
            tests.append(item.is_(None))
        found = sa.or_(*tests) if tests else sa.false()
        return sa.not_(found) if node.negated else found

    def _arithmetic(self, node: TArithmetic) -> SqlElement:
        a, b = self.value(node.left), self.value(node.right)
        op = node.operator
        if op == "/":
            return sa.func.anju_divide(a, b) if self.ctx.sqlite else _divide(a, b)
        if op == "%":
            return a % sa.func.nullif(b, 0)
        result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b}[op]()
        if self.ctx.sqlite and node.type.kind == "decimal":
            # doubles: round back to the exact decimal places the result can have
            return sa.func.round(result, node.type.scale)
        return result

    def _call(self, node: TCall) -> SqlElement:
        if node.function.sql is None:
            raise NotExpressible(f"{node.function.name}() cannot run in the database")
        args = [self.value(arg) for arg in node.args]
        return node.function.sql(self.ctx, args, [arg.type for arg in node.args])

    def aggregate(self, node: TAggregate) -> SqlElement:
        related = self.ctx.table_of(node.relation.entity).alias()
        inner = _Compiler(self.ctx, related, related.c.id)
        conditions = [related.c[node.relation.field] == self.root_id]
        if node.where is not None:
            conditions.append(inner.condition(node.where))
        if node.function == "exists":
            query = sa.select(sa.literal(1)).select_from(related).where(*conditions)
            return sa.exists(self._correlated(query))
        if node.function == "count":
            measure: SqlElement = sa.func.count()
        else:
            assert node.value is not None
            value = inner.value(node.value)
            measure = self._measure(node, value)
        query = sa.select(measure).select_from(related).where(*conditions)
        return self._correlated(query).scalar_subquery()

    def _measure(self, node: TAggregate, value: SqlElement) -> SqlElement:
        function = node.function
        if function == "sum":
            total = sa.func.coalesce(sa.func.sum(value), 0)
            if self.ctx.sqlite and node.type.kind == "decimal":
                return sa.func.round(total, node.type.scale)
            if not self.ctx.sqlite and node.type.kind == "integer":
                return sa.cast(total, sa.BigInteger)  # PostgreSQL sums bigints as numeric
            return total
        if function == "avg":
            if self.ctx.sqlite:
                return sa.func.anju_round(sa.func.avg(value), DIVISION_SCALE)
            return _divide(sa.func.sum(value), sa.func.count(value))
        if not self.ctx.sqlite and node.type.kind == "string":
            value = value.collate("C")  # the least text by code point, as in Python
        return sa.func.min(value) if function == "min" else sa.func.max(value)

    def _correlated(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.correlate(self.root) if self.root is not None else query
