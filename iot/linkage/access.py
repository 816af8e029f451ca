"""Arrears → door access: a lease with two or more rent bills unpaid past their due dates has
the access of its unit suspended on every smart lock; once it falls below two, access is
restored.

The test is the supervision rule's (`supervision/alerts/rent_arrears_two_months.yaml`): a
lease that is active or expired, counting its bills `unpaid` or `partial` whose due date is
before today (in the platform's time zone). A suspension is one `anju_access_suspension`
row per lease, open until restored; its commands go through `iot.commands.service`
(`actor` SYSTEM, `source` "linkage", one idempotency key per suspension and lock), so they
are queued, sent, retried and audited like any other command.

`settle_lease` decides for one lease inside one transaction that first locks the lease row,
so the on-change job and the hourly sweep can never open two suspensions of one lease.
While a suspension stays open, each pass also commands a lock installed since, and sends
again to a lock whose earlier command failed, timed out or expired.

A "lock" is any active device of the unit whose type has both `suspend_access` and
`restore_access`, whatever the type is called.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.audit import AuditEvent, append
from engine.catalog import Catalog, CompiledEntity
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.runtime import Runtime
from iot.registry import Device, device_types, devices_of_unit
from iot.tables import (
    CANCELLED,
    EXPIRED,
    FAILED,
    REJECTED,
    TIMEOUT,
    access_suspensions,
    commands,
)

LEASES = ("public_rental", "lease_contract")
RENT_BILLS = ("public_rental", "rent_bill")
BILLS_IN_ARREARS = 2
OVERDUE_BILL_STATUSES = ("unpaid", "partial")
LIVE_LEASE_STATUSES = ("active", "expired")
SUSPEND, RESTORE = "suspend_access", "restore_access"
SOURCE = "linkage"
LOST = (FAILED, TIMEOUT, EXPIRED, REJECTED, CANCELLED)  # a command that must be sent again


@dataclass
class Settlement:
    """What one pass did: leases whose access it suspended or restored, and commands sent."""

    suspended: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    commands: list[int] = field(default_factory=list)

    def add(self, other: Settlement) -> None:
        self.suspended += other.suspended
        self.restored += other.restored
        self.commands += other.commands

    def as_json(self) -> dict[str, list[int]]:
        return {
            "suspended": self.suspended,
            "restored": self.restored,
            "commands": self.commands,
        }


def local_today(runtime: Runtime) -> date:
    """Today in the platform's time zone, as `today` in expressions."""
    return runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


def linked(catalog: Catalog) -> tuple[CompiledEntity, CompiledEntity] | None:
    """The lease and rent-bill entities, if both apps are published."""
    leases, bills = catalog.entity(*LEASES), catalog.entity(*RENT_BILLS)
    if leases is None or bills is None:
        return None
    return leases, bills


