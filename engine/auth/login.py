"""Logging in and changing one's own password: lockout, expiry, history and audit.

Unknown usernames cost one hash verification like known ones. After `lockout_attempts`
consecutive failures an account is locked for `lockout_minutes`, and answers "locked" even
to the right password. A right password that has expired (or that an administrator reset)
is refused with `password_expired` until it is changed. Every attempt leaves a row in
`anju_login` and an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.audit import AuditEvent
from engine.auth.errors import AccountLocked, BadCredentials, PasswordExpired
from engine.auth.history import record_login
from engine.auth.passwords import hash_password, needs_rehash, verify_password
from engine.auth.policies import check_new_password
from engine.auth.realm import Realm
from engine.auth.sessions import end_sessions_of
from engine.auth.tables import as_utc, user_table, utcnow
from engine.auth.users import recent_hashes, store_password
from engine.database import write_transaction

FAILED = {"bad_password": "failed", "unknown_user": "failed", "disabled": "failed"}


@dataclass(frozen=True)
class Attempt:
    """Credentials as a client sent them; `method` is `token`, `session` or `password`."""

    username: str
    password: str
    address: str | None = None
    user_agent: str | None = None
    method: str = "token"


@dataclass(frozen=True)
class Authenticated:
    user_id: int
    username: str


def authenticate(realm: Realm, attempt: Attempt, now: datetime | None = None) -> Authenticated:
    """The user whose credentials these are; else BadCredentials, AccountLocked or
    PasswordExpired, after recording the attempt."""
    return _check(realm, attempt, now or utcnow(), allow_expired=False)


def change_password(
    realm: Realm,
    attempt: Attempt,
    new_password: str,
    keep_session: str | None = None,
    now: datetime | None = None,
) -> Authenticated:
    """Replace the password after checking the current one (an expired one will do); every
    token issued before and every other session of the user ends."""
    now = now or utcnow()
    user = _check(realm, attempt, now, allow_expired=True)
    with realm.engine.connect() as conn:
        current = conn.execute(
            sa.select(user_table.c.password_hash).where(user_table.c.id == user.user_id)
        ).scalar_one()
        recent = recent_hashes(conn, user.user_id, current)
    check_new_password(
        realm.policy, realm.hasher, new_password, user.username, recent, path="new_password"
    )
    password_hash = hash_password(realm.hasher, new_password)
    with write_transaction(realm.engine) as conn:
        store_password(conn, user.user_id, password_hash, now, must_change=False)
        end_sessions_of(conn, user.user_id, keep=keep_session, now=now)
        realm.audit(conn, _event(attempt, "auth.password_change", "ok", user.user_id))
    return user


def _check(realm: Realm, attempt: Attempt, now: datetime, allow_expired: bool) -> Authenticated:
    with realm.engine.connect() as conn:
        user = (
            conn.execute(sa.select(user_table).where(user_table.c.username == attempt.username))
            .mappings()
            .first()
        )
    outcome = _outcome(realm, attempt, user, now, allow_expired)
    new_hash = None
    if (
        outcome in ("ok", "password_expired")
        and user
        and needs_rehash(realm.hasher, user["password_hash"])
    ):
        new_hash = hash_password(realm.hasher, attempt.password)
    with write_transaction(realm.engine) as conn:
        locked_until = _record(realm, conn, attempt, user, outcome, new_hash, now)
    if outcome == "ok" or (outcome == "password_expired" and allow_expired):
        assert user is not None
        return Authenticated(user["id"], user["username"])
    if outcome == "password_expired":
        raise PasswordExpired("the password has expired: change it to log in")
    if outcome == "locked" or locked_until is not None:
        raise AccountLocked(
            "the account is locked after repeated failed logins; try again later "
            "or ask an administrator to unlock it"
        )
    raise BadCredentials()


def _outcome(
    realm: Realm,
    attempt: Attempt,
    user: sa.RowMapping | None,
    now: datetime,
    allow_expired: bool,
) -> str:
    if user is None:
        verify_password(realm.hasher, realm.dummy_hash(), attempt.password)
        return "unknown_user"
    locked_until = as_utc(user["locked_until"])
    if locked_until is not None and locked_until > now:
        return "locked"
    if not verify_password(realm.hasher, user["password_hash"], attempt.password):
        return "bad_password"
    if not user["active"]:
        return "disabled"
    if not allow_expired and _expired(realm, user, now):
        return "password_expired"
    return "ok"


def _expired(realm: Realm, user: sa.RowMapping, now: datetime) -> bool:
    if user["must_change_password"]:
        return True
    changed_at = as_utc(user["password_changed_at"])
    expires_at = realm.policy.expires_at(changed_at) if changed_at else None
    return expires_at is not None and expires_at <= now


def _record(
    realm: Realm,
    conn: sa.Connection,
    attempt: Attempt,
    user: sa.RowMapping | None,
    outcome: str,
    new_hash: str | None,
    now: datetime,
) -> datetime | None:
    """Write what the attempt did to the account, the history and the audit trail; the
    time the account got locked until, when this attempt locked it."""
    user_id = user["id"] if user else None
    locked_until = None
    if user_id is not None and outcome == "bad_password":
        locked_until = _count_failure(realm, conn, user_id, now)
    elif user_id is not None and outcome in ("ok", "password_expired"):
        values: dict[str, Any] = {"failed_logins": 0}
        if outcome == "ok":
            values["last_login_at"] = now
        if new_hash is not None:
            values["password_hash"] = new_hash
        conn.execute(user_table.update().where(user_table.c.id == user_id).values(**values))
    record_login(
        conn,
        attempt.username,
        user_id,
        attempt.method,
        outcome,
        attempt.address,
        attempt.user_agent,
        now,
    )
    org_id = user["org_id"] if user else None
    if outcome == "ok":
        realm.audit(conn, _event(attempt, "auth.login", "ok", user_id, org_id))
    else:
        status = FAILED.get(outcome, "denied")
        realm.audit(
            conn, _event(attempt, "auth.login_failed", status, user_id, org_id, reason=outcome)
        )
    if locked_until is not None:
        event = _event(attempt, "auth.locked", "denied", user_id, org_id, until=locked_until)
        realm.audit(conn, event)
    return locked_until


def _count_failure(
    realm: Realm, conn: sa.Connection, user_id: int, now: datetime
) -> datetime | None:
    """One more consecutive failure; at the limit, lock the account and start counting anew."""
    where = user_table.c.id == user_id
    conn.execute(
        user_table.update().where(where).values(failed_logins=user_table.c.failed_logins + 1)
    )
    failures = conn.execute(sa.select(user_table.c.failed_logins).where(where)).scalar_one()
    if failures < realm.settings.lockout_attempts:
        return None
    locked_until = now + timedelta(minutes=realm.settings.lockout_minutes)
    conn.execute(
        user_table.update().where(where).values(failed_logins=0, locked_until=locked_until)
    )
    return locked_until


def _event(
    attempt: Attempt,
    action: str,
    outcome: str,
    user_id: int | None,
    org_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    return AuditEvent(
        action=action,
        actor=attempt.username[:100],
        target="user",
        record_id=user_id,
        detail={"method": attempt.method, **detail},
        outcome=outcome,
        address=attempt.address,
        actor_org_id=org_id,
    )
