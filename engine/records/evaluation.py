"""Evaluating a definition's expressions for a record: the environment they run in.

The environment reads referenced records and aggregates through the caller's connection,
so an expression sees exactly what the transaction it runs in sees.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.expressions import Environment, SqlContext
from engine.expressions.closures import Record
from engine.expressions.sql import aggregate_query
from engine.expressions.typed import TAggregate
from engine.principal import Principal
from engine.records.sealing import unseal


def user_variables(principal: Principal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "roles": list(principal.roles),
        "org_id": principal.org_id,
        "org_code": principal.org_code,
    }


def environment(
    conn: sa.Connection | None,
    entity: CompiledEntity,
    principal: Principal,
    variables: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Environment:
    """The clock, the user, and (with a connection) lookups and aggregates for `entity`."""
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    zone = catalog.options.timezone
    moment = now or datetime.now(UTC)
    env = Environment(
        today=moment.astimezone(ZoneInfo(zone)).date(),
        now=moment,
        timezone=zone,
        variables={"user": user_variables(principal), **(variables or {})},
        calendar=entity.calendar,
    )
    if conn is None:
        return env
    rows: dict[tuple[str, int], Record | None] = {}

    def lookup(path: str, record_id: int) -> Record | None:
        key = (path, record_id)
        if key not in rows:
            target = catalog.by_path(path)
            query = sa.select(*target.select_columns).where(target.table.c.id == record_id)
            found = conn.execute(query).mappings().first()
            rows[key] = unseal(target, dict(found)) if found else None
        return rows[key]

    def aggregate(node: TAggregate, record: Record) -> Any:
        record_id = record.get("id")
        if record_id is None:  # a record not yet saved has no related records
            return {"count": 0, "exists": False, "sum": 0}.get(node.function)
        return conn.execute(
            aggregate_query(node, record_id, sql_context(conn, entity, env))
        ).scalar()

    env.lookup = lookup
    env.aggregate = aggregate
    return env


def sql_context(conn: sa.Connection, entity: CompiledEntity, env: Environment) -> SqlContext:
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    return SqlContext(conn.dialect.name, catalog.table_of, env)
