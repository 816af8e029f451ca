"""Queueing notifications in the caller's transaction, the send log, and retries.

    ids = queue_notifications(conn, runtime, [
        Notification("in_app", "zhang", "租约到期", body, ("alert", 17), key="alert:17:app:zhang"),
        Notification("sms", "zhang", "租约到期", body, ("alert", 17), key="alert:17:sms:zhang"),
    ])

Each notification becomes an outbox row. In-app ones are written as in-app messages at once
and marked sent; the others are delivered by `notifications.deliver` jobs, enqueued in the
same transaction (so nothing is sent for a transaction that rolls back), one job per
`ANJU_NOTIFICATION_BATCH` rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.errors import Conflict, NotFound
from engine.flows.messages import send_messages
from engine.notifications.addresses import Contact, contacts, masked, resolve
from engine.notifications.notification import KEY_LENGTH, SUBJECT_LENGTH, Notification
from engine.notifications.tables import QUEUED, RETRYABLE, SENT, SKIPPED, outbox

if TYPE_CHECKING:
    from engine.runtime import Runtime

DELIVER = "notifications.deliver"
IN_CHUNK = 500
LOG_COLUMNS = (
    "id",
    "channel",
    "recipient",
    "address",
    "subject",
    "about_kind",
    "about_id",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "provider_id",
    "created_at",
    "sent_at",
)


def queue_notifications(
    conn: sa.Connection, runtime: Runtime, notifications: Sequence[Notification]
) -> list[int]:
    """The outbox ids of `notifications`, in order (a key queued before gives the earlier
    row's id and queues nothing). Runs in the caller's transaction — on SQLite, one that
    took the write lock first (`engine.database.write_transaction`), as it reads users
    before it writes."""
    if not notifications:
        return []
    now = runtime.clock.now()
    people = {n.recipient for n in notifications if n.channel != "webhook"}
    known = contacts(conn, people)
    keyed = [(n.key or f"anju:{uuid.uuid4().hex}", n) for n in notifications]
    rows: dict[str, dict[str, Any]] = {}
    for key, notification in keyed:  # a key given twice: the first one counts
        if key not in rows:
            rows[key] = _row(key, notification, now, known, runtime)
    new_ids = _insert(conn, list(rows.values()))
    ids = {**_existing(conn, [k for k in rows if k not in new_ids]), **new_ids}
    fresh = [rows[key] | {"id": new_ids[key]} for key in rows if key in new_ids]
    _write_in_app(conn, fresh, now)
    due = [row["id"] for row in fresh if row["status"] == QUEUED]
    schedule_delivery(conn, runtime, due)
    return [ids[key] for key, _ in keyed]


def schedule_delivery(
    conn: sa.Connection, runtime: Runtime, ids: Sequence[int], run_at: datetime | None = None
) -> None:
    """Delivery jobs for outbox rows, `ANJU_NOTIFICATION_BATCH` rows each, that run once the
    caller's transaction commits (not before `run_at`)."""
    size = runtime.settings.notification_batch
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        runtime.jobs.enqueue(DELIVER, {"ids": chunk}, run_at=run_at, conn=conn)


def _row(
    key: str, notification: Notification, now: datetime, known: dict[str, Contact], runtime: Runtime
) -> dict[str, Any]:
    channel = notification.channel
    about_kind, about_id = notification.about or (None, None)
    address, reason = resolve(channel, notification.recipient, known, runtime.settings)
    if reason is None and channel != "in_app" and channel not in runtime.extensions.connectors:
        reason = f"no connector for channel {channel!r} (see docs/notifications.md)"
    in_app = channel == "in_app" and reason is None
    status = SKIPPED if reason else SENT if in_app else QUEUED
    return {
        "channel": channel,
        "recipient": notification.recipient[:100],
        "address": masked(channel, address),
        "subject": notification.subject[:SUBJECT_LENGTH],
        "body": notification.body,
        "about_kind": about_kind,
        "about_id": about_id,
        "key": key[:KEY_LENGTH],
        "status": status,
        "attempts": 1 if in_app else 0,
        "next_attempt_at": now,
        "last_error": reason,
        "created_at": now,
        "sent_at": now if in_app else None,
    }


def _insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the rows whose key is new (ON CONFLICT DO NOTHING: race-free on both
    databases); their ids by key."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(outbox).on_conflict_do_nothing(index_elements=["key"])
    returning = statement.returning(outbox.c.key, outbox.c.id)
    return {key: row_id for key, row_id in conn.execute(returning, rows)}


def _existing(conn: sa.Connection, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), IN_CHUNK):
        query = sa.select(outbox.c.key, outbox.c.id).where(
            outbox.c.key.in_(keys[start : start + IN_CHUNK])
        )
        found.update({key: row_id for key, row_id in conn.execute(query)})
    return found


def _write_in_app(conn: sa.Connection, rows: Iterable[dict[str, Any]], now: datetime) -> None:
    """In-app rows become in-app messages now; one insert per distinct text."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        if row["channel"] == "in_app" and row["status"] == SENT:
            kind = (row["about_kind"] or "notice")[:20]
            groups.setdefault((row["subject"], row["body"], kind), []).append(row["recipient"])
    for (subject, body, kind), recipients in groups.items():
        send_messages(conn, recipients, subject, body, kind, now)


def log_view(row: Any) -> dict[str, Any]:
    """An outbox row as the API and the send log show it: the address masked (it is stored
    masked), no body."""
    view = {name: row[name] for name in LOG_COLUMNS}
    view["error"] = view.pop("last_error")
    return view


def deliveries(conn: sa.Connection, about: tuple[str, int]) -> list[dict[str, Any]]:
    """The send log of one thing (`("alert", 17)`): every notification about it, oldest
    first, with channel, recipient, masked address, status, attempts, times and error."""
    kind, about_id = about
    query = (
        sa.select(outbox)
        .where(outbox.c.about_kind == kind, outbox.c.about_id == about_id)
        .order_by(outbox.c.id)
    )
    return [log_view(row) for row in conn.execute(query).mappings()]


def list_outbox(
    conn: sa.Connection,
    status: str | None = None,
    channel: str | None = None,
    cursor: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The outbox newest first, filtered by status and channel; `cursor` is the last id of
    the previous page."""
    query = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit + 1)
    if status:
        query = query.where(outbox.c.status == status)
    if channel:
        query = query.where(outbox.c.channel == channel)
    if cursor is not None:
        query = query.where(outbox.c.id < cursor)
    rows = list(conn.execute(query).mappings())
    more = len(rows) > limit
    items = [log_view(row) for row in rows[:limit]]
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}


def retry_notification(conn: sa.Connection, runtime: Runtime, outbox_id: int) -> dict[str, Any]:
    """Queue a failed or dead row again, due now, with a fresh count of attempts."""
    changed = conn.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id, outbox.c.status.in_(RETRYABLE))
        .values(status=QUEUED, attempts=0, next_attempt_at=runtime.clock.now(), locked_until=None)
    )
    row = conn.execute(sa.select(outbox).where(outbox.c.id == outbox_id)).mappings().first()
    if row is None:
        raise NotFound(f"no notification {outbox_id}")
    if changed.rowcount != 1:
        raise Conflict(
            f"notification {outbox_id} is {row['status']}; only failed or dead ones are retried"
        )
    schedule_delivery(conn, runtime, [outbox_id])
    return log_view(row)
