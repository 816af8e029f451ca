"""Users: creation with a policy-checked password, changes, password resets and unlocking.

Every change is audited with what changed (never a password or its hash). Hashing happens
before the transaction opens, so a slow hash never holds a write lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from engine.audit import AuditEvent
from engine.auth.passwords import hash_password
from engine.auth.policies import PasswordPolicy, check_new_password
from engine.auth.realm import Realm
from engine.auth.roles import RoleGrant, check_grants, roles_of, write_grants
from engine.auth.sessions import end_sessions_of
from engine.auth.tables import (
    as_utc,
    org_table,
    password_history_table,
    user_role_table,
    user_table,
    utcnow,
)
from engine.auth.tokens import revoke_tokens_of
from engine.database import write_transaction
from engine.errors import Conflict, NotFound, ValidationFailed, field_error
from engine.principal import Principal
from engine.protection.masks import mask_value

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
NULLABLE = ("org_id", "phone", "email")  # fields a change may set to null
CONTACT_MASKS = {"phone": "3*4", "email": "1*0"}
KEEP_HISTORY = 10  # password hashes kept per user; more than any policy looks back
Username = Annotated[str, Field(pattern=USERNAME_PATTERN)]
DisplayName = Annotated[str, Field(min_length=1, max_length=100)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9]{5,20}$")]  # for SMS notifications
Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", max_length=254)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: DisplayName | None = None  # the username when not given
    password: Password
    org_id: int | None = None
    roles: list[RoleGrant] = []
    must_change_password: bool = False
    phone: Phone | None = None
    email: Email | None = None


class UserChange(BaseModel):
    """The fields to change; `org_id: null` sent explicitly takes the user out of any org."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    org_id: int | None = None
    active: bool | None = None
    phone: Phone | None = None  # null sent explicitly removes it
    email: Email | None = None


@dataclass(frozen=True)
class UserQuery:
    org_id: int | None = None
    role: str | None = None
    q: str | None = None  # part of the username or display name, any case
    active: bool | None = None
    limit: int = 100
    offset: int = 0


VIEW_COLUMNS = (
    user_table,
    org_table.c.code.label("org_code"),
    org_table.c.name.label("org_name"),
    org_table.c.kind.label("org_kind"),
)


def _users() -> sa.Select[Any]:
    joined = user_table.outerjoin(org_table, org_table.c.id == user_table.c.org_id)
    return sa.select(*VIEW_COLUMNS).select_from(joined)


