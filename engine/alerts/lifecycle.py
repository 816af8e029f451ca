"""Acting on alerts: acknowledge, dispose (the supervisor's opinion), feedback (the
operator's handling feedback) and resolve by hand — see `statuses.py` for the lifecycle.

Each action is one conditional UPDATE (the state the action leaves must still hold, else
409), a timeline row and an audit entry, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.alerts.listing import get_alert
from engine.alerts.statuses import ACKNOWLEDGED, ACTIONS, DISPOSED, RESOLVED
from engine.alerts.tables import alerts, recipients
from engine.alerts.timeline import add_events, audit_action
from engine.alerts.visibility import may_act, visible_alert
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from engine.principal import Principal

if TYPE_CHECKING:
    from engine.runtime import Runtime

TEXT_LIMIT = 4000


def act(
    conn: sa.Connection,
    runtime: Runtime,
    principal: Principal,
    alert_id: int,
    action: str,
    body: dict[str, Any],
    language: str = "zh",
) -> dict[str, Any]:
    """Take `action` on the alert for `principal`; the alert as `get_alert` shows it.

    404 when the caller cannot see the alert, 403 when they may only read it (auditors,
    people who are not its recipients), 422 for a missing opinion or feedback, 409 when the
    alert's state does not allow the action."""
    step = ACTIONS.get(action)
    if step is None:
        raise NotFound(f"no alert action {action!r}; actions are {', '.join(ACTIONS)}")
    row = visible_alert(conn, principal, alert_id)
    if not may_act(conn, principal, alert_id):
        raise Forbidden("only the alert's recipients and administrators act on it")
    comment = _text(body, "comment", required=False)
    given = _text(body, step.required, required=True) if step.required else None
    if row["status"] not in step.sources:
        raise Conflict(
            f"the alert is {row['status']}; {action} needs it {' or '.join(step.sources)}",
            [field_error("status", f"is {row['status']}")],
        )
    now = runtime.clock.now()
    values = _values(action, principal.username, now, given)
    where = sa.and_(alerts.c.id == alert_id, alerts.c.status.in_(step.sources))
    if conn.execute(alerts.update().where(where).values(**values)).rowcount != 1:
        raise Conflict("the alert changed meanwhile; reload it and try again")
    note = given if comment is None else (f"{given}\n{comment}" if given else comment)
    add_events(conn, [alert_id], action, now, principal.username, note)
    conn.execute(
        recipients.update()
        .where(recipients.c.alert_id == alert_id, recipients.c.username == principal.username)
        .where(recipients.c.read_at.is_(None))
        .values(read_at=now)
    )
    detail = {"rule": f"{row['app']}.{row['rule']}", "from": row["status"], **values}
    detail = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in detail.items()}
    if comment:
        detail["comment"] = comment
    algorithm = runtime.options.audit_hash
    audit_action(conn, algorithm, principal, action, alert_id, detail)
    return get_alert(conn, runtime.require_catalog(), principal, alert_id, language)


def _values(action: str, actor: str, now: datetime, given: str | None) -> dict[str, Any]:
    match action:
        case "acknowledge":
            return {"status": ACKNOWLEDGED, "acknowledged_at": now, "acknowledged_by": actor}
        case "dispose":
            return {"status": DISPOSED, "disposed_at": now, "disposed_by": actor, "opinion": given}
        case "feedback":
            return {"feedback": given, "feedback_at": now, "feedback_by": actor}
    return {"status": RESOLVED, "resolved_at": now, "resolved_by": actor, "resolution": "manual"}


def _text(body: dict[str, Any], name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(f"give the {name}", [field_error(name, "is required")])
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be text", [field_error(name, "expected text")])
    if len(value) > TEXT_LIMIT:
        message = f"at most {TEXT_LIMIT} characters"
        raise ValidationFailed(f"{name} is too long", [field_error(name, message)])
    return value.strip()
