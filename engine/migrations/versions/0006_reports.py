"""Reports: the data watermark, one version counter per entity table bumped by every write.

A cached report result is keyed by the watermark of the tables it reads, so a write through
any path (records service, bulk load, flows) makes the next run recompute.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "anju_data_version",
        sa.Column("entity", sa.String(81), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("anju_data_version")
