"""Retention: purging entries older than the configured period without breaking the proof.

The oldest entries are deleted as one prefix of the chain, and the head's checkpoint
(`base_seq`, `base_hash`) moves to the last purged entry, so verification proves everything
after it. The purge is itself an entry (`audit.purge`) naming the range and the checkpoint
hash. A range that does not verify is never purged: that would destroy the evidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from engine.audit.trail import (
    HEAD_ID,
    PURGE_ACTION,
    AuditEvent,
    append,
    audit_table,
    head_table,
    lock_head,
)
from engine.audit.verify import walk_entries
from engine.database import write_transaction

MIN_RETENTION_DAYS = 180

log = logging.getLogger("anju")


@dataclass(frozen=True)
class PurgeResult:
    """How many entries went (`first_seq`–`last_seq`), or why none did."""

    purged: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    refused: str | None = None


def check_retention(days: int) -> int:
    """`days` if it keeps at least the legal minimum of audit history, else ValueError."""
    if days < MIN_RETENTION_DAYS:
        raise ValueError(
            f"audit retention of {days} days is too short: "
            f"the audit trail must be kept for at least {MIN_RETENTION_DAYS} days"
        )
    return days


def purge_expired(
    engine: sa.Engine,
    retention_days: int,
    now: datetime | None = None,
    algorithm: str = "sha256",
) -> PurgeResult:
    """Delete the entries older than `retention_days` in one transaction, move the checkpoint
    past them and record the purge; safe to run at every start and from several workers."""
    check_retention(retention_days)
    cutoff = (now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=retention_days)
    with write_transaction(engine) as conn:
        head = lock_head(conn)
        last = _last_expired(conn, head.base_seq, head.seq, cutoff)
        if last <= head.base_seq:
            return PurgeResult()
        walk = walk_entries(conn, head.base_seq, head.base_hash, last)
        if walk.problems or walk.last_seq != last:
            reason = f"entries {head.base_seq + 1}–{last} do not verify; run verify-audit"
            log.warning("audit purge refused: %s", reason)
            return PurgeResult(refused=reason)
        purged = conn.execute(audit_table.delete().where(audit_table.c.seq <= last)).rowcount
        conn.execute(
            head_table.update()
            .where(head_table.c.id == HEAD_ID)
            .values(base_seq=last, base_hash=walk.last_hash)
        )
        detail = {
            "purged": purged,
            "from_seq": head.base_seq + 1,
            "to_seq": last,
            "last_hash": walk.last_hash,
            "retention_days": retention_days,
            "older_than": cutoff.isoformat(),
        }
        event = AuditEvent(action=PURGE_ACTION, actor="system", target="audit", detail=detail)
        append(conn, event, algorithm)
    return PurgeResult(purged, head.base_seq + 1, last)


def _last_expired(conn: sa.Connection, base_seq: int, head_seq: int, cutoff: datetime) -> int:
    """The last entry of the expired prefix: just before the first entry to keep.

    Entries are purged only as a prefix, so a clock that stepped back never punches a hole.
    `at` is bound in UTC because SQLite stores it without a zone.
    """
    first_kept = conn.execute(
        sa.select(sa.func.min(audit_table.c.seq)).where(
            audit_table.c.seq > base_seq, audit_table.c.at >= cutoff
        )
    ).scalar()
    return head_seq if first_kept is None else int(first_kept) - 1
