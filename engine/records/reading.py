"""Reading one record through the principal's access: in scope or not found."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.errors import Forbidden, NotFound
from engine.permissions import RecordAccess, access_for
from engine.principal import Principal
from engine.records.auditing import audit_denied, audit_read
from engine.records.evaluation import environment, sql_context
from engine.records.presenting import present, visible_columns


def require_action(
    conn: sa.Connection, entity: CompiledEntity, principal: Principal, action: str
) -> RecordAccess:
    """The principal's access if it may take `action` on some records of `entity`; else 403
    (audited)."""
    access = access_for(entity, principal)
    if not access.allows(action):
        audit_denied(conn.engine, entity, principal, action, None, "no role grants it")
        raise Forbidden(f"you may not {action} {entity.path} records")
    return access


def get_record(
    conn: sa.Connection, entity: CompiledEntity, record_id: int, principal: Principal
) -> dict[str, Any]:
    """One record as the principal sees it; 404 when it does not exist or is out of scope."""
    access = require_action(conn, entity, principal, "read")
    row = fetch_in_scope(conn, entity, access, "read", record_id)
    if row is None:
        refuse_missing(conn, entity, principal, "read", record_id)
    items, shown = present(entity, access, [row])
    if shown:
        audit_read(conn, entity, principal, "unmask", [record_id], shown)
    return items[0]


def fetch_in_scope(
    conn: sa.Connection,
    entity: CompiledEntity,
    access: RecordAccess,
    action: str,
    record_id: int,
    stored: bool = False,
) -> Any:
    """The row if `action` may touch it: visible columns, or with `stored` every stored column
    still sealed (for writes)."""
    context = sql_context(conn, entity, environment(None, entity, access.principal))
    table = entity.table
    columns = entity.select_columns if stored else visible_columns(entity, access, context)
    query = sa.select(*columns).where(table.c.id == record_id)
    scope = access.row_condition(action, table, context)
    if scope is not None:
        query = query.where(scope)
    return conn.execute(query).mappings().first()


def refuse_missing(
    conn: sa.Connection, entity: CompiledEntity, principal: Principal, action: str, record_id: int
) -> None:
    """404 for a record that is missing or out of scope; an out-of-scope attempt is audited."""
    table = entity.table
    exists = conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first()
    if exists is not None:
        audit_denied(conn.engine, entity, principal, action, record_id, "out of scope")
    raise NotFound(f"{entity.path} {record_id} not found")
