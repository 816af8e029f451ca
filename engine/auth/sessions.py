"""Browser sessions: a random token in a signed cookie, a server row keyed by its SHA-256.

A session ends at logout, after `session_idle_minutes` without a request, and at the latest
`session_absolute_hours` after login. `last_seen_at` is refreshed at most once a minute, to
save a write per request. Each session has its own CSRF token for state-changing requests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.auth.keys import SigningKeys
from engine.auth.principals import assignments_of, principal_from_row, user_with_org
from engine.auth.tables import as_utc, clip, session_table, user_table, utcnow
from engine.principal import Principal
from engine.settings import Settings

COOKIE_NAME = "anju_session"
PURPOSE = "session"
REFRESH_AFTER = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=30)  # ended sessions are purged after this, at the next login


@dataclass(frozen=True)
class NewSession:
    cookie: str  # the cookie's value: token and signature
    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    session_id: str
    csrf_token: str
    principal: Principal
    stale: bool = False  # last seen over a minute ago: `touch_session` it


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_of_cookie(keys: SigningKeys, cookie: str) -> str | None:
    """The token inside a cookie whose signature is right; None for a forged one."""
    token, _, signature = cookie.partition(".")
    if not token or not signature or not keys.verify(token, PURPOSE, signature):
        return None
    return token


def open_session(
    conn: sa.Connection,
    keys: SigningKeys,
    settings: Settings,
    user_id: int,
    address: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> NewSession:
    now = now or utcnow()
    conn.execute(session_table.delete().where(session_table.c.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    session = NewSession(
        cookie=f"{token}.{keys.sign(token, PURPOSE)}",
        session_id=session_id_of(token),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
    )
    conn.execute(
        session_table.insert().values(
            id=session.session_id,
            user_id=user_id,
            csrf_token=session.csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=session.expires_at,
            address=clip(address, 64),
            user_agent=clip(user_agent, 255),
        )
    )
    return session


def find_session(
    conn: sa.Connection,
    keys: SigningKeys,
    settings: Settings,
    cookie: str,
    address: str | None,
    now: datetime | None = None,
) -> ActiveSession | None:
    """The live session of a cookie, with its user as a principal; None when the cookie is
    forged, or the session ended, idled out or passed its absolute limit."""
    token = token_of_cookie(keys, cookie)
    if token is None:
        return None
    now = now or utcnow()
    session_id = session_id_of(token)
    query = user_with_org(
        session_table.c.csrf_token,
        session_table.c.last_seen_at,
        session_table.c.expires_at,
        session_table.c.revoked_at,
    ).join(session_table, session_table.c.user_id == user_table.c.id)
    row = conn.execute(query.where(session_table.c.id == session_id)).mappings().first()
    if row is None or not _live(row, settings, now):
        return None
    last_seen = as_utc(row["last_seen_at"])
    stale = last_seen is not None and now - last_seen >= REFRESH_AFTER
    principal = principal_from_row(row, assignments_of(conn, row["id"], row["org_id"]), address)
    return ActiveSession(session_id, row["csrf_token"], principal, stale)


def touch_session(conn: sa.Connection, session_id: str, now: datetime | None = None) -> None:
    """Record activity on a stale session (a write of its own, outside the read)."""
    conn.execute(
        session_table.update()
        .where(session_table.c.id == session_id)
        .values(last_seen_at=now or utcnow())
    )


def _live(row: sa.RowMapping, settings: Settings, now: datetime) -> bool:
    expires_at, last_seen = as_utc(row["expires_at"]), as_utc(row["last_seen_at"])
    assert expires_at is not None and last_seen is not None
    idle = timedelta(minutes=settings.session_idle_minutes)
    return (
        row["active"] and row["revoked_at"] is None and now < expires_at and now - last_seen < idle
    )


def end_session(conn: sa.Connection, session_id: str, now: datetime | None = None) -> None:
    conn.execute(
        session_table.update()
        .where(session_table.c.id == session_id, session_table.c.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


def end_sessions_of(
    conn: sa.Connection, user_id: int, keep: str | None = None, now: datetime | None = None
) -> None:
    """End every session of the user, but `keep` (the one changing the password)."""
    query = session_table.update().where(
        session_table.c.user_id == user_id, session_table.c.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(session_table.c.id != keep)
    conn.execute(query.values(revoked_at=now or utcnow()))
