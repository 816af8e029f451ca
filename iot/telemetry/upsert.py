"""The SQL of telemetry writes where SQLite and PostgreSQL differ (`INSERT … ON CONFLICT`,
the two-argument minimum and maximum) or where speed matters most (inserting points)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """An INSERT that knows `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def lesser_greater(conn: sa.Connection) -> tuple[str, str]:
    """The SQL functions giving the smaller and the larger of two values: `least` and
    `greatest` on PostgreSQL, the scalar `min` and `max` on SQLite."""
    if conn.dialect.name == "postgresql":
        return "least", "greatest"
    return "min", "max"


MAX_PARAMETERS = 6000  # per statement: well under SQLite's 32,766 and PostgreSQL's 65,535


def insert_rows(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    on_conflict: str = "ON CONFLICT DO NOTHING",
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` (tuples in `columns` order) with an `ON CONFLICT …` clause; the
    `returning` columns of the rows actually inserted (none skipped by `DO NOTHING`).

    Ingest's hottest statements, so they are plain multi-row `INSERT … VALUES (…), (…)`
    without SQLAlchemy's per-row parameter processing, which would cost more than the
    database's own work."""
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    tail = f" {on_conflict}"
    if returning:
        tail += f" RETURNING {', '.join(quote(c) for c in returning)}"
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        statement = head + ", ".join([one] * len(part)) + tail
        result = conn.exec_driver_sql(statement, tuple(v for row in part for v in row))
        if returning:
            inserted.extend(tuple(r) for r in result.fetchall())
    return inserted