def user_view(
    row: sa.RowMapping, roles: list[dict[str, Any]], policy: PasswordPolicy | None = None
) -> dict[str, Any]:
    """A user as the API shows it: no hash, the org inline, lock and expiry spelled out."""
    changed_at = as_utc(row["password_changed_at"])
    locked_until = as_utc(row["locked_until"])
    org = None
    if row["org_id"] is not None:
        org = {
            "id": row["org_id"],
            "code": row["org_code"],
            "name": row["org_name"],
            "kind": row["org_kind"],
        }
    return {
        "id": row["id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "org": org,
        "active": row["active"],
        "roles": roles,
        "locked": locked_until is not None and locked_until > utcnow(),
        "locked_until": locked_until,
        "failed_logins": row["failed_logins"],
        "must_change_password": row["must_change_password"],
        "phone": row["phone"],
        "email": row["email"],
        "password_changed_at": changed_at,
        "password_expires_at": policy.expires_at(changed_at) if policy and changed_at else None,
        "last_login_at": as_utc(row["last_login_at"]),
        "created_at": as_utc(row["created_at"]),
        "updated_at": as_utc(row["updated_at"]),
    }


def get_user(
    conn: sa.Connection, user_id: int, policy: PasswordPolicy | None = None
) -> dict[str, Any]:
    row = conn.execute(_users().where(user_table.c.id == user_id)).mappings().first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    return user_view(row, roles_of(conn, [user_id])[user_id], policy)


def user_id_of(conn: sa.Connection, username: str) -> int | None:
    query = sa.select(user_table.c.id).where(user_table.c.username == username)
    found: int | None = conn.execute(query).scalar()
    return found


def list_users(
    conn: sa.Connection, query: UserQuery, policy: PasswordPolicy | None = None
) -> list[dict[str, Any]]:
    select = _users().order_by(user_table.c.username).limit(query.limit).offset(query.offset)
    if query.org_id is not None:
        select = select.where(user_table.c.org_id == query.org_id)
    if query.active is not None:
        select = select.where(user_table.c.active == query.active)
    if query.role is not None:
        holds = sa.select(user_role_table.c.id).where(
            user_role_table.c.user_id == user_table.c.id, user_role_table.c.role == query.role
        )
        select = select.where(holds.exists())
    if query.q:
        text = query.q.lower()
        select = select.where(
            sa.or_(
                sa.func.lower(user_table.c.username).contains(text, autoescape=True),
                sa.func.lower(user_table.c.display_name).contains(text, autoescape=True),
            )
        )
    rows = list(conn.execute(select).mappings())
    roles = roles_of(conn, [row["id"] for row in rows])
    return [user_view(row, roles[row["id"]], policy) for row in rows]


def create_user(
    realm: Realm, data: UserCreate, known_roles: Iterable[str], actor: Principal
) -> dict[str, Any]:
    """A new user with a password meeting the policy, in an org, with roles."""
    check_new_password(realm.policy, realm.hasher, data.password, data.username)
    password_hash = hash_password(realm.hasher, data.password)
    now = utcnow()
    try:
        with write_transaction(realm.engine) as conn:
            _check_org(conn, data.org_id)
            grants = check_grants(conn, data.roles, known_roles)
            user_id = insert_user(
                conn,
                data.username,
                data.display_name or data.username,
                password_hash,
                data.org_id,
                now,
                data.must_change_password,
                data.phone,
                data.email,
            )
            write_grants(conn, user_id, grants)
            user = get_user(conn, user_id, realm.policy)
            values = {
                k: user[k] for k in ("username", "display_name", "roles", "must_change_password")
            }
            realm.audit(
                conn,
                _event(
                    actor, "user.create", user_id, {"values": {**values, "org_id": data.org_id}}
                ),
            )
            return user
    except sa.exc.IntegrityError:
        raise Conflict(
            f"a user named {data.username!r} exists",
            [field_error("username", "is taken by another user")],
        ) from None


def insert_user(
    conn: sa.Connection,
    username: str,
    display_name: str,
    password_hash: str,
    org_id: int | None,
    now: datetime,
    must_change_password: bool = False,
    phone: str | None = None,
    email: str | None = None,
) -> int:
    """The row of a new active user and the first entry of its password history; its id."""
    user_id: int = conn.execute(
        user_table.insert()
        .values(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            org_id=org_id,
            active=True,
            failed_logins=0,
            password_changed_at=now,
            must_change_password=must_change_password,
            phone=phone,
            email=email,
            created_at=now,
            updated_at=now,
        )
        .returning(user_table.c.id)
    ).scalar_one()
    _remember(conn, user_id, password_hash, now)
    return user_id


def update_user(realm: Realm, user_id: int, change: UserChange, actor: Principal) -> dict[str, Any]:
    """Change display name, organisation or active; deactivating ends tokens and sessions."""
    values = change.model_dump(exclude_unset=True)
    values = {k: v for k, v in values.items() if v is not None or k in NULLABLE}
    with write_transaction(realm.engine) as conn:
        before = get_user(conn, user_id, realm.policy)
        if "org_id" in values:
            _check_org(conn, values["org_id"])
        now = utcnow()
        conn.execute(
            user_table.update().where(user_table.c.id == user_id).values(**values, updated_at=now)
        )
        if values.get("active") is False and before["active"]:
            revoke_tokens_of(conn, user_id, now)
            end_sessions_of(conn, user_id, now=now)
        after = get_user(conn, user_id, realm.policy)
        changes = {
            name: [_plain(before[name], name), _plain(after[name], name)]
            for name in ("display_name", "org", "active", "phone", "email")
            if before[name] != after[name]
        }
        if changes:
            detail = {"username": after["username"], "changes": changes}
            realm.audit(conn, _event(actor, "user.update", user_id, detail))
        return after


def reset_password(realm: Realm, user_id: int, password: str, actor: Principal) -> None:
    """An administrator sets a password the user must change at the next login; the user's
    tokens and sessions end, and a lock is lifted."""
    with realm.engine.connect() as conn:
        username = get_user(conn, user_id)["username"]
    check_new_password(realm.policy, realm.hasher, password, username)
    password_hash = hash_password(realm.hasher, password)
    with write_transaction(realm.engine) as conn:
        now = utcnow()
        store_password(conn, user_id, password_hash, now, must_change=True)
        end_sessions_of(conn, user_id, now=now)
        realm.audit(conn, _event(actor, "user.password_reset", user_id, {"username": username}))


def unlock_user(realm: Realm, user_id: int, actor: Principal) -> dict[str, Any]:
    with write_transaction(realm.engine) as conn:
        conn.execute(
            user_table.update()
            .where(user_table.c.id == user_id)
            .values(failed_logins=0, locked_until=None, updated_at=utcnow())
        )
        user = get_user(conn, user_id, realm.policy)
        realm.audit(conn, _event(actor, "user.unlock", user_id, {"username": user["username"]}))
        return user


def store_password(
    conn: sa.Connection, user_id: int, password_hash: str, now: datetime, must_change: bool
) -> None:
    """Set a new password hash: earlier tokens stop passing, failed attempts are forgotten."""
    conn.execute(
        user_table.update()
        .where(user_table.c.id == user_id)
        .values(
            password_hash=password_hash,
            password_changed_at=now,
            must_change_password=must_change,
            tokens_valid_after=now,
            failed_logins=0,
            locked_until=None,
            updated_at=now,
        )
    )
    _remember(conn, user_id, password_hash, now)


def recent_hashes(conn: sa.Connection, user_id: int, current: str) -> list[str]:
    """The current hash, then earlier ones, newest first, for the policy's history rule."""
    query = (
        sa.select(password_history_table.c.password_hash)
        .where(password_history_table.c.user_id == user_id)
        .order_by(password_history_table.c.changed_at.desc(), password_history_table.c.id.desc())
        .limit(KEEP_HISTORY)
    )
    return [current, *(h for h in conn.execute(query).scalars() if h != current)]


def _remember(conn: sa.Connection, user_id: int, password_hash: str, now: datetime) -> None:
    history = password_history_table
    conn.execute(
        history.insert().values(user_id=user_id, password_hash=password_hash, changed_at=now)
    )
    kept = (
        sa.select(history.c.id)
        .where(history.c.user_id == user_id)
        .order_by(history.c.changed_at.desc(), history.c.id.desc())
        .limit(KEEP_HISTORY)
    )
    conn.execute(history.delete().where(history.c.user_id == user_id, history.c.id.not_in(kept)))


def _check_org(conn: sa.Connection, org_id: int | None) -> None:
    if org_id is None:
        return
    query = sa.select(org_table.c.active).where(org_table.c.id == org_id)
    if not conn.execute(query).scalar():
        raise ValidationFailed(
            "the organisation does not exist or is inactive",
            [field_error("org_id", f"no active organisation {org_id}")],
        )


def _plain(value: Any, name: str = "") -> Any:
    """A value as the audit trail keeps it: an org by code, contact details masked (the
    trail is kept for years and cannot be corrected; the user row holds the real ones)."""
    if name in CONTACT_MASKS and isinstance(value, str):
        local, at, domain = value.rpartition("@")
        if at:
            return f"{mask_value(local, CONTACT_MASKS[name])}@{domain}"
        return mask_value(value, CONTACT_MASKS[name])
    return value["code"] if isinstance(value, dict) else value


def _event(actor: Principal, action: str, record_id: int, detail: dict[str, Any]) -> AuditEvent:
    return AuditEvent.by(actor, action, "user", record_id, detail)
