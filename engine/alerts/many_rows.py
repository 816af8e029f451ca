"""Many rows in a few statements, for a scan that opens tens of thousands of alerts at once:
an INSERT of many rows, and an IN list of many ids, each with a handful of parameters however
many rows there are. What is fastest differs by database:

- SQLite: the driver's `executemany` of one positional INSERT, whose C loop binds each row
  (SQLAlchemy's per-row parameter handling costs more than the insert itself); the rows
  inserted are read back by id, as only one writer at a time can insert.
- PostgreSQL: the rows as one JSONB parameter read by `jsonb_array_elements` in an
  `INSERT … SELECT … RETURNING` (psycopg would otherwise convert a huge multi-row INSERT's
  named parameters one by one, and `executemany` sends a statement per row).

Ids go as one JSON array on both (`json_each`, `jsonb_array_elements_text`). And while a
scan builds its hundreds of thousands of rows, Python's cycle collector is paused
(`collector_paused`): none of them form cycles, yet each full collection would walk them
all — a fifth of the time of opening 45,000 alerts.

    inserted = insert_many(conn, alerts, ["record_id", "title"], [(7, "…"), (8, "…")],
                           {"app": "supervision", "opened_at": now}, returning=["id"])
    ids = [row[0] for row in inserted]
    conn.execute(sa.select(alerts).where(alerts.c.id.in_(id_list(conn, ids))))
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def insert_many(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
    *,
    skip_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` (values of `columns`: integers, strings or None) with the same
    `constants` (any values of the columns' types) in each; with `skip_conflicts`, a row
    a unique index refuses is left out. The `returning` columns of the rows inserted,
    sorted (name `id` first to have them by id; the table must have an integer `id` key)."""
    if not rows:
        return []
    same = dict(constants or {})
    if conn.dialect.name == "postgresql":
        return _insert_json(conn, table, columns, rows, same, skip_conflicts, returning)
    names = [*columns, *same]
    quote = conn.dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    if skip_conflicts:
        statement += " ON CONFLICT DO NOTHING"
    fixed = tuple(_bound(conn, table.c[n], v) for n, v in same.items())
    before = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() if returning else None
    conn.exec_driver_sql(statement, [tuple(row) + fixed for row in rows])
    if not returning:
        return []
    query = sa.select(*(table.c[n] for n in returning)).where(table.c.id > (before or 0))
    return sorted(tuple(row) for row in conn.execute(query))


def id_list(conn: sa.Connection, ids: Iterable[int]) -> sa.Select[tuple[int]]:
    """`ids` as a one-column SELECT with one parameter, for `column.in_(id_list(conn, ids))`."""
    payload = json.dumps(list(ids))
    if conn.dialect.name == "postgresql":
        document = sa.cast(sa.literal(payload, sa.Text()), postgresql.JSONB)
        elements = sa.func.jsonb_array_elements_text(document).table_valued("value")
        return sa.select(sa.cast(elements.c.value, sa.BigInteger()).label("id"))
    elements = sa.func.json_each(sa.literal(payload, sa.Text())).table_valued("value")
    return sa.select(elements.c.value.label("id"))


def _insert_json(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    same: dict[str, Any],
    skip_conflicts: bool,
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    document = sa.cast(sa.literal(payload, sa.Text()), postgresql.JSONB)
    elements = sa.func.jsonb_array_elements(document).table_valued("value")
    selected: list[sa.ColumnElement[Any]] = [
        sa.literal(v, table.c[n].type) for n, v in same.items()
    ]
    selected += [
        sa.cast(elements.c.value.op("->>")(sa.literal_column(str(i))), table.c[name].type)
        for i, name in enumerate(columns)
    ]
    statement = postgresql.insert(table).from_select(
        [*same, *columns], sa.select(*selected).select_from(elements)
    )
    if skip_conflicts:
        statement = statement.on_conflict_do_nothing()
    if not returning:
        conn.execute(statement)
        return []
    result = conn.execute(statement.returning(*(table.c[n] for n in returning)))
    return sorted(tuple(row) for row in result)


def _bound(conn: sa.Connection, column: sa.Column[Any], value: Any) -> Any:
    """`value` as the driver takes it for `column` (a timestamp as SQLite's text, …)."""
    processor = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor is not None else value


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block, unless it was off already; reference
    counting still frees everything the block drops."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
