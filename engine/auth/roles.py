"""Role assignments: platform roles and the roles the published apps declare in roles.yaml,
each held in an organisation (by default the user's own)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from engine.audit import AuditEvent
from engine.auth.realm import Realm
from engine.auth.tables import org_table, user_role_table, user_table
from engine.auth.tokens import revoke_tokens_of
from engine.catalog import Catalog
from engine.database import write_transaction
from engine.errors import NotFound, ValidationFailed, field_error
from engine.principal import Principal
from metamodel.models import PLATFORM_ROLES


class RoleGrant(BaseModel):
    """One role for a user; `org_id` null means the user's own organisation."""

    model_config = ConfigDict(extra="forbid")

    role: Annotated[str, Field(min_length=1, max_length=40)]
    org_id: int | None = None


def known_roles(catalog: Catalog | None) -> tuple[str, ...]:
    """The platform roles and every role declared by an app of the published version."""
    names = set(PLATFORM_ROLES)
    if catalog is not None:
        for bundle in catalog.definitions.apps.values():
            names.update(bundle.roles.roles)
    return tuple(sorted(names))


def check_grants(
    conn: sa.Connection, grants: list[RoleGrant], known: Iterable[str], path: str = "roles"
) -> list[RoleGrant]:
    """The grants without duplicates; a 422 naming each unknown role or organisation."""
    allowed, details = set(known), []
    org_ids = {g.org_id for g in grants if g.org_id is not None}
    active_orgs = set(
        conn.execute(
            sa.select(org_table.c.id).where(org_table.c.id.in_(org_ids), org_table.c.active)
        ).scalars()
    )
    for index, grant in enumerate(grants):
        if grant.role not in allowed:
            details.append(
                field_error(
                    f"{path}[{index}].role", f"unknown role; known: {', '.join(sorted(allowed))}"
                )
            )
        if grant.org_id is not None and grant.org_id not in active_orgs:
            details.append(
                field_error(f"{path}[{index}].org_id", f"no active organisation {grant.org_id}")
            )
    if details:
        raise ValidationFailed("the role assignments are not valid", details)
    unique = {(g.role, g.org_id): g for g in grants}
    return list(unique.values())


def write_grants(conn: sa.Connection, user_id: int, grants: list[RoleGrant]) -> None:
    conn.execute(user_role_table.delete().where(user_role_table.c.user_id == user_id))
    if grants:
        conn.execute(
            user_role_table.insert(),
            [{"user_id": user_id, "role": g.role, "org_id": g.org_id} for g in grants],
        )


def roles_of(conn: sa.Connection, user_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """user id → its assignments as `{"role", "org_id", "org_code"}` (org null: the user's)."""
    query = (
        sa.select(user_role_table, org_table.c.code)
        .select_from(
            user_role_table.outerjoin(org_table, org_table.c.id == user_role_table.c.org_id)
        )
        .where(user_role_table.c.user_id.in_(user_ids))
        .order_by(user_role_table.c.role, user_role_table.c.org_id)
    )
    found: dict[int, list[dict[str, Any]]] = {user_id: [] for user_id in user_ids}
    for row in conn.execute(query).mappings():
        found[row["user_id"]].append(
            {"role": row["role"], "org_id": row["org_id"], "org_code": row["code"]}
        )
    return found


def set_roles(
    realm: Realm,
    user_id: int,
    grants: list[RoleGrant],
    known: Iterable[str],
    actor: Principal,
) -> list[dict[str, Any]]:
    """Replace the user's roles; tokens issued before no longer pass."""
    with write_transaction(realm.engine) as conn:
        username = conn.execute(
            sa.select(user_table.c.username).where(user_table.c.id == user_id)
        ).scalar()
        if username is None:
            raise NotFound(f"no user {user_id}")
        before = roles_of(conn, [user_id])[user_id]
        write_grants(conn, user_id, check_grants(conn, grants, known, path=""))
        after = roles_of(conn, [user_id])[user_id]
        revoke_tokens_of(conn, user_id)
        realm.audit(
            conn,
            AuditEvent.by(
                actor,
                "user.roles",
                "user",
                user_id,
                {"username": username, "changes": {"roles": [before, after]}},
            ),
        )
        return after
