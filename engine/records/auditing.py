"""Audit entries for record changes and refusals.

Changes are audited in the transaction that makes them; a refusal in a transaction of its
own, after the refused one rolled back. Sensitive values never enter the trail: a diff says
that they changed, not what to.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.audit import AuditEvent, append
from engine.catalog import CompiledEntity
from engine.database import write_transaction
from engine.principal import Principal

HIDDEN_VALUE = "***"


def audit_change(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    action: str,
    record_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """`record.create`, `record.update` or `record.delete`, with the fields that changed."""
    changes = diff(entity, before or {}, after or {})
    _append(conn, entity, principal, f"record.{action}", record_id, {"changes": changes})


def audit_transition(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    record_id: int,
    moves: list[dict[str, Any]],
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """`record.transition`: the states the record went through and the fields that changed."""
    detail = {"moves": moves, "changes": diff(entity, before, after)}
    _append(conn, entity, principal, "record.transition", record_id, detail)


def audit_read(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    action: str,
    record_ids: list[int],
    fields: list[str],
) -> None:
    """A read that showed sensitive values in clear (`record.unmask`) or an export."""
    detail = {"ids": record_ids, "fields": fields}
    record_id = record_ids[0] if len(record_ids) == 1 else None
    _append(conn, entity, principal, f"record.{action}", record_id, detail)


def audit_denied(
    engine: sa.Engine,
    entity: CompiledEntity,
    principal: Principal,
    action: str,
    record_id: int | None,
    reason: str,
) -> None:
    """A refused attempt, in its own transaction (the attempt's own has rolled back)."""
    with write_transaction(engine) as conn:
        detail = {"action": action, "reason": reason}
        _append(conn, entity, principal, "permission.denied", record_id, detail, "denied")


def diff(
    entity: CompiledEntity, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field that changed; sensitive values as `***`."""
    changes: dict[str, list[Any]] = {}
    for name, spec in entity.stored_fields.items():
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if spec.sensitive:
            changes[name] = [_hidden(old), _hidden(new)]
        else:
            changes[name] = [_plain(old), _plain(new)]
    return changes


def _hidden(value: Any) -> str | None:
    return None if value is None else HIDDEN_VALUE


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _append(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    action: str,
    record_id: int | None,
    detail: dict[str, Any],
    outcome: str = "ok",
) -> None:
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    event = AuditEvent.by(principal, action, entity.path, record_id, detail, outcome)
    append(conn, event, catalog.options.audit_hash)
