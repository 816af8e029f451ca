"""Alerts: the alerts rules open, their recipients and read marks, their timeline, and each
rule's scan state. One unresolved alert per rule and record (a partial unique index).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
OPEN_ONLY = sa.text("status <> 'resolved'")


def upgrade() -> None:
    op.create_table(
        "anju_alert",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(81), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("title_en", sa.String(255), nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.Column("acknowledged_at", WHEN),
        sa.Column("acknowledged_by", sa.String(100)),
        sa.Column("disposed_at", WHEN),
        sa.Column("disposed_by", sa.String(100)),
        sa.Column("opinion", sa.Text),
        sa.Column("feedback", sa.Text),
        sa.Column("feedback_at", WHEN),
        sa.Column("feedback_by", sa.String(100)),
        sa.Column("resolved_at", WHEN),
        sa.Column("resolved_by", sa.String(100)),
        sa.Column("resolution", sa.String(10)),
        sa.Column("escalated_at", WHEN),
        sa.Column("org_id", sa.BigInteger),
        sa.Column("def_version", sa.Integer, nullable=False),
    )
    op.create_index(
        "ux_anju_alert_open",
        "anju_alert",
        ["app", "rule", "record_id"],
        unique=True,
        postgresql_where=OPEN_ONLY,
        sqlite_where=OPEN_ONLY,
    )
    op.create_index("ix_anju_alert_status", "anju_alert", ["status", "id"])
    op.create_table(
        "anju_alert_recipient",
        sa.Column("alert_id", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("read_at", WHEN),
    )
    op.create_index(
        "ix_anju_alert_recipient_user", "anju_alert_recipient", ["username", "alert_id"]
    )
    op.create_table(
        "anju_alert_event",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_anju_alert_event_alert", "anju_alert_event", ["alert_id", "id"])
    op.create_table(
        "anju_alert_rule_state",
        sa.Column("app", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(40), primary_key=True),
        sa.Column("schedule", sa.String(100)),
        sa.Column("last_scan_at", WHEN),
        sa.Column("next_scan_at", WHEN),
        sa.Column("last_matched", sa.Integer),
        sa.Column("last_error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("anju_alert_rule_state")
    op.drop_table("anju_alert_event")
    op.drop_table("anju_alert_recipient")
    op.drop_table("anju_alert")
