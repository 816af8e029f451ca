"""In-app messages: what flows tell people (notices, reminders); read through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.flows.tables import messages


def send_messages(
    conn: sa.Connection,
    recipients: list[str],
    title: str,
    body: str,
    kind: str,
    at: datetime,
    about: tuple[str, str, int] | None = None,
) -> None:
    app, entity, record_id = about or (None, None, None)
    rows = [
        {
            "recipient": recipient,
            "kind": kind,
            "title": title[:255],
            "body": body,
            "app": app,
            "entity": entity,
            "record_id": record_id,
            "created_at": at,
        }
        for recipient in dict.fromkeys(recipients)
    ]
    if rows:
        conn.execute(messages.insert(), rows)


def list_messages(
    conn: sa.Connection, username: str, unread: bool = False, limit: int = 50
) -> dict[str, Any]:
    query = sa.select(messages).where(messages.c.recipient == username)
    if unread:
        query = query.where(messages.c.read_at.is_(None))
    rows = conn.execute(query.order_by(messages.c.id.desc()).limit(limit)).mappings()
    unread_count = conn.execute(
        sa.select(sa.func.count()).where(
            messages.c.recipient == username, messages.c.read_at.is_(None)
        )
    ).scalar()
    return {"items": [dict(row) for row in rows], "unread": unread_count}


def mark_read(conn: sa.Connection, username: str, message_id: int, at: datetime) -> bool:
    result = conn.execute(
        messages.update()
        .where(
            messages.c.id == message_id,
            messages.c.recipient == username,
            messages.c.read_at.is_(None),
        )
        .values(read_at=at)
    )
    return result.rowcount == 1
