"""Devices: per-device secrets, state, the telemetry time series and its hourly and daily
rollups, refused payloads, commands and their events, device-rule state, runs and clocks, and
the door-access suspensions of units in arrears.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "anju_access_suspension",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("housing_unit_id", sa.BigInteger, nullable=False),
        sa.Column("lease_id", sa.BigInteger),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("suspended_at", WHEN, nullable=False),
        sa.Column("restored_at", WHEN),
        sa.Column("revoke_commands", sa.Text, nullable=False),
        sa.Column("restore_commands", sa.Text),
    )
    op.create_index(
        "ix_anju_access_suspension_unit",
        "anju_access_suspension",
        ["housing_unit_id", "restored_at"],
    )
    op.create_table(
        "anju_device_command",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.BigInteger, nullable=False),
        sa.Column("device_type", sa.String(81), nullable=False),
        sa.Column("command", sa.String(40), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("risk", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.String(200)),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("approved_by", sa.String(100)),
        sa.Column("approval_id", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("transport", sa.String(8)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("queued_at", WHEN),
        sa.Column("sent_at", WHEN),
        sa.Column("delivered_at", WHEN),
        sa.Column("finished_at", WHEN),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("check_at", WHEN),
        sa.Column("result", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("key", sa.String(200)),
        sa.Column("row_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_anju_device_command_device", "anju_device_command", ["device_id", "id"])
    op.create_index("ix_anju_device_command_due", "anju_device_command", ["status", "check_at"])
    op.create_index("uq_anju_device_command_key", "anju_device_command", ["key"], unique=True)
    op.create_table(
        "anju_device_command_event",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("command_id", sa.BigInteger, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100)),
        sa.Column("detail", sa.Text),
    )
    op.create_index(
        "ix_anju_device_command_event_command", "anju_device_command_event", ["command_id", "id"]
    )
    op.create_table(
        "anju_device_rule_clock",
        sa.Column("app", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(40), primary_key=True),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("ran_at", WHEN),
    )
    op.create_table(
        "anju_device_rule_run",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("device_id", sa.BigInteger),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("trigger", sa.String(10), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
    )
    op.create_index("ix_anju_device_rule_run_rule", "anju_device_rule_run", ["app", "rule", "id"])
    op.create_table(
        "anju_device_rule_state",
        sa.Column("app", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(40), primary_key=True),
        sa.Column("device_id", sa.BigInteger, primary_key=True),
        sa.Column("since", sa.BigInteger),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("fired_at", WHEN),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "anju_device_secret",
        sa.Column("device_id", sa.BigInteger, primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(8), nullable=False),
        sa.Column("issued_at", WHEN, nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "anju_device_state",
        sa.Column("device_id", sa.BigInteger, primary_key=True),
        sa.Column("device_type", sa.String(81), nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("last_seen", sa.BigInteger),
        sa.Column("last_ts", sa.BigInteger),
        sa.Column("values", sa.Text, nullable=False),
        sa.Column("messages", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("rejected", sa.BigInteger, nullable=False),
        sa.Column("last_reject", sa.Text),
        sa.Column("online_since", WHEN),
        sa.Column("offline_since", WHEN),
    )
    op.create_table(
        "anju_telemetry",
        sa.Column("device_id", sa.BigInteger, primary_key=True),
        sa.Column("field", sa.String(40), primary_key=True),
        sa.Column("ts", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Float),
        sa.Column("text", sa.String(255)),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_anju_telemetry_ts", "anju_telemetry", ["ts"])
    op.create_table(
        "anju_telemetry_reject",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.BigInteger),
        sa.Column("code", sa.String(64)),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.Text),
        sa.Column("received_at", WHEN, nullable=False),
    )
    op.create_index("ix_anju_telemetry_reject_device", "anju_telemetry_reject", ["device_id", "id"])
    op.create_table(
        "anju_telemetry_rollup",
        sa.Column("device_id", sa.BigInteger, primary_key=True),
        sa.Column("field", sa.String(40), primary_key=True),
        sa.Column("period", sa.String(1), primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),
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
    op.create_index(
        "ix_anju_telemetry_rollup_bucket", "anju_telemetry_rollup", ["period", "bucket"]
    )
    # The two-person rule of approval steps (`exclude_submitter`): who may not decide a task.
    op.add_column("anju_task", sa.Column("excluded", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("anju_task") as batch:
        batch.drop_column("excluded")
    op.drop_table("anju_telemetry_rollup")
    op.drop_table("anju_telemetry_reject")
    op.drop_table("anju_telemetry")
    op.drop_table("anju_device_state")
    op.drop_table("anju_device_secret")
    op.drop_table("anju_device_rule_state")
    op.drop_table("anju_device_rule_run")
    op.drop_table("anju_device_rule_clock")
    op.drop_table("anju_device_command_event")
    op.drop_table("anju_device_command")
    op.drop_table("anju_access_suspension")
