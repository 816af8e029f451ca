"""Reading alerts: the caller's list with filters and unread marks, one alert with its
timeline and send log, the unread count for the top bar's badge, and read marks.

An alert is unread for a recipient until they open it (`mark_read`) or act on it; resolved
alerts no longer count as unread. Titles and bodies come in the caller's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.alerts.rules import SEVERITIES, rule_of
from engine.alerts.statuses import RESOLVED, STATUSES, actions_for
from engine.alerts.tables import alerts, events, recipients
from engine.alerts.visibility import may_act, visible_alert, visible_condition
from engine.catalog import Catalog
from engine.errors import ValidationFailed, field_error
from engine.notifications import deliveries
from engine.principal import Principal
from metamodel.alerts import Family
from metamodel.labels import pick

FILTERS = ("status", "severity", "family", "app", "rule", "unread")
FAMILIES = Family.__args__  # type: ignore[attr-defined]
CHOICES: dict[str, tuple[str, ...]] = {
    "status": STATUSES,
    "severity": SEVERITIES,
    "family": FAMILIES,
}


def list_alerts(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    filters: Mapping[str, str],
    cursor: int | None,
    limit: int,
    language: str = "zh",
) -> dict[str, Any]:
    """`{"items", "next_cursor", "count", "unread"}`: the alerts the caller sees, newest
    first, `limit` per page; `cursor` is the `next_cursor` of the page before."""
    mine = recipients.alias("mine")
    joined = alerts.outerjoin(
        mine, sa.and_(mine.c.alert_id == alerts.c.id, mine.c.username == principal.username)
    )
    conditions = [visible_condition(principal), *_filters(filters, mine)]
    count = conn.execute(
        sa.select(sa.func.count()).select_from(joined).where(*conditions)
    ).scalar_one()
    query = sa.select(alerts, mine.c.username.label("_recipient"), mine.c.read_at.label("_read_at"))
    query = query.select_from(joined).where(*conditions)
    if cursor is not None:
        query = query.where(alerts.c.id < cursor)
    rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [
        alert_view(row, catalog, language, row["_recipient"], row["_read_at"])
        for row in rows[:limit]
    ]
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1]["id"]) if len(rows) > limit else None,
        "count": count,
        "unread": unread_count(conn, principal),
    }


def get_alert(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    alert_id: int,
    language: str = "zh",
) -> dict[str, Any]:
    """One alert with its recipients, timeline, send log and the caller's actions; 404 out
    of sight."""
    row = visible_alert(conn, principal, alert_id)
    people = (
        conn.execute(
            sa.select(recipients.c.username, recipients.c.read_at)
            .where(recipients.c.alert_id == alert_id)
            .order_by(recipients.c.username)
        )
        .mappings()
        .all()
    )
    own = next((p for p in people if p["username"] == principal.username), None)
    view = alert_view(
        row, catalog, language, own["username"] if own else None, own["read_at"] if own else None
    )
    timeline = conn.execute(
        sa.select(events.c.at, events.c.actor, events.c.action, events.c.comment)
        .where(events.c.alert_id == alert_id)
        .order_by(events.c.id)
    ).mappings()
    view["recipients"] = [{"username": p["username"], "read_at": p["read_at"]} for p in people]
    view["timeline"] = [dict(event) for event in timeline]
    view["deliveries"] = deliveries(conn, ("alert", alert_id))
    view["actions"] = actions_for(row["status"]) if may_act(conn, principal, alert_id) else []
    return view


def unread_count(conn: sa.Connection, principal: Principal) -> int:
    """Unresolved alerts addressed to the caller that they have not read."""
    query = (
        sa.select(sa.func.count())
        .select_from(recipients.join(alerts, alerts.c.id == recipients.c.alert_id))
        .where(
            recipients.c.username == principal.username,
            recipients.c.read_at.is_(None),
            alerts.c.status != RESOLVED,
        )
    )
    return int(conn.execute(query).scalar_one())


def mark_read(conn: sa.Connection, principal: Principal, alert_id: int, now: datetime) -> bool:
    """Mark the alert read for the caller; 404 out of sight; False if there was nothing to
    mark (already read, or the caller is not a recipient)."""
    visible_alert(conn, principal, alert_id)
    result = conn.execute(
        recipients.update()
        .where(
            recipients.c.alert_id == alert_id,
            recipients.c.username == principal.username,
            recipients.c.read_at.is_(None),
        )
        .values(read_at=now)
    )
    return result.rowcount == 1


def alert_view(
    row: Mapping[Any, Any],
    catalog: Catalog,
    language: str,
    recipient: str | None,
    read_at: datetime | None,
) -> dict[str, Any]:
    """An alert as the API shows it."""
    english = language == "en"
    rule = rule_of(catalog, row["app"], row["rule"])
    label = pick(rule.definition.label, language, row["rule"]) if rule else row["rule"]
    app, _, entity = str(row["entity"]).partition(".")
    view = {
        name: row[name]
        for name in (
            "id", "app", "rule", "family", "severity", "status", "opened_at",
            "acknowledged_at", "acknowledged_by", "disposed_at", "disposed_by", "opinion",
            "feedback", "feedback_at", "feedback_by", "resolved_at", "resolved_by",
            "resolution", "escalated_at", "org_id", "def_version", "record_id",
        )
    }  # fmt: skip
    view.update(
        rule_label=label,
        entity=entity,
        entity_app=app,
        title=(row["title_en"] if english else row["title"]) or row["title"],
        body=(row["body_en"] if english else row["body"]) or row["body"],
        recipient=recipient is not None,
        unread=recipient is not None and read_at is None and row["status"] != RESOLVED,
    )
    return view


def _filters(filters: Mapping[str, str], mine: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for name, value in filters.items():
        if name not in FILTERS or value in ("", None):
            continue
        if name in CHOICES and value not in CHOICES[name]:
            expected = ", ".join(CHOICES[name])
            raise ValidationFailed(
                f"unknown {name} {value!r}", [field_error(name, f"expected one of {expected}")]
            )
        if name == "unread":
            if value in ("1", "true"):
                conditions += [
                    mine.c.username.is_not(None),
                    mine.c.read_at.is_(None),
                    alerts.c.status != RESOLVED,
                ]
            continue
        conditions.append(alerts.c[name] == value)
    return conditions
