"""Notifications: the outbox of SMS, e-mail, webhook and in-app notifications, the counters
of the rate limits, and a phone number and e-mail address on each user.

The outbox keeps only a *masked* address (`138****5678`): the real one is read from the user
at delivery time, so personal data lives in one place (see docs/notifications.md).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "anju_outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("address", sa.String(100)),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("about_kind", sa.String(40)),
        sa.Column("about_id", sa.BigInteger),
        sa.Column("key", sa.String(200)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("locked_until", WHEN),
        sa.Column("last_error", sa.Text),
        sa.Column("provider_id", sa.String(200)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN),
    )
    op.create_index("uq_anju_outbox_key", "anju_outbox", ["key"], unique=True)
    op.create_index("ix_anju_outbox_due", "anju_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_anju_outbox_about", "anju_outbox", ["about_kind", "about_id", "id"])
    op.create_index("ix_anju_outbox_channel", "anju_outbox", ["channel", "id"])
    op.create_table(
        "anju_notification_quota",
        sa.Column("scope", sa.String(140), primary_key=True),
        sa.Column("slot", sa.BigInteger, primary_key=True),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_index("ix_anju_notification_quota_expiry", "anju_notification_quota", ["expires_at"])
    op.add_column("anju_user", sa.Column("phone", sa.String(32)))
    op.add_column("anju_user", sa.Column("email", sa.String(254)))


def downgrade() -> None:
    with op.batch_alter_table("anju_user") as batch:
        batch.drop_column("email")
        batch.drop_column("phone")
    op.drop_table("anju_notification_quota")
    op.drop_table("anju_outbox")
