"""The estate definitions seen by expressions, and a database of units to run them on.

`compile_unit(source)` checks an expression against the `unit` entity without a database;
`UnitDatabase` holds a real database (SQLite, or PostgreSQL with `ANJU_TEST_DATABASE_URL`)
and evaluates an expression both ways on its rows: as SQL, and as a closure whose
Environment reads the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, compile_catalog
from engine.database import create_database_engine
from engine.expressions import (
    Environment,
    Expression,
    ExpressionContext,
    Scope,
    SqlContext,
    builtin_functions,
    compile_expression,
)
from engine.expressions.calendar import WorkingCalendar
from engine.expressions.closures import Record
from engine.expressions.scope import RULE
from engine.expressions.sql import aggregate_query
from engine.expressions.typed import TAggregate
from engine.settings import Settings
from metamodel.definitions import Definitions
from metamodel.kinds import KIND_FOLDERS
from metamodel.loader import build_definitions, document_from_content
from tests.databases import isolated_database
from tests.definitions import APP, estate, write_folder

FUNCTIONS = builtin_functions()
TODAY = date(2024, 3, 15)
NOW = datetime(2024, 3, 15, 1, 2, 3, tzinfo=UTC)
USER = {"username": "ann", "roles": ["manager", "clerk"], "org_id": 7}
# Qingming (Friday 4 April 2025) is a holiday; Sunday 27 April 2025 is worked for May Day.
CALENDAR = WorkingCalendar.build({6, 7}, [date(2025, 4, 4)], [date(2025, 4, 27)])
KIND_OF_FOLDER = {folder: kind for kind, folder in KIND_FOLDERS.items()}


@cache
def estate_definitions() -> Definitions:
    """The estate folder, checked in memory (pure: no files, no database)."""
    documents = []
    for relative, content in estate().items():
        app, *rest = relative.removesuffix(".yaml").split("/")
        if rest in (["app"], ["roles"]):
            documents.append(document_from_content(app, rest[0], rest[0], content))
        else:
            documents.append(document_from_content(app, KIND_OF_FOLDER[rest[0]], rest[1], content))
    return build_definitions(documents)


def scope_for(context: ExpressionContext, entity: str = "unit", calendar: bool = False) -> Scope:
    definitions = estate_definitions()
    found = definitions.apps[APP].entities[entity]
    return Scope(definitions, APP, found, context, f"{APP}.default" if calendar else None)


def compile_unit(
    source: str, context: ExpressionContext = RULE, calendar: bool = False
) -> Expression:
    return compile_expression(source, scope_for(context, calendar=calendar), FUNCTIONS)


def environment(**overrides: Any) -> Environment:
    """The fixed clock, user and calendar every test evaluates with."""
    values: dict[str, Any] = {
        "today": TODAY,
        "now": NOW,
        "timezone": "Asia/Shanghai",
        "variables": {"user": USER},
        "calendar": CALENDAR,
    }
    return Environment(**{**values, **overrides})


SYSTEM_VALUES = {
    "created_at": NOW,
    "updated_at": NOW,
    "created_by": "test",
    "updated_by": "test",
    "row_version": 1,
    "def_version": 1,
}


class UnitDatabase:
    """The estate tables on a real database, and both back-ends evaluated over them."""

    def __init__(self, engine: sa.Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog

    def table(self, entity: str) -> sa.Table:
        app, _, name = entity.rpartition(".")
        compiled = self.catalog.entity(app or APP, name)
        assert compiled is not None
        return compiled.table

    def insert(self, entity: str, rows: list[dict[str, Any]]) -> None:
        table = self.table(entity)
        with self.engine.begin() as conn:
            for row in rows:
                conn.execute(table.insert().values(**SYSTEM_VALUES, **row))

    def clear(self) -> None:
        with self.engine.begin() as conn:
            for entity in ("inspection", "meter", "unit", "building"):
                conn.execute(self.table(entity).delete())

    def units(self) -> list[dict[str, Any]]:
        table = self.table("unit")
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings()
            return [dict(row) for row in rows]

    def sql_context(self, env: Environment) -> SqlContext:
        return SqlContext(self.engine.dialect.name, self.table, env)

    def closure_environment(self, **overrides: Any) -> Environment:
        """An Environment whose references and aggregates read this database."""
        env = environment(**overrides)

        def lookup(entity: str, record_id: int) -> Record | None:
            table = self.table(entity)
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(table).where(table.c.id == record_id)).first()
            return None if row is None else dict(row._mapping)

        def aggregate(node: TAggregate, record: Record) -> Any:
            with self.engine.connect() as conn:
                return conn.execute(aggregate_query(node, record["id"], context)).scalar_one()

        context = self.sql_context(env)
        env.lookup, env.aggregate = lookup, aggregate
        return env

    def closure_values(self, expression: Expression, **overrides: Any) -> list[Any]:
        """For each unit in id order, what the closure gives."""
        env = self.closure_environment(**overrides)
        return [expression.evaluate(record, env) for record in self.units()]

    def closure_tests(self, expression: Expression) -> list[bool]:
        env = self.closure_environment()
        return [expression.test(record, env) for record in self.units()]

    def sql_values(self, expression: Expression, **overrides: Any) -> list[Any]:
        """For each unit in id order, what the expression selected as a value gives."""
        table = self.table("unit")
        value = expression.sql(table, self.sql_context(environment(**overrides)))
        with self.engine.connect() as conn:
            return list(
                conn.execute(sa.select(value).select_from(table).order_by(table.c.id)).scalars()
            )

    def sql_tests(self, expression: Expression) -> list[bool]:
        """For each unit in id order, whether the expression as a WHERE condition selects it."""
        table = self.table("unit")
        condition = expression.sql_condition(table, self.sql_context(environment()))
        with self.engine.connect() as conn:
            chosen = set(conn.execute(sa.select(table.c.id).where(condition)).scalars())
            ids = conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars()
            return [record_id in chosen for record_id in ids]


@contextmanager
def unit_database(root: Path) -> Iterator[UnitDatabase]:
    """A fresh database with the estate tables (no system tables, nothing published)."""
    with isolated_database() as url:
        folder = write_folder(root / "apps_config", estate())
        engine = create_database_engine(
            Settings(data_dir=root / "var", apps_config=folder, database_url=url)
        )
        catalog = compile_catalog(1, estate_definitions())
        catalog.metadata.create_all(engine)
        try:
            yield UnitDatabase(engine, catalog)
        finally:
            engine.dispose()


def typed(values: list[Any]) -> list[tuple[str, Any]]:
    """Values with their Python type, so 1, 1.0 and True do not pass for one another."""
    return [(type(value).__name__, value) for value in values]
