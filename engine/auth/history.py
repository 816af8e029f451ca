"""Login history: one `anju_login` row per attempt, whatever its outcome, for auditors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.auth.tables import as_utc, clip, login_table, utcnow

OUTCOMES = ("ok", "bad_password", "unknown_user", "locked", "disabled", "password_expired")
METHODS = ("token", "session", "password")  # password: the current password of a change


def record_login(
    conn: sa.Connection,
    username: str,
    user_id: int | None,
    method: str,
    outcome: str,
    address: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> None:
    conn.execute(
        login_table.insert().values(
            at=now or utcnow(),
            username=clip(username, 64),
            user_id=user_id,
            method=method,
            outcome=outcome,
            address=clip(address, 64),
            user_agent=clip(user_agent, 255),
        )
    )


@dataclass(frozen=True)
class LoginFilter:
    """What `list_logins` narrows to; every field optional. `before_id` pages backwards."""

    username: str | None = None
    user_id: int | None = None
    outcome: str | None = None
    address: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def list_logins(conn: sa.Connection, where: LoginFilter) -> list[dict[str, Any]]:
    """Attempts matching `where`, newest first."""
    t = login_table
    query = sa.select(t).order_by(t.c.id.desc()).limit(where.limit)
    for column, value in (
        (t.c.username, where.username),
        (t.c.user_id, where.user_id),
        (t.c.outcome, where.outcome),
        (t.c.address, where.address),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(t.c.at >= where.since)
    if where.until is not None:
        query = query.where(t.c.at < where.until)
    if where.before_id is not None:
        query = query.where(t.c.id < where.before_id)
    return [{**dict(row), "at": as_utc(row["at"])} for row in conn.execute(query).mappings()]
