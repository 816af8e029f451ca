"""Explaining access: why a principal can or cannot see and change one record.

Each role the principal holds is checked scope by scope against the record with the same SQL
the read and write paths use, so the explanation cannot disagree with what they do.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.expressions import SqlContext
from engine.permissions.access import FieldLevel, Holding, RecordAccess, access_for
from engine.principal import Principal
from engine.records.evaluation import environment, sql_context
from metamodel.models import ACTIONS


def explain_access(
    conn: sa.Connection, entity: CompiledEntity, record_id: int, principal: Principal
) -> dict[str, Any]:
    """For each action: allowed or not, and through which role, organisation and scope."""
    access = access_for(entity, principal)
    table = entity.table
    exists = conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first() is not None
    context = sql_context(conn, entity, environment(None, entity, principal))
    checks = [_check(conn, access, h, record_id, context) for h in access.holdings]
    actions = {}
    for action in ACTIONS:
        via = [c for c in checks if action in c["actions"]]
        allowed = exists and (access.unrestricted or any(c["matches"] for c in via))
        actions[action] = {"allowed": allowed, "reason": _reason(access, action, via, exists)}
    return {
        "user": principal.username,
        "entity": entity.path,
        "record_id": record_id,
        "exists": exists,
        "superuser": access.unrestricted,
        "roles": checks,
        "actions": actions,
        "fields": {n: FieldLevel(level).name.lower() for n, level in access.levels.items()},
        "writable": sorted(access.writable("update")) if actions["update"]["allowed"] else [],
    }


def _check(
    conn: sa.Connection,
    access: RecordAccess,
    holding: Holding,
    record_id: int,
    context: SqlContext,
) -> dict[str, Any]:
    """One role: its grant and whether each of its scopes includes the record."""
    table = access.entity.table
    scopes = []
    for index, scope in enumerate(holding.grant.scopes):
        condition = access.scope_condition(holding, index, scope, table, context)
        query = sa.select(table.c.id).where(table.c.id == record_id)
        if condition is not None:
            query = query.where(condition)
        scopes.append({"scope": scope, "matches": conn.execute(query).first() is not None})
    return {
        "role": holding.assignment.role,
        "org_id": holding.assignment.org_id,
        "org_code": holding.assignment.org_code,
        "actions": list(holding.grant.actions),
        "scopes": scopes,
        "matches": any(s["matches"] for s in scopes),
    }


def _reason(access: RecordAccess, action: str, via: list[dict[str, Any]], exists: bool) -> str:
    if not exists:
        return "the record does not exist"
    if access.unrestricted:
        return "an administrator may do everything"
    if not via:
        return f"none of the user's roles grants {action}"
    matching = [c for c in via if c["matches"]]
    if not matching:
        roles = ", ".join(f"{c['role']} ({_scopes(c)})" for c in via)
        return f"the record lies outside the scope of every role granting {action}: {roles}"
    first = matching[0]
    return f"granted by {first['role']} ({_scopes(first)})"


def _scopes(check: dict[str, Any]) -> str:
    return " or ".join(s["scope"] for s in check["scopes"])
