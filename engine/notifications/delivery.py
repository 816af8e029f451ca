"""Delivering the outbox: the `notifications.deliver` job and the periodic sweep.

A delivery job claims its rows with one conditional UPDATE (`… WHERE id IN (…) AND status IN
('queued', 'failed') AND next_attempt_at <= now`), so two workers never send one row twice,
takes the rate limits, sends through the channel's connector outside any transaction, and
records the results: `sent`, `failed` (due again after an exponential backoff), `dead` (a
permanent refusal, or the last attempt) or `skipped` (no address any more). A worker that
dies while sending leaves its rows `sending`; the sweep gives them back once their claim ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.database import write_transaction
from engine.jobs import JobContext, job_handler, periodic
from engine.notifications.addresses import Contact, contacts, masked, resolve
from engine.notifications.connector import DeliveryResult, OutgoingMessage, Sender
from engine.notifications.limits import purge_quota, take_quota
from engine.notifications.outbox import DELIVER, schedule_delivery
from engine.notifications.tables import DEAD, DUE, FAILED, QUEUED, SENDING, SENT, SKIPPED, outbox

if TYPE_CHECKING:
    from engine.runtime import Runtime

SWEEP = "notifications.sweep"
SWEEP_SECONDS = 60.0
SWEEP_BATCHES = 10  # delivery jobs one sweep may add for rows whose job was lost
LOST = "the worker stopped while sending; tried again"


@dataclass(frozen=True)
class Claimed:
    """An outbox row this worker holds (`sending`), at its `attempts` count."""

    id: int
    key: str
    channel: str
    recipient: str
    subject: str
    body: str
    about: tuple[str, int] | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    row: Claimed
    result: DeliveryResult
    address: str | None = None
    skipped: bool = False


@dataclass
class DeliveryReport:
    """What one delivery job did, by outcome."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    waiting: int = 0  # held back by a rate limit
    ids: list[int] = field(default_factory=list)


@job_handler(DELIVER)
def deliver_job(ctx: JobContext, *, ids: list[int]) -> None:
    deliver(ctx.runtime, ids)


@periodic(SWEEP, seconds=SWEEP_SECONDS)
def sweep_job(ctx: JobContext) -> None:
    sweep(ctx.runtime)


def deliver(runtime: Runtime, ids: Sequence[int]) -> DeliveryReport:
    """Send the outbox rows `ids` that are due and not taken by another worker."""
    report = DeliveryReport()
    now = runtime.clock.now()
    lease = timedelta(seconds=runtime.settings.notification_lease_seconds)
    with write_transaction(runtime.engine) as conn:
        claimed = claim(conn, ids, now, now + lease)
        allowed, waiting = take_quota(conn, runtime.settings, claimed, now)
        _hold(conn, runtime, waiting)
        known = contacts(conn, {r.recipient for r in allowed if r.channel != "webhook"})
    report.waiting = len(waiting)
    outcomes = send(runtime, allowed, known)
    with write_transaction(runtime.engine) as conn:
        record(conn, runtime, outcomes, runtime.clock.now(), report)
    return report


def claim(
    conn: sa.Connection, ids: Sequence[int], now: datetime, locked_until: datetime
) -> list[Claimed]:
    """Take the due rows among `ids` (one UPDATE: a row goes to exactly one claimant)."""
    if not ids:
        return []
    statement = (
        outbox.update()
        .where(outbox.c.id.in_(list(ids)), outbox.c.status.in_(DUE))
        .where(outbox.c.next_attempt_at <= now)
        .values(status=SENDING, attempts=outbox.c.attempts + 1, locked_until=locked_until)
        .returning(*(outbox.c[name] for name in CLAIMED_COLUMNS))
    )
    rows = sorted(conn.execute(statement).mappings(), key=lambda row: row["id"])
    return [_claimed(row) for row in rows]


CLAIMED_COLUMNS = (
    "id",
    "key",
    "channel",
    "recipient",
    "subject",
    "body",
    "about_kind",
    "about_id",
    "attempts",
    "created_at",
)


