"""Identity (organisations, users, role assignments, sessions, login history), secrets and the
audit chain.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "anju_org",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", ID, sa.ForeignKey("anju_org.id"), nullable=True),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_anju_org_parent_id", "anju_org", ["parent_id"])
    op.create_index("ix_anju_org_path", "anju_org", ["path"])
    op.create_table(
        "anju_user",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("org_id", ID, sa.ForeignKey("anju_org.id"), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
        sa.Column("locked_until", WHEN, nullable=True),
        sa.Column("password_changed_at", WHEN, nullable=False),
        sa.Column("must_change_password", sa.Boolean, nullable=False, default=False),
        sa.Column("tokens_valid_after", WHEN, nullable=True),
        sa.Column("last_login_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "anju_user_role",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey("anju_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("org_id", ID, sa.ForeignKey("anju_org.id"), nullable=True),
    )
    op.create_index(
        "uq_anju_user_role", "anju_user_role", ["user_id", "role", "org_id"], unique=True
    )
    op.create_table(
        "anju_password_history",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey("anju_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("changed_at", WHEN, nullable=False),
    )
    op.create_index("ix_anju_password_history_user", "anju_password_history", ["user_id"])
    op.create_table(
        "anju_session",
        sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the cookie's token
        sa.Column("user_id", ID, sa.ForeignKey("anju_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
    )
    op.create_index("ix_anju_session_user", "anju_session", ["user_id"])
    op.create_table(
        "anju_revoked_token",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_table(
        "anju_login",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
    )
    op.create_index("ix_anju_login_username_at", "anju_login", ["username", "at"])
    op.create_table(
        "anju_secret",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "anju_audit",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_org_id", ID, nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(40), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("algorithm", sa.String(10), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_anju_audit_at", "anju_audit", ["at"])
    op.create_index("ix_anju_audit_actor", "anju_audit", ["actor", "at"])
    op.create_index("ix_anju_audit_target", "anju_audit", ["target", "record_id"])
    op.create_index("ix_anju_audit_action", "anju_audit", ["action", "at"])
    op.create_table(
        "anju_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),  # the newest entry
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("base_seq", sa.BigInteger, nullable=False),  # the last purged entry, or 0
        sa.Column("base_hash", sa.String(64), nullable=False),
    )
    head = sa.table(
        "anju_audit_head",
        sa.column("id", sa.Integer),
        sa.column("seq", sa.BigInteger),
        sa.column("hash", sa.String),
        sa.column("base_seq", sa.BigInteger),
        sa.column("base_hash", sa.String),
    )
    genesis = "0" * 64
    op.bulk_insert(
        head, [{"id": 1, "seq": 0, "hash": genesis, "base_seq": 0, "base_hash": genesis}]
    )


def downgrade() -> None:
    for table in (
        "anju_audit_head",
        "anju_audit",
        "anju_secret",
        "anju_login",
        "anju_revoked_token",
        "anju_session",
        "anju_password_history",
        "anju_user_role",
        "anju_user",
        "anju_org",
    ):
        op.drop_table(table)