def leases_in_arrears(
    conn: sa.Connection, catalog: Catalog, today: date, lease_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Lease id → number of overdue bills, for live leases with at least two: one query."""
    found = linked(catalog)
    if found is None:
        return {}
    leases, bills = found[0].table, found[1].table
    overdue = sa.func.count(bills.c.id)
    query = (
        sa.select(leases.c.id, overdue)
        .join(bills, bills.c.contract == leases.c.id)
        .where(
            leases.c.status.in_(LIVE_LEASE_STATUSES),
            bills.c.status.in_(OVERDUE_BILL_STATUSES),
            bills.c.due_date < today,
        )
        .group_by(leases.c.id)
        .having(overdue >= BILLS_IN_ARREARS)
    )
    if lease_ids is not None:
        query = query.where(leases.c.id.in_(lease_ids))
    return {lease_id: count for lease_id, count in conn.execute(query)}


def open_suspensions(conn: sa.Connection, lease_ids: Sequence[int] | None = None) -> set[int]:
    """The leases whose access is suspended now."""
    query = sa.select(access_suspensions.c.lease_id).where(
        access_suspensions.c.restored_at.is_(None), access_suspensions.c.lease_id.is_not(None)
    )
    if lease_ids is not None:
        query = query.where(access_suspensions.c.lease_id.in_(lease_ids))
    return {lease_id for (lease_id,) in conn.execute(query)}


def settle_access(
    runtime: Runtime, catalog: Catalog, lease_ids: Sequence[int] | None = None
) -> Settlement:
    """Suspend, restore or complete the access of every lease that needs it (of `lease_ids`,
    or of all leases); each lease in its own transaction."""
    today = local_today(runtime)
    with runtime.engine.connect() as conn:
        candidates = set(leases_in_arrears(conn, catalog, today, lease_ids))
        candidates |= open_suspensions(conn, lease_ids)
    result = Settlement()
    for lease_id in sorted(candidates):
        result.add(settle_lease(runtime, catalog, lease_id))
    return result


def settle_lease(runtime: Runtime, catalog: Catalog, lease_id: int) -> Settlement:
    """Bring one lease's door access in line with its arrears, in one transaction."""
    found = linked(catalog)
    if found is None:
        return Settlement()
    leases = found[0].table
    today, now = local_today(runtime), runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        lease = conn.execute(
            sa.select(leases.c.id, leases.c.housing_unit, leases.c.contract_no, leases.c.status)
            .where(leases.c.id == lease_id)
            .with_for_update()
        ).first()
        overdue = leases_in_arrears(conn, catalog, today, [lease_id]).get(lease_id, 0)
        suspension = conn.execute(
            sa.select(access_suspensions).where(
                access_suspensions.c.lease_id == lease_id,
                access_suspensions.c.restored_at.is_(None),
            )
        ).first()
        if lease is None or overdue < BILLS_IN_ARREARS:
            if suspension is None:
                return Settlement()
            if lease is None:
                why = "lease deleted"
            elif lease.status not in LIVE_LEASE_STATUSES:
                why = f"lease {lease.status}"
            else:
                why = f"{overdue} rent bills overdue"
            return _restore(conn, runtime, catalog, suspension, now, why)
        if suspension is None:
            return _suspend(conn, runtime, catalog, lease, overdue, now)
        return _cover_locks(conn, runtime, catalog, suspension)


def _suspend(
    conn: sa.Connection, runtime: Runtime, catalog: Catalog, lease: Any, overdue: int, now: datetime
) -> Settlement:
    reason = (
        f"租金欠缴 {overdue} 期，停用门禁直至缴清 / "
        f"lease {lease.contract_no}: {overdue} rent bills overdue, access suspended until paid"
    )
    suspension = conn.execute(
        access_suspensions.insert()
        .values(
            housing_unit_id=lease.housing_unit,
            lease_id=lease.id,
            reason=reason,
            suspended_at=now,
            revoke_commands="[]",
        )
        .returning(*access_suspensions.c)
    ).one()
    suspension_id = suspension.id
    sent = _cover_locks(conn, runtime, catalog, suspension)
    detail = {"suspension": suspension_id, "overdue_bills": overdue, "commands": sent.commands}
    _audit(conn, catalog, "device.access.suspend", lease.id, detail)
    return Settlement(suspended=[lease.id], commands=sent.commands)


def _cover_locks(
    conn: sa.Connection, runtime: Runtime, catalog: Catalog, suspension: Any
) -> Settlement:
    """Make sure every lock of the unit holds a live or succeeded suspend command of this
    suspension: a lock installed since gets one, a lost command is sent again."""
    earlier = json.loads(suspension.revoke_commands)
    statuses = _statuses(conn, earlier)
    by_device: dict[int, list[int]] = {}
    for command_id in earlier:
        device_id = statuses.get(command_id, (None, None))[0]
        if device_id is not None:
            by_device.setdefault(device_id, []).append(command_id)
    sent: list[int] = []
    for lock in locks_of_unit(conn, catalog, suspension.housing_unit_id):
        tried = by_device.get(lock.id, [])
        if tried and statuses[tried[-1]][1] not in LOST:
            continue
        key = f"access:{suspension.id}:suspend:{lock.id}:{len(tried) + 1}"
        sent.append(_command(conn, runtime, catalog, lock, SUSPEND, suspension, key))
    if sent:
        conn.execute(
            access_suspensions.update()
            .where(access_suspensions.c.id == suspension.id)
            .values(revoke_commands=json.dumps([*earlier, *sent]))
        )
    return Settlement(commands=sent)


def _restore(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    suspension: Any,
    now: datetime,
    why: str,
) -> Settlement:
    """Close the suspension; restore the locks unless another suspension of the unit (a
    second lease in arrears) still holds them."""
    others = conn.execute(
        sa.select(sa.func.count(access_suspensions.c.id)).where(
            access_suspensions.c.housing_unit_id == suspension.housing_unit_id,
            access_suspensions.c.restored_at.is_(None),
            access_suspensions.c.id != suspension.id,
        )
    ).scalar_one()
    sent: list[int] = []
    if not others:
        for lock in locks_of_unit(conn, catalog, suspension.housing_unit_id):
            key = f"access:{suspension.id}:restore:{lock.id}"
            sent.append(_command(conn, runtime, catalog, lock, RESTORE, suspension, key))
    conn.execute(
        access_suspensions.update()
        .where(access_suspensions.c.id == suspension.id)
        .values(restored_at=now, restore_commands=json.dumps(sent))
    )
    detail = {"suspension": suspension.id, "why": why, "commands": sent}
    _audit(conn, catalog, "device.access.restore", suspension.lease_id, detail)
    return Settlement(restored=[suspension.lease_id], commands=sent)


def locks_of_unit(conn: sa.Connection, catalog: Catalog, unit_id: int) -> list[Device]:
    """The unit's active devices whose type can suspend and restore access."""
    types = device_types(catalog)
    return [
        device
        for device in devices_of_unit(conn, catalog, unit_id)
        if device.active
        and device.type_name in types
        and {SUSPEND, RESTORE} <= set(types[device.type_name].commands)
    ]


def _command(
    conn: sa.Connection,
    runtime: Runtime,
    catalog: Catalog,
    lock: Device,
    command: str,
    suspension: Any,
    key: str,
) -> int:
    from iot.commands.service import request_command

    view = request_command(
        conn,
        runtime,
        catalog,
        SYSTEM,
        lock,
        command,
        {},
        reason=suspension.reason,
        source=SOURCE,
        source_ref=f"arrears:lease:{suspension.lease_id}",
        key=key,
    )
    return int(view["id"])


def _statuses(conn: sa.Connection, command_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """Command id → (device id, status)."""
    ids = list(command_ids)
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(commands.c.id, commands.c.device_id, commands.c.status).where(
            commands.c.id.in_(ids)
        )
    )
    return {row.id: (row.device_id, row.status) for row in rows}


def _audit(
    conn: sa.Connection, catalog: Catalog, action: str, lease_id: int, detail: dict[str, Any]
) -> None:
    event = AuditEvent.by(SYSTEM, action, ".".join(LEASES), lease_id, detail)
    append(conn, event, catalog.options.audit_hash)