def _claimed(row: Any) -> Claimed:
    about = (row["about_kind"], row["about_id"]) if row["about_kind"] else None
    return Claimed(
        row["id"],
        row["key"] or f"anju:{row['id']}",
        row["channel"],
        row["recipient"],
        row["subject"],
        row["body"],
        about,
        row["attempts"],
        row["created_at"],
    )


def _hold(
    conn: sa.Connection, runtime: Runtime, waiting: Iterable[tuple[Claimed, datetime]]
) -> None:
    """Rows over a rate limit go back to `queued` until their window ends; the attempt is
    not counted."""
    by_time: dict[datetime, list[int]] = {}
    for row, until in waiting:
        by_time.setdefault(until, []).append(row.id)
    for until, ids in by_time.items():
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(ids), outbox.c.status == SENDING)
            .values(
                status=QUEUED,
                attempts=outbox.c.attempts - 1,
                next_attempt_at=until,
                locked_until=None,
            )
        )
        schedule_delivery(conn, runtime, ids, run_at=until)


def send(runtime: Runtime, rows: Sequence[Claimed], known: dict[str, Contact]) -> list[Outcome]:
    """Send each row through its channel's connector, one session per channel."""
    outcomes: list[Outcome] = []
    by_channel: dict[str, list[Claimed]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    for channel, group in by_channel.items():
        outcomes += _send_channel(runtime, channel, group, known)
    return outcomes


def _send_channel(
    runtime: Runtime, channel: str, rows: list[Claimed], known: dict[str, Contact]
) -> list[Outcome]:
    connector = runtime.extensions.connectors.get(channel)
    if connector is None:
        reason = f"no connector for channel {channel!r} (see docs/notifications.md)"
        return [
            Outcome(row, DeliveryResult.failed(reason, retry=False), skipped=True) for row in rows
        ]
    outcomes: list[Outcome] = []
    addressed: list[tuple[Claimed, str]] = []
    for row in rows:
        address, missing = resolve(channel, row.recipient, known, runtime.settings)
        if address is None:
            outcomes.append(Outcome(row, DeliveryResult.failed(missing or "", False), None, True))
        else:
            addressed.append((row, address))
    if not addressed:
        return outcomes
    try:
        with connector.session() as sender:
            results = _send_all(sender, [_message(row, address) for row, address in addressed])
    except Exception as exc:  # opening (or closing) the session failed: a server is down
        error = DeliveryResult.failed(f"{type(exc).__name__}: {exc}", retry=True)
        results = [error] * len(addressed)
    outcomes += [
        Outcome(row, r, address) for (row, address), r in zip(addressed, results, strict=True)
    ]
    return outcomes


def _send_all(sender: Sender, messages: list[OutgoingMessage]) -> list[DeliveryResult]:
    """One result per message: through the sender's `send_many` where it has one (a gateway
    with a batch API), else one `send` each. An exception fails only what it touched."""
    send_many = getattr(sender, "send_many", None)
    if send_many is not None:
        try:
            results: list[DeliveryResult] = list(send_many(messages))
        except Exception as exc:  # a connector's bug must not lose the batch's results
            results = [DeliveryResult.failed(f"{type(exc).__name__}: {exc}", True)] * len(messages)
        if len(results) == len(messages):
            return results
        return [DeliveryResult.failed("the connector lost track of results", True)] * len(messages)
    results = []
    for message in messages:
        try:
            results.append(sender.send(message))
        except Exception as exc:  # a connector's bug must not lose the batch's results
            results.append(DeliveryResult.failed(f"{type(exc).__name__}: {exc}", retry=True))
    return results


def _message(row: Claimed, address: str) -> OutgoingMessage:
    return OutgoingMessage(
        id=row.id,
        key=row.key,
        channel=row.channel,
        recipient=row.recipient,
        address=address,
        subject=row.subject,
        body=row.body,
        about=row.about,
        created_at=row.created_at,
        attempt=row.attempts,
    )


def record(
    conn: sa.Connection,
    runtime: Runtime,
    outcomes: Sequence[Outcome],
    now: datetime,
    report: DeliveryReport,
) -> None:
    """Write each outcome to its row (if still this worker's), and schedule the retries."""
    settings = runtime.settings
    updates: list[dict[str, Any]] = []
    retries: dict[datetime, list[int]] = {}
    for outcome in outcomes:
        row, result = outcome.row, outcome.result
        status = _status(outcome, settings.notification_max_attempts)
        due = now + backoff(settings, row.attempts) if status == FAILED else now
        if status == FAILED:
            retries.setdefault(due, []).append(row.id)
        updates.append(
            {
                "row_id": row.id,
                "claimed_attempts": row.attempts,
                "new_status": status,
                "new_error": result.error,
                "new_provider_id": result.provider_id,
                "new_sent_at": now if status == SENT else None,
                "new_next_attempt_at": due,
                "new_address": masked(row.channel, outcome.address),
            }
        )
        counter = STATUS_COUNTERS[status]
        setattr(report, counter, getattr(report, counter) + 1)
        report.ids.append(row.id)
    if updates:
        conn.execute(RECORD, updates)
    for due, ids in retries.items():
        schedule_delivery(conn, runtime, ids, run_at=due)


RECORD = (
    outbox.update()
    .where(
        outbox.c.id == sa.bindparam("row_id"),
        outbox.c.status == SENDING,
        outbox.c.attempts == sa.bindparam("claimed_attempts"),
    )
    .values(
        status=sa.bindparam("new_status"),
        last_error=sa.bindparam("new_error"),
        provider_id=sa.bindparam("new_provider_id"),
        sent_at=sa.bindparam("new_sent_at"),
        next_attempt_at=sa.bindparam("new_next_attempt_at"),
        address=sa.func.coalesce(sa.bindparam("new_address", type_=sa.String), outbox.c.address),
        locked_until=None,
    )
)


STATUS_COUNTERS = {SENT: "sent", FAILED: "failed", DEAD: "dead", SKIPPED: "skipped"}


def _status(outcome: Outcome, max_attempts: int) -> str:
    """`sent`, `skipped`, `failed` (tried again later) or `dead` (permanent, or the last)."""
    if outcome.skipped:
        return SKIPPED
    if outcome.result.ok:
        return SENT
    final = not outcome.result.retry or outcome.row.attempts >= max_attempts
    return DEAD if final else FAILED


def backoff(settings: Any, attempts: int) -> timedelta:
    """The wait after a failed attempt `attempts`: base × 2^(attempts−1), capped."""
    seconds = settings.notification_backoff_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.notification_backoff_max_seconds))


def sweep(runtime: Runtime) -> int:
    """Give back rows whose worker stopped mid-send, wake rows whose job was lost, forget
    old rate-limit counters; the number of rows woken."""
    settings = runtime.settings
    now = runtime.clock.now()
    late = now - timedelta(seconds=settings.notification_lease_seconds)
    with write_transaction(runtime.engine) as conn:
        given_back = conn.execute(
            outbox.update()
            .where(outbox.c.status == SENDING, outbox.c.locked_until < now)
            .values(
                status=sa.case(
                    (outbox.c.attempts >= settings.notification_max_attempts, DEAD),
                    else_=FAILED,
                ),
                last_error=LOST,
                next_attempt_at=now,
                locked_until=None,
            )
            .returning(outbox.c.id, outbox.c.status)
        ).all()
        stuck = (
            sa.select(outbox.c.id)
            .where(outbox.c.status.in_(DUE), outbox.c.next_attempt_at <= late)
            .order_by(outbox.c.id)
            .limit(SWEEP_BATCHES * settings.notification_batch)
        )
        ids = sorted({*conn.execute(stuck).scalars(), *(i for i, s in given_back if s == FAILED)})
        schedule_delivery(conn, runtime, ids)
        purge_quota(conn, now)
    return len(ids)
