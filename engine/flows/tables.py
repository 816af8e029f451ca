"""The flow engine's own tables: each record's timeline, approval tasks, pending timers and
in-app messages. Created by migration 0005."""

from __future__ import annotations

import sqlalchemy as sa

from engine.types import BigId, UTCDateTime

metadata = sa.MetaData()
NAME = 40
USER = 100


def _record_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    """Which record a row is about: app, entity and id."""
    return [
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("entity", sa.String(NAME), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
    ]


history = sa.Table(
    "anju_flow_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    *_record_columns(),
    sa.Column("flow", sa.String(NAME), nullable=False),
    sa.Column("flow_version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("transition", sa.String(NAME)),
    sa.Column("from_state", sa.String(NAME)),
    sa.Column("to_state", sa.String(NAME)),
    sa.Column("step", sa.String(NAME)),
    sa.Column("actor", sa.String(USER), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("changes", sa.JSON),
    sa.Column("checks", sa.JSON),
    sa.Index("ix_anju_flow_history_record", "app", "entity", "record_id", "id"),
)

tasks = sa.Table(
    "anju_task",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    *_record_columns(),
    sa.Column("flow", sa.String(NAME), nullable=False),
    sa.Column("state", sa.String(NAME), nullable=False),
    sa.Column("step", sa.String(NAME), nullable=False),
    sa.Column("entry_id", sa.BigInteger, nullable=False),  # the history row entering the state
    sa.Column("title", sa.String(255)),
    sa.Column("candidate_role", sa.String(NAME)),
    sa.Column("org_path", sa.String(400)),  # the record's organisation when the task opened
    sa.Column("assignee", sa.String(USER)),
    sa.Column("claimed_by", sa.String(USER)),
    sa.Column("claimed_at", UTCDateTime()),
    sa.Column("excluded", sa.String(USER)),  # who may not decide it: the submitter (0009)
    sa.Column("status", sa.String(12), nullable=False),  # open, done, cancelled
    sa.Column("outcome", sa.String(NAME)),
    sa.Column("decided_by", sa.String(USER)),
    sa.Column("decided_at", UTCDateTime()),
    sa.Column("comment", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("due_at", UTCDateTime()),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Index("ix_anju_task_role", "status", "candidate_role"),
    sa.Index("ix_anju_task_assignee", "status", "assignee"),
    sa.Index("ix_anju_task_claimed", "status", "claimed_by"),
    sa.Index("ix_anju_task_record", "app", "entity", "record_id", "status"),
)

timers = sa.Table(
    "anju_flow_timer",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    *_record_columns(),
    sa.Column("flow", sa.String(NAME), nullable=False),
    sa.Column("state", sa.String(NAME), nullable=False),
    sa.Column("entry_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending, fired, cancelled
    sa.Column("fired_at", UTCDateTime()),
    sa.Index("ix_anju_flow_timer_due", "status", "due_at"),
    sa.Index("ix_anju_flow_timer_record", "app", "entity", "record_id", "status"),
)

messages = sa.Table(
    "anju_message",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("recipient", sa.String(USER), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # notice, task, reminder
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("body", sa.Text),
    sa.Column("app", sa.String(NAME)),
    sa.Column("entity", sa.String(NAME)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("read_at", UTCDateTime()),
    sa.Index("ix_anju_message_recipient", "recipient", "read_at", "id"),
)
