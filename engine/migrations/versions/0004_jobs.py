"""Background jobs: one row per job, whichever back-end (in-process or RQ) runs it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "anju_job",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("run_at", WHEN, nullable=False),
        sa.Column("locked_by", sa.String(100), nullable=True),
        sa.Column("locked_until", WHEN, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("traceback", sa.Text, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("dispatched_at", WHEN, nullable=True),
    )
    op.create_index("uq_anju_job_key", "anju_job", ["key"], unique=True)
    op.create_index("ix_anju_job_due", "anju_job", ["status", "run_at"])
    op.create_index("ix_anju_job_lease", "anju_job", ["status", "locked_until"])


def downgrade() -> None:
    op.drop_table("anju_job")
