"""Who sees and acts on an alert: its recipients see theirs and act on them; administrators
see and act on all; auditors see all and act on none. An alert out of the caller's sight
is 404, as out-of-scope records are."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.alerts.tables import alerts, recipients
from engine.errors import NotFound
from engine.principal import Principal

READ_ALL_ROLES = frozenset({"auditor"})  # platform roles reading every alert, acting on none


def sees_all(principal: Principal) -> bool:
    return principal.is_superuser or not READ_ALL_ROLES.isdisjoint(principal.roles)


def addressed_to(username: str) -> sa.ColumnElement[bool]:
    """Alerts with `username` among their recipients."""
    return sa.exists().where(
        recipients.c.alert_id == alerts.c.id, recipients.c.username == username
    )


def visible_condition(principal: Principal) -> sa.ColumnElement[bool]:
    """The alerts `principal` may read, as a WHERE clause over `anju_alert`."""
    return sa.true() if sees_all(principal) else addressed_to(principal.username)


def visible_alert(conn: sa.Connection, principal: Principal, alert_id: int) -> dict[str, Any]:
    """The alert's row if `principal` may read it; else 404."""
    query = sa.select(alerts).where(alerts.c.id == alert_id, visible_condition(principal))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return dict(row)


def is_recipient(conn: sa.Connection, username: str, alert_id: int) -> bool:
    query = sa.select(recipients.c.alert_id).where(
        recipients.c.alert_id == alert_id, recipients.c.username == username
    )
    return conn.execute(query).first() is not None


def may_act(conn: sa.Connection, principal: Principal, alert_id: int) -> bool:
    """Recipients and administrators act on an alert; auditors only read."""
    return principal.is_superuser or is_recipient(conn, principal.username, alert_id)
