"""Principals from the identity tables, in two small queries: the user with their
organisation, then their role assignments with each assignment's organisation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.auth.tables import org_table, user_role_table, user_table
from engine.principal import Assignment, Principal

USER_COLUMNS = (
    user_table.c.id,
    user_table.c.username,
    user_table.c.display_name,
    user_table.c.org_id,
    user_table.c.active,
    user_table.c.tokens_valid_after,
    org_table.c.path.label("org_path"),
    org_table.c.code.label("org_code"),
)


def user_with_org(*extra: Any) -> sa.Select[Any]:
    """The user columns a principal needs (plus `extra`), joined to the user's org."""
    joined = user_table.outerjoin(org_table, org_table.c.id == user_table.c.org_id)
    return sa.select(*USER_COLUMNS, *extra).select_from(joined)


def assignments_of(
    conn: sa.Connection, user_id: int, user_org_id: int | None
) -> tuple[Assignment, ...]:
    """The user's roles, each in its own org or, without one, in the user's org."""
    org_id = sa.func.coalesce(user_role_table.c.org_id, user_org_id)
    query = (
        sa.select(
            user_role_table.c.role, org_id.label("org_id"), org_table.c.path, org_table.c.code
        )
        .select_from(user_role_table.outerjoin(org_table, org_table.c.id == org_id))
        .where(user_role_table.c.user_id == user_id)
        .order_by(user_role_table.c.role, user_role_table.c.id)
    )
    return tuple(
        Assignment(role=row.role, org_id=row.org_id, org_path=row.path, org_code=row.code)
        for row in conn.execute(query)
    )


def principal_from_row(
    user: sa.RowMapping, assignments: tuple[Assignment, ...], address: str | None
) -> Principal:
    return Principal(
        username=user["username"],
        roles=tuple(sorted({a.role for a in assignments})),
        org_id=user["org_id"],
        user_id=user["id"],
        org_code=user["org_code"],
        org_path=user["org_path"],
        assignments=assignments,
        address=address,
    )


def principal_for_user(conn: sa.Connection, user_id: int, address: str | None) -> Principal | None:
    """The principal of an active user, or None for an unknown or deactivated one."""
    user = conn.execute(user_with_org().where(user_table.c.id == user_id)).mappings().first()
    if user is None or not user["active"]:
        return None
    return principal_from_row(user, assignments_of(conn, user_id, user["org_id"]), address)
