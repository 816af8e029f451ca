"""Appending to the audit trail inside the caller's transaction.

An entry commits or rolls back with the change it describes. Appends are serialised by a
lock on the single head row, so the chain has one order on every database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from engine.audit.chain import entry_hash
from engine.principal import Principal

metadata = sa.MetaData()
audit_table = sa.Table(
    "anju_audit",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("actor", sa.String(100)),
    sa.Column("actor_org_id", sa.BigInteger),
    sa.Column("address", sa.String(64)),
    sa.Column("action", sa.String(40)),
    sa.Column("target", sa.String(100)),
    sa.Column("record_id", sa.String(40)),
    sa.Column("outcome", sa.String(20)),
    sa.Column("detail", sa.Text),
    sa.Column("algorithm", sa.String(10)),
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
)
head_table = sa.Table(
    "anju_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger),
    sa.Column("hash", sa.String(64)),
    sa.Column("base_seq", sa.BigInteger),
    sa.Column("base_hash", sa.String(64)),
)
HEAD_ID = 1
PURGE_ACTION = "audit.purge"  # its detail explains where the chain now starts


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened. `action` is dotted: `record.update`, `auth.login_failed`,
    `definitions.publish`, `permission.denied`, `record.export`, `record.unmask`, …"""

    action: str
    actor: str
    target: str = ""  # "public_rental.application", "user:alice", "definitions"
    record_id: str | int | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. {"changes": {f: [old, new]}}
    outcome: str = "ok"  # ok, denied, failed
    address: str | None = None
    actor_org_id: int | None = None

    @classmethod
    def by(
        cls,
        actor: Principal,
        action: str,
        target: str,
        record_id: str | int | None,
        detail: dict[str, Any],
        outcome: str = "ok",
    ) -> AuditEvent:
        """An event done by `actor`, with its name, organisation and address."""
        return cls(
            action=action,
            actor=actor.username,
            target=target,
            record_id=record_id,
            detail=detail,
            outcome=outcome,
            address=actor.address,
            actor_org_id=actor.org_id,
        )


def append(conn: sa.Connection, event: AuditEvent, algorithm: str = "sha256") -> int:
    """Add `event` to the chain in the caller's transaction; returns its sequence number."""
    head = lock_head(conn)
    entry: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": datetime.now(UTC),
        "actor": event.actor,
        "actor_org_id": event.actor_org_id,
        "address": event.address,
        "action": event.action,
        "target": event.target,
        "record_id": None if event.record_id is None else str(event.record_id),
        "outcome": event.outcome,
        "detail": orjson.dumps(event.detail, default=str, option=orjson.OPT_SORT_KEYS).decode(),
        "algorithm": algorithm,
        "prev_hash": head.hash,
    }
    entry["hash"] = entry_hash(entry)
    conn.execute(audit_table.insert().values(**entry))
    conn.execute(
        head_table.update()
        .where(head_table.c.id == HEAD_ID)
        .values(seq=entry["seq"], hash=entry["hash"])
    )
    return int(entry["seq"])


@dataclass(frozen=True)
class AuditHead:
    """The newest entry (`seq`, `hash`) and the checkpoint the chain starts after: the last
    purged entry, or 0 and the genesis hash."""

    seq: int
    hash: str
    base_seq: int
    base_hash: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def read_head(conn: sa.Connection) -> AuditHead:
    """The head row as it is now (created by migration 0002)."""
    return _head(conn, sa.select(head_table).where(head_table.c.id == HEAD_ID))


def lock_head(conn: sa.Connection) -> AuditHead:
    """The head row, locked until the transaction ends, so appends have one order.

    PostgreSQL locks the row. SQLite locks the whole database on the first write, so a no-op
    write comes first: the read after it is then current, and waiting writers queue on the
    busy timeout instead of failing to upgrade a stale read snapshot.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(
            head_table.update().where(head_table.c.id == HEAD_ID).values(seq=head_table.c.seq)
        )
        return read_head(conn)
    return _head(conn, sa.select(head_table).where(head_table.c.id == HEAD_ID).with_for_update())


def _head(conn: sa.Connection, query: sa.Select[Any]) -> AuditHead:
    row = conn.execute(query).mappings().one()
    return AuditHead(int(row["seq"]), row["hash"], int(row["base_seq"]), row["base_hash"])
