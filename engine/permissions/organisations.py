"""The organisation tree as the permission queries see it: codes, paths, subtrees."""

from __future__ import annotations

import sqlalchemy as sa

from engine.auth.tables import org_table

__all__ = ["org_id_of_code", "org_table"]


def org_id_of_code(code: sa.ColumnElement[str]) -> sa.ScalarSelect[int]:
    """The id of the organisation with `code`, as a scalar subquery (null when none)."""
    return sa.select(org_table.c.id).where(org_table.c.code == code).scalar_subquery()
