"""Database engines: SQLite tuned for the embedded default, PostgreSQL for production."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.expressions.sqlite_functions import SQLITE_FUNCTIONS

if TYPE_CHECKING:
    from engine.settings import Settings

T = TypeVar("T")
SQLITE_BUSY = 5  # with its extended codes (SQLITE_BUSY_SNAPSHOT 517) in the low byte


def create_database_engine(settings: Settings) -> Engine:
    url = sa.make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings.sql_echo)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(
        url, echo=settings.sql_echo, pool_size=20, max_overflow=20, pool_pre_ping=True
    )


def _sqlite_engine(url: sa.URL, echo: bool) -> Engine:
    if url.database and url.database != ":memory:":
        from pathlib import Path

        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, echo=echo, pool_size=20, max_overflow=20, connect_args={"check_same_thread": False}
    )

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so DDL is transactional too.
        dbapi_connection.isolation_level = None
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
            "cache_size=-65536",
            "mmap_size=268435456",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")
        dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)
        for name, (arity, function) in SQLITE_FUNCTIONS.items():
            dbapi_connection.create_function(name, arity, function, deterministic=True)

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


@contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction that will write what it reads. On SQLite it takes the write lock at once
    (BEGIN IMMEDIATE), so two writers of one record queue up and the second sees the first's
    result instead of failing on a stale snapshot; PostgreSQL uses row locks for the same."""
    with engine.connect() as conn:
        conn.execution_options(immediate=True)
        with conn.begin():
            yield conn


def read_mostly(engine: Engine, work: Callable[[sa.Connection], T]) -> T:
    """`work(conn)` in a transaction that reads and may then write a little (the audit entry
    of a read that unmasks a value, an export's entry). It starts as a plain transaction, so
    readers run side by side. On SQLite a read transaction cannot take the write lock once
    another writer holds it or has committed since the read began: SQLite refuses at once
    with SQLITE_BUSY ("database is locked") instead of waiting. The work is then rolled back
    and runs once more holding the write lock from the start, so it cannot fail that way
    again. `work` must have no effects outside the transaction but ones safe to repeat."""
    try:
        with engine.begin() as conn:
            return work(conn)
    except sa.exc.OperationalError as exc:
        if not (is_sqlite(engine) and _busy(exc)):
            raise
    with write_transaction(engine) as conn:
        return work(conn)


def _busy(exc: sa.exc.OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == SQLITE_BUSY


def is_sqlite(bind: Engine | sa.Connection) -> bool:
    return bind.dialect.name == "sqlite"
