"""The audit table refuses UPDATE (and TRUNCATE on PostgreSQL); DELETE stays for retention.

A database administrator can drop these triggers. That is why entries are hash-chained and
the chain head is anchored outside the database: the trigger stops mistakes and casual
edits, `run.py verify-audit` detects the rest.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

MESSAGE = "anju_audit is append-only; audit entries cannot be changed"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            sa.text(
                "CREATE TRIGGER anju_audit_no_update BEFORE UPDATE ON anju_audit "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        )
    elif dialect == "postgresql":
        op.execute(
            sa.text(
                "CREATE FUNCTION anju_audit_refuse_change() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
            )
        )
        op.execute(
            sa.text(
                "CREATE TRIGGER anju_audit_no_update BEFORE UPDATE ON anju_audit "
                "FOR EACH ROW EXECUTE FUNCTION anju_audit_refuse_change()"
            )
        )
        op.execute(
            sa.text(
                "CREATE TRIGGER anju_audit_no_truncate BEFORE TRUNCATE ON anju_audit "
                "FOR EACH STATEMENT EXECUTE FUNCTION anju_audit_refuse_change()"
            )
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(sa.text("DROP TRIGGER IF EXISTS anju_audit_no_update"))
    elif dialect == "postgresql":
        op.execute(sa.text("DROP TRIGGER IF EXISTS anju_audit_no_truncate ON anju_audit"))
        op.execute(sa.text("DROP TRIGGER IF EXISTS anju_audit_no_update ON anju_audit"))
        op.execute(sa.text("DROP FUNCTION IF EXISTS anju_audit_refuse_change()"))
