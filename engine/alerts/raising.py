"""Opening and resolving an alert from code, for features that decide in Python rather than
by a scan's SQL (device rules watching telemetry): the alert joins the same table, timeline,
audit trail and notifications as a scanned rule's, so it shows in `/alerts` and the badge.

At most one alert per (app, rule, record) is unresolved, held by the partial unique index::

    alert_id = raise_alert(conn, runtime, RaisedAlert(
        "devices", "lock_tamper", "devices.device", device.id, device.org_id,
        AlertText("门锁防撬报警", "…", "Lock tamper alarm", "…"), "red", ["officer1"]),
        now)
    ...
    resolve_alert(conn, runtime, "devices", "lock_tamper", device.id, now)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.alerts.delivery import sending
from engine.alerts.messages import AlertText, notification_text
from engine.alerts.statuses import OPEN, RESOLVED
from engine.alerts.tables import alerts, dialect_insert, recipients
from engine.alerts.timeline import SYSTEM_ACTOR, add_events
from engine.audit import AuditEvent, append
from engine.notifications import Channel, Notification, queue_notifications

if TYPE_CHECKING:
    from engine.runtime import Runtime


@dataclass(frozen=True)
class RaisedAlert:
    """An alert about one record: who raised it (`app`, `rule`), about what (`entity` as
    `app.entity`, `record_id`, the record's `org_id`), what it says and to whom."""

    app: str
    rule: str
    entity: str
    record_id: int
    org_id: int | None
    text: AlertText
    severity: str
    usernames: Sequence[str]
    family: str = "other"
    channels: Sequence[Channel] = ("in_app",)
    def_version: int = 0


def open_alert_id(conn: sa.Connection, app: str, rule: str, record_id: int) -> int | None:
    """The id of the unresolved alert of (app, rule, record), if there is one."""
    query = sa.select(alerts.c.id).where(
        alerts.c.app == app,
        alerts.c.rule == rule,
        alerts.c.record_id == record_id,
        alerts.c.status != RESOLVED,
    )
    return conn.execute(query).scalar()


def raise_alert(
    conn: sa.Connection, runtime: Runtime, alert: RaisedAlert, now: datetime
) -> int | None:
    """Open the alert, tell its recipients and audit it, in the caller's transaction; the new
    alert's id, or None when one is already open for the rule and record (nothing written)."""
    row = {
        "app": alert.app,
        "rule": alert.rule,
        "family": alert.family,
        "entity": alert.entity,
        "record_id": alert.record_id,
        "title": alert.text.title,
        "body": alert.text.body,
        "title_en": alert.text.title_en,
        "body_en": alert.text.body_en,
        "severity": alert.severity,
        "status": OPEN,
        "opened_at": now,
        "org_id": alert.org_id,
        "def_version": alert.def_version,
    }
    statement = dialect_insert(conn, alerts).values(**row).on_conflict_do_nothing()
    alert_id = conn.execute(statement.returning(alerts.c.id)).scalar()
    if alert_id is None:
        return None
    people = list(dict.fromkeys(alert.usernames))
    if people:
        conn.execute(recipients.insert(), [{"alert_id": alert_id, "username": u} for u in people])
    add_events(conn, [alert_id], "open", now)
    _audit(conn, runtime, alert, "open", alert_id)
    if sending(runtime):
        subject, body = notification_text(alert.text)
        notes = [
            Notification(
                channel,
                username,
                subject,
                body,
                ("alert", alert_id),
                f"alert:{alert_id}:open:{channel}:{username}",
            )
            for channel in alert.channels
            for username in people
        ]
        queue_notifications(conn, runtime, notes)
    return int(alert_id)


def resolve_alert(
    conn: sa.Connection,
    runtime: Runtime,
    app: str,
    rule: str,
    record_id: int,
    now: datetime,
    comment: str = "auto",
) -> int | None:
    """Resolve the unresolved alert of (app, rule, record) by itself (the condition no
    longer holds); its id, or None when none was open."""
    alert_id = open_alert_id(conn, app, rule, record_id)
    if alert_id is None:
        return None
    values = {
        "status": RESOLVED,
        "resolved_at": now,
        "resolved_by": SYSTEM_ACTOR,
        "resolution": "auto",
    }
    where = sa.and_(alerts.c.id == alert_id, alerts.c.status != RESOLVED)
    if conn.execute(alerts.update().where(where).values(**values)).rowcount != 1:
        return None
    add_events(conn, [alert_id], "resolve", now, comment=comment)
    detail = {"rule": f"{app}.{rule}", "record": record_id, "comment": comment}
    event = AuditEvent("alert.resolve", SYSTEM_ACTOR, "alert", alert_id, detail)
    append(conn, event, runtime.options.audit_hash)
    return alert_id


def _audit(
    conn: sa.Connection, runtime: Runtime, alert: RaisedAlert, action: str, alert_id: int
) -> None:
    detail = {
        "rule": f"{alert.app}.{alert.rule}",
        "entity": alert.entity,
        "record": alert.record_id,
        "severity": alert.severity,
    }
    event = AuditEvent(f"alert.{action}", SYSTEM_ACTOR, "alert", alert_id, detail)
    append(conn, event, runtime.options.audit_hash)
