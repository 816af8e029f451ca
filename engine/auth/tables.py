"""The identity tables of migration 0002 as SQLAlchemy Core, for the auth package's queries."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

metadata = sa.MetaData()
org_table = sa.Table(
    "anju_org",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("parent_id", ID, nullable=True),
    sa.Column("path", sa.String(400), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", WHEN, nullable=False),
)
user_table = sa.Table(
    "anju_user",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("org_id", ID, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", WHEN, nullable=True),
    sa.Column("password_changed_at", WHEN, nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False, default=False),
    sa.Column("tokens_valid_after", WHEN, nullable=True),
    sa.Column("last_login_at", WHEN, nullable=True),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("updated_at", WHEN, nullable=False),
    sa.Column("phone", sa.String(32), nullable=True),  # for SMS notifications (migration 0008)
    sa.Column("email", sa.String(254), nullable=True),  # for e-mail notifications
)
user_role_table = sa.Table(
    "anju_user_role",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", ID, nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("org_id", ID, nullable=True),
)
password_history_table = sa.Table(
    "anju_password_history",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", ID, nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("changed_at", WHEN, nullable=False),
)
session_table = sa.Table(
    "anju_session",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", ID, nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("last_seen_at", WHEN, nullable=False),
    sa.Column("expires_at", WHEN, nullable=False),
    sa.Column("revoked_at", WHEN, nullable=True),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(255), nullable=True),
)
revoked_token_table = sa.Table(
    "anju_revoked_token",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", WHEN, nullable=False),
)
login_table = sa.Table(
    "anju_login",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("at", WHEN, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("user_id", ID, nullable=True),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(30), nullable=False),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(255), nullable=True),
)
secret_table = sa.Table(
    "anju_secret",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", WHEN, nullable=False),
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; SQLite hands back the stored UTC time without its zone."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def clip(text: str | None, length: int) -> str | None:
    """`text` cut to a column's length: addresses and user agents come from the client."""
    return None if text is None else text[:length]
