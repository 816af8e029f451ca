"""In-app messages: what flows tell people (notices, reminders); read through the API. And
how a flow's notifications on other channels are keyed, so that each is queued once."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.flows.tables import history, messages

KEY_LENGTH = 200  # the outbox key's length (engine.notifications imports this module)


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


def latest_entry(conn: sa.Connection, app: str, entity: str, record_id: int) -> int:
    """The id of the record's newest timeline row, this transaction's included: a record
    takes a given transition, or fires a given timer, once per such row."""
    query = sa.select(sa.func.max(history.c.id)).where(
        history.c.app == app, history.c.entity == entity, history.c.record_id == record_id
    )
    return int(conn.execute(query).scalar() or 0)


def notification_key(entry: int, path: tuple[Any, ...], channel: str, recipient: str) -> str:
    """`flow:<entry>:<action path>:<channel>:<recipient>`, e.g.
    `flow:412:states.qualified.on_enter.3:sms:zhang` (a digest of it when longer than an
    outbox key may be)."""
    key = f"flow:{entry}:{'.'.join(map(str, path))}:{channel}:{recipient}"
    if len(key) <= KEY_LENGTH:
        return key
    return f"flow:{hashlib.sha256(key.encode()).hexdigest()}"
