"""Flows: each record's timeline, approval tasks, pending timers and in-app messages.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _record() -> list[sa.Column]:
    return [
        sa.Column("app", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "anju_flow_history",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *_record(),
        sa.Column("flow", sa.String(40), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("transition", sa.String(40)),
        sa.Column("from_state", sa.String(40)),
        sa.Column("to_state", sa.String(40)),
        sa.Column("step", sa.String(40)),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("changes", sa.JSON),
        sa.Column("checks", sa.JSON),
    )
    op.create_index(
        "ix_anju_flow_history_record", "anju_flow_history", ["app", "entity", "record_id", "id"]
    )
    op.create_table(
        "anju_task",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *_record(),
        sa.Column("flow", sa.String(40), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(255)),
        sa.Column("candidate_role", sa.String(40)),
        sa.Column("org_path", sa.String(400)),
        sa.Column("assignee", sa.String(100)),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_at", WHEN),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(40)),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", WHEN),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("due_at", WHEN),
        sa.Column("row_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_anju_task_role", "anju_task", ["status", "candidate_role"])
    op.create_index("ix_anju_task_assignee", "anju_task", ["status", "assignee"])
    op.create_index("ix_anju_task_claimed", "anju_task", ["status", "claimed_by"])
    op.create_index("ix_anju_task_record", "anju_task", ["app", "entity", "record_id", "status"])
    op.create_table(
        "anju_flow_timer",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *_record(),
        sa.Column("flow", sa.String(40), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("entry_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("fired_at", WHEN),
    )
    op.create_index("ix_anju_flow_timer_due", "anju_flow_timer", ["status", "due_at"])
    op.create_index(
        "ix_anju_flow_timer_record", "anju_flow_timer", ["app", "entity", "record_id", "status"]
    )
    op.create_table(
        "anju_message",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("app", sa.String(40)),
        sa.Column("entity", sa.String(40)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("read_at", WHEN),
    )
    op.create_index("ix_anju_message_recipient", "anju_message", ["recipient", "read_at", "id"])


def downgrade() -> None:
    for table in ("anju_message", "anju_flow_timer", "anju_task", "anju_flow_history"):
        op.drop_table(table)
