"""Who may download a stored file: whoever uploaded it, and whoever may read a record whose
file field holds it (the field readable to them, the record in their read scope).

A file id is long and random, but an id seen once (in a log, a forwarded link) must not
stay a key to the file forever: downloads follow the records, like every other read.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.errors import NotFound
from engine.permissions import access_for
from engine.principal import Principal
from engine.records.evaluation import environment, sql_context
from metamodel.fields import FileField


def require_file_access(
    conn: sa.Connection, catalog: Catalog, principal: Principal, info: dict[str, Any]
) -> None:
    """Return if `principal` may download the file `info` describes; else 404, as for a
    record out of scope."""
    if principal.is_superuser or info.get("created_by") == principal.username:
        return
    for entity in catalog.entities.values():
        if _held_in_reach(conn, entity, principal, info["id"]):
            return
    raise NotFound(f"file {info['id']} not found")


def _held_in_reach(
    conn: sa.Connection, entity: CompiledEntity, principal: Principal, file_id: str
) -> bool:
    names = [n for n, spec in entity.fields.items() if isinstance(spec, FileField)]
    if not names:
        return False
    access = access_for(entity, principal)
    readable = [n for n in names if access.readable(n)]
    if not access.allows("read") or not readable:
        return False
    table = entity.table
    query = sa.select(table.c.id).where(sa.or_(*(table.c[n] == file_id for n in readable)))
    context = sql_context(conn, entity, environment(None, entity, principal))
    scope = access.row_condition("read", table, context)
    if scope is not None:
        query = query.where(scope)
    return conn.execute(query.limit(1)).first() is not None
