"""The device tables of migration 0009 as SQLAlchemy Core.

Times of telemetry are integers, milliseconds since the epoch (UTC): they are written
thousands of times a second, bucketed by integer division and compared in indexes, and an
integer does all three at the least cost on both databases. Everything else keeps the
platform's `UTCDateTime`.

A command's status moves along `COMMAND_FLOW`; `FINAL` statuses never change again.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.types import BigId, UTCDateTime

AWAITING_APPROVAL, QUEUED, SENT, DELIVERED = "awaiting_approval", "queued", "sent", "delivered"
SUCCEEDED, FAILED, TIMEOUT, EXPIRED, REJECTED, CANCELLED = (
    "succeeded",
    "failed",
    "timeout",
    "expired",
    "rejected",
    "cancelled",
)
COMMAND_FLOW = {
    AWAITING_APPROVAL: (QUEUED, REJECTED, EXPIRED, CANCELLED),
    QUEUED: (SENT, EXPIRED, CANCELLED),
    SENT: (DELIVERED, SUCCEEDED, FAILED, SENT, TIMEOUT),  # SENT again: a retry
    DELIVERED: (SUCCEEDED, FAILED, TIMEOUT),
}
FINAL = (SUCCEEDED, FAILED, TIMEOUT, EXPIRED, REJECTED, CANCELLED)
LIVE = (AWAITING_APPROVAL, QUEUED, SENT, DELIVERED)

metadata = sa.MetaData()

device_secrets = sa.Table(
    "anju_device_secret",
    metadata,
    sa.Column("device_id", sa.BigInteger, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),  # sha256 hex of the secret
    sa.Column("hint", sa.String(8), nullable=False),  # its last four characters
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("issued_by", sa.String(100), nullable=False),
)

device_states = sa.Table(
    "anju_device_state",
    metadata,
    sa.Column("device_id", sa.BigInteger, primary_key=True),
    sa.Column("device_type", sa.String(81), nullable=False),  # `app.type`
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("last_seen", sa.BigInteger),  # ms
    sa.Column("last_ts", sa.BigInteger),  # ms: the time of the newest reading
    sa.Column("values", sa.Text, nullable=False),  # JSON: field → latest value
    sa.Column("messages", sa.BigInteger, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),  # values stored
    sa.Column("rejected", sa.BigInteger, nullable=False),  # bad payloads
    sa.Column("last_reject", sa.Text),
    sa.Column("online_since", UTCDateTime),
    sa.Column("offline_since", UTCDateTime),
)

telemetry = sa.Table(
    "anju_telemetry",
    metadata,
    sa.Column("device_id", sa.BigInteger, primary_key=True),
    sa.Column("field", sa.String(40), primary_key=True),
    sa.Column("ts", sa.BigInteger, primary_key=True),  # ms
    sa.Column("value", sa.Float),  # numbers and booleans (1.0/0.0)
    sa.Column("text", sa.String(255)),  # strings
    sqlite_with_rowid=False,
)
sa.Index("ix_anju_telemetry_ts", telemetry.c.ts)

rollups = sa.Table(
    "anju_telemetry_rollup",
    metadata,
    sa.Column("device_id", sa.BigInteger, primary_key=True),
    sa.Column("field", sa.String(40), primary_key=True),
    sa.Column("period", sa.String(1), primary_key=True),  # h: hour (UTC), d: day (local)
    sa.Column("bucket", sa.BigInteger, primary_key=True),  # ms at the bucket's start
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("sum", sa.Float, nullable=False),
    sa.Column("min", sa.Float, nullable=False),
    sa.Column("max", sa.Float, nullable=False),
    sa.Column("first", sa.Float, nullable=False),
    sa.Column("last", sa.Float, nullable=False),
    sa.Column("first_ts", sa.BigInteger, nullable=False),
    sa.Column("last_ts", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
sa.Index("ix_anju_telemetry_rollup_bucket", rollups.c.period, rollups.c.bucket)

rejects = sa.Table(
    "anju_telemetry_reject",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.BigInteger),  # None: an unknown device
    sa.Column("code", sa.String(64)),
    sa.Column("transport", sa.String(8), nullable=False),  # http, mqtt
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text),  # the first 2,000 characters
    sa.Column("received_at", UTCDateTime, nullable=False),
)
sa.Index("ix_anju_telemetry_reject_device", rejects.c.device_id, rejects.c.id)

commands = sa.Table(
    "anju_device_command",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.BigInteger, nullable=False),
    sa.Column("device_type", sa.String(81), nullable=False),
    sa.Column("command", sa.String(40), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("risk", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("source", sa.String(20), nullable=False),  # user, rule, scene, linkage
    sa.Column("source_ref", sa.String(200)),  # `devices.vacant_water_use`, `arrears:lease:17`
    sa.Column("requested_by", sa.String(100), nullable=False),
    sa.Column("approved_by", sa.String(100)),
    sa.Column("approval_id", sa.BigInteger),  # the `devices.command_request` record
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("transport", sa.String(8)),  # how it was last sent: mqtt, http
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("queued_at", UTCDateTime),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("check_at", UTCDateTime),  # when the sweep must look at it next
    sa.Column("result", sa.Text),  # JSON
    sa.Column("error", sa.Text),
    sa.Column("key", sa.String(200)),  # idempotency key
    sa.Column("row_version", sa.Integer, nullable=False),
)
sa.Index("uq_anju_device_command_key", commands.c.key, unique=True)
sa.Index("ix_anju_device_command_device", commands.c.device_id, commands.c.id)
sa.Index("ix_anju_device_command_due", commands.c.status, commands.c.check_at)

command_events = sa.Table(
    "anju_device_command_event",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("command_id", sa.BigInteger, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100)),
    sa.Column("detail", sa.Text),  # JSON
)
sa.Index("ix_anju_device_command_event_command", command_events.c.command_id, command_events.c.id)

rule_states = sa.Table(
    "anju_device_rule_state",
    metadata,
    sa.Column("app", sa.String(40), primary_key=True),
    sa.Column("rule", sa.String(40), primary_key=True),
    sa.Column("device_id", sa.BigInteger, primary_key=True),
    sa.Column("since", sa.BigInteger),  # ms: the first reading of the current streak
    sa.Column("streak", sa.Integer, nullable=False),  # readings in a row the condition held
    sa.Column("fired_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

rule_runs = sa.Table(
    "anju_device_rule_run",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(40), nullable=False),
    sa.Column("rule", sa.String(40), nullable=False),
    sa.Column("device_id", sa.BigInteger),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("trigger", sa.String(10), nullable=False),  # reading, absence, schedule
    sa.Column("outcome", sa.Text, nullable=False),  # JSON: alert id, command ids, skipped why
)
sa.Index("ix_anju_device_rule_run_rule", rule_runs.c.app, rule_runs.c.rule, rule_runs.c.id)

rule_clocks = sa.Table(
    "anju_device_rule_clock",
    metadata,
    sa.Column("app", sa.String(40), primary_key=True),
    sa.Column("rule", sa.String(40), primary_key=True),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("ran_at", UTCDateTime),
)

access_suspensions = sa.Table(
    "anju_access_suspension",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("housing_unit_id", sa.BigInteger, nullable=False),
    sa.Column("lease_id", sa.BigInteger),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("suspended_at", UTCDateTime, nullable=False),
    sa.Column("restored_at", UTCDateTime),
    sa.Column("revoke_commands", sa.Text, nullable=False),  # JSON: command ids
    sa.Column("restore_commands", sa.Text),
)
sa.Index(
    "ix_anju_access_suspension_unit",
    access_suspensions.c.housing_unit_id,
    access_suspensions.c.restored_at,
)
