"""The alert tables, created by migration 0007: alerts, their recipients (with read marks),
their timeline, and each rule's scan state.

At most one alert per rule and record is unresolved: a partial unique index over
(app, rule, record_id) where the status is not `resolved` holds it in the database, on
PostgreSQL and SQLite alike, so two scans racing never open the same alert twice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.types import BigId, UTCDateTime

metadata = sa.MetaData()
NAME = 40
USER = 100
OPEN_ONLY = sa.text("status <> 'resolved'")

alerts = sa.Table(
    "anju_alert",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(NAME), nullable=False),
    sa.Column("rule", sa.String(NAME), nullable=False),
    sa.Column("family", sa.String(NAME), nullable=False),
    sa.Column("entity", sa.String(81), nullable=False),  # "app.entity"
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("title", sa.String(255), nullable=False),  # zh
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("title_en", sa.String(255), nullable=False),
    sa.Column("body_en", sa.Text, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("acknowledged_at", UTCDateTime()),
    sa.Column("acknowledged_by", sa.String(USER)),
    sa.Column("disposed_at", UTCDateTime()),
    sa.Column("disposed_by", sa.String(USER)),
    sa.Column("opinion", sa.Text),
    sa.Column("feedback", sa.Text),
    sa.Column("feedback_at", UTCDateTime()),
    sa.Column("feedback_by", sa.String(USER)),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("resolved_by", sa.String(USER)),
    sa.Column("resolution", sa.String(10)),  # auto or manual
    sa.Column("escalated_at", UTCDateTime()),
    sa.Column("org_id", sa.BigInteger),
    sa.Column("def_version", sa.Integer, nullable=False),
    sa.Index(
        "ux_anju_alert_open",
        "app",
        "rule",
        "record_id",
        unique=True,
        postgresql_where=OPEN_ONLY,
        sqlite_where=OPEN_ONLY,
    ),
    sa.Index("ix_anju_alert_status", "status", "id"),
)


def dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    """An INSERT with PostgreSQL's or SQLite's `on_conflict_do_*` (the two databases Anju runs
    on share the syntax)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


recipients = sa.Table(
    "anju_alert_recipient",
    metadata,
    sa.Column("alert_id", sa.BigInteger, primary_key=True),
    sa.Column("username", sa.String(USER), primary_key=True),
    sa.Column("read_at", UTCDateTime()),
    sa.Index("ix_anju_alert_recipient_user", "username", "alert_id"),
)

events = sa.Table(
    "anju_alert_event",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.BigInteger, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(USER), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Index("ix_anju_alert_event_alert", "alert_id", "id"),
)

rule_states = sa.Table(
    "anju_alert_rule_state",
    metadata,
    sa.Column("app", sa.String(NAME), primary_key=True),
    sa.Column("rule", sa.String(NAME), primary_key=True),
    sa.Column("schedule", sa.String(100)),  # the schedule next_scan_at was computed for
    sa.Column("last_scan_at", UTCDateTime()),
    sa.Column("next_scan_at", UTCDateTime()),
    sa.Column("last_matched", sa.Integer),
    sa.Column("last_error", sa.Text),
)
