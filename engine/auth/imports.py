"""Loading many organisations and accounts at once (demo data, a migration from another
system): one transaction, one password hash for accounts that share an initial password,
and an audit entry for each organisation and account like the administration API writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.audit import AuditEvent
from engine.auth.passwords import hash_password
from engine.auth.policies import check_new_password
from engine.auth.realm import Realm
from engine.auth.tables import org_table, user_role_table, user_table, utcnow
from engine.auth.users import insert_user
from engine.database import write_transaction
from engine.errors import ValidationFailed, field_error
from engine.principal import Principal


def import_identity(
    realm: Realm,
    organisations: Iterable[Mapping[str, Any]],
    accounts: Iterable[Mapping[str, Any]],
    password: str,
    actor: Principal,
) -> tuple[int, int]:
    """Add organisations ({code, name, kind, parent_code}, parents first) and accounts
    ({username, display_name, org_code, roles}) that all start with `password`; existing
    codes and usernames are left as they are. Returns how many of each were added."""
    check_new_password(realm.policy, realm.hasher, password, "")
    password_hash = hash_password(realm.hasher, password)
    now = utcnow()
    added_orgs = added_users = 0
    with write_transaction(realm.engine) as conn:
        ids = {row.code: (row.id, row.path) for row in conn.execute(sa.select(org_table))}
        for org in organisations:
            if org["code"] in ids:
                continue
            parent = ids.get(org["parent_code"]) if org.get("parent_code") else None
            if org.get("parent_code") and parent is None:
                message = f"parent {org['parent_code']!r} is not loaded before it"
                raise ValidationFailed("bad organisation", [field_error(org["code"], message)])
            org_id = conn.execute(
                org_table.insert()
                .values(
                    code=org["code"],
                    name=org["name"],
                    kind=org["kind"],
                    parent_id=parent[0] if parent else None,
                    path="/",
                    active=True,
                    created_at=now,
                )
                .returning(org_table.c.id)
            ).scalar_one()
            path = f"{parent[1] if parent else '/'}{org_id}/"
            conn.execute(org_table.update().where(org_table.c.id == org_id).values(path=path))
            ids[org["code"]] = (org_id, path)
            detail = {"values": {k: org.get(k) for k in ("code", "name", "kind", "parent_code")}}
            realm.audit(conn, _event(actor, "org.create", "org", org_id, detail))
            added_orgs += 1
        taken = set(conn.execute(sa.select(user_table.c.username)).scalars())
        for account in accounts:
            if account["username"] in taken:
                continue
            home = ids.get(account["org_code"]) if account.get("org_code") else None
            display_name = account.get("display_name") or account["username"]
            org_id = home[0] if home else None
            user_id = insert_user(
                conn, account["username"], display_name, password_hash, org_id, now
            )
            roles = list(account.get("roles", []))
            if roles:
                conn.execute(
                    user_role_table.insert(),
                    [{"user_id": user_id, "role": role, "org_id": None} for role in roles],
                )
            detail = {"values": {"username": account["username"], "roles": roles}}
            realm.audit(conn, _event(actor, "user.create", "user", user_id, detail))
            added_users += 1
    return added_orgs, added_users


def _event(
    actor: Principal, action: str, target: str, record_id: int, detail: dict[str, Any]
) -> AuditEvent:
    return AuditEvent.by(actor, action, target, record_id, detail)
