"""Which organisation a record belongs to: its `org_id`, the anchor of org and subtree scopes.

An entity's `org` expression gives the organisation's code from the record's own data (the
street of an application, the district of a unit); without one, a record belongs to the
organisation of the user who created it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.expressions import Environment
from engine.permissions.organisations import org_id_of_code, org_table
from engine.principal import SYSTEM, Principal
from engine.records.changes import records_changed
from engine.records.evaluation import environment, sql_context


def org_of(
    conn: sa.Connection, entity: CompiledEntity, record: dict[str, Any], env: Environment
) -> int | None:
    """The organisation the `org` expression names for `record` (None when no such org)."""
    expression = entity.expressions.org
    assert expression is not None, "only entities with an org expression derive their org"
    code = expression.evaluate(record, env)
    if code is None:
        return None
    query = sa.select(org_table.c.id).where(org_table.c.code == str(code))
    found: int | None = conn.execute(query).scalar()
    return found


def org_for_new(
    conn: sa.Connection,
    entity: CompiledEntity,
    record: dict[str, Any],
    env: Environment,
    principal: Principal,
) -> int | None:
    if entity.expressions.org is None:
        return principal.org_id
    return org_of(conn, entity, record, env)


def assign_orgs(conn: sa.Connection, entity: CompiledEntity, only_unassigned: bool = False) -> int:
    """Set `org_id` of every row (or every row without one) from the `org` expression, as one
    UPDATE statement; returns the number of rows changed."""
    expression = entity.expressions.org
    if expression is None:
        return 0
    table = entity.table
    context = sql_context(conn, entity, environment(None, entity, SYSTEM))
    target = org_id_of_code(sa.cast(expression.sql(table, context), sa.String))
    statement = table.update().values(org_id=target)
    if only_unassigned:
        statement = statement.where(table.c.org_id.is_(None))
    else:
        statement = statement.where(table.c.org_id.is_distinct_from(target))
    changed = int(conn.execute(statement).rowcount or 0)
    if changed:
        records_changed(conn, entity, (), "update")  # one statement: the ids are not known
    return changed


def assign_all_orgs(conn: sa.Connection, catalog: Catalog, only_unassigned: bool = False) -> int:
    """`assign_orgs` for every entity with an `org` expression, e.g. after organisations or
    demo data were loaded."""
    return sum(assign_orgs(conn, e, only_unassigned) for e in catalog.entities.values())


def orgs_changed(old: Catalog | None, new: Catalog) -> list[CompiledEntity]:
    """Entities whose `org` expression is new or different in `new`."""
    changed = []
    for key, entity in new.entities.items():
        before = old.entities.get(key) if old else None
        if entity.definition.org and (
            before is None or before.definition.org != entity.definition.org
        ):
            changed.append(entity)
    return changed
