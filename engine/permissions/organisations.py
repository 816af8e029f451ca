"""The organisation tree as the permission queries see it: codes, paths, subtrees."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
org_table = sa.Table(
    "anju_org",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("code", sa.String(40)),
    sa.Column("name", sa.String(100)),
    sa.Column("kind", sa.String(20)),
    sa.Column("parent_id", sa.BigInteger),
    sa.Column("path", sa.String(400)),
    sa.Column("active", sa.Boolean),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)


def org_id_of_code(code: sa.ColumnElement[str]) -> sa.ScalarSelect[int]:
    """The id of the organisation with `code`, as a scalar subquery (null when none)."""
    return sa.select(org_table.c.id).where(org_table.c.code == code).scalar_subquery()
