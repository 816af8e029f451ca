"""Deleting records, one or several at once: each record's lifecycle hooks and audit entry,
and the rules of the fields that refer to it (restrict, cascade or set_null), all in one
transaction, so a refusal anywhere leaves every record as it was."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.database import write_transaction
from engine.errors import AnjuError, Conflict, field_error
from engine.principal import Principal
from engine.records.auditing import audit_change
from engine.records.changes import records_changed
from engine.records.lifecycle import RecordEvent, fire
from engine.records.writing import (
    Refused,
    audited_refusal,
    check_version,
    checked_write,
    current_record,
    parse_if_match,
)


def delete_record(
    engine: sa.Engine,
    entity: CompiledEntity,
    record_id: int,
    principal: Principal,
    if_match: str | None = None,
) -> None:
    """Delete a record, applying each referring field's rule: restrict, cascade or set_null;
    with `If-Match`, only if nobody changed it since."""
    versions = {record_id: parse_if_match(if_match)}
    try:
        with write_transaction(engine) as conn:
            _delete_checked(conn, entity, versions, principal)
    except Refused as refused:
        raise audited_refusal(engine, entity, principal, refused) from None


def delete_records(
    engine: sa.Engine, entity: CompiledEntity, ids: list[int], principal: Principal
) -> None:
    """Delete every record in `ids`, or none of them: one transaction, each record checked,
    heard by the lifecycle hooks and audited as `delete_record` does. The error of a refusal
    names the record it stopped at.

    The `before_delete` hooks hear every record before any is deleted, and `after_delete`
    after all are, so records of the selection that refer to each other (a `restrict`
    among them, a cascade from one to another) go together.

        delete_records(runtime.engine, unit, [3, 5, 8], principal)
    """
    versions: dict[int, int | None] = dict.fromkeys(ids)
    if not versions:
        return
    try:
        with write_transaction(engine) as conn:
            _delete_checked(conn, entity, versions, principal)
    except Refused as refused:
        raise audited_refusal(engine, entity, principal, refused) from None


def _delete_checked(
    conn: sa.Connection,
    entity: CompiledEntity,
    versions: dict[int, int | None],
    principal: Principal,
) -> None:
    """Delete the records `versions` names (each at the version given, if any) in the
    caller's transaction."""
    several = len(versions) > 1
    events: list[RecordEvent] = []
    for record_id, expected in versions.items():
        with _naming(entity, record_id, several):
            _, current = current_record(conn, entity, principal, "delete", record_id)
            check_version(entity, record_id, current, expected)
            event = RecordEvent(conn, entity, "delete", principal, {}, current, record_id)
            fire("before_delete", event)
            events.append(event)
    delete_rows(conn, entity, list(versions), principal, set())
    for event in events:
        assert event.record_id is not None, "a delete's event names its record"
        with _naming(entity, event.record_id, several):
            audit_change(conn, entity, principal, "delete", event.record_id, event.before, None)
            fire("after_delete", event)


@contextmanager
def _naming(entity: CompiledEntity, record_id: int, several: bool) -> Iterator[None]:
    """Among several records, an error says which one it is about."""
    try:
        yield
    except Refused as refused:
        if several:
            _name_record(refused.error, entity, record_id)
        raise
    except AnjuError as error:
        if several:
            _name_record(error, entity, record_id)
        raise


def _name_record(error: AnjuError, entity: CompiledEntity, record_id: int) -> None:
    named = f"{entity.path} {record_id}"
    if not re.search(rf"{re.escape(named)}\b", error.message):
        error.message = f"{named}: {error.message}"
        error.args = (error.message,)


def delete_rows(
    conn: sa.Connection,
    entity: CompiledEntity,
    ids: list[int],
    principal: Principal,
    seen: set[tuple[str, int]],
) -> None:
    """Delete the rows and apply the on-delete rule of every field referring to them; rows
    in `seen` are being deleted already (a cascade that comes back to them)."""
    ids = [i for i in ids if (entity.path, i) not in seen]
    if not ids:
        return
    seen.update((entity.path, i) for i in ids)
    for referrer in entity.referrers:
        child = referrer.entity.table
        column = child.c[referrer.field]
        found = conn.execute(sa.select(child.c.id, column).where(column.in_(ids))).all()
        referring = [(i, parent) for i, parent in found if (referrer.entity.path, i) not in seen]
        if not referring:
            continue
        child_ids = [i for i, _ in referring]
        if referrer.on_delete == "restrict":
            held = min(parent for _, parent in referring)
            count = sum(1 for _, parent in referring if parent == held)
            path = f"{referrer.entity.path}.{referrer.field}"
            message = f"{count} {referrer.entity.path} records refer to it"
            raise Conflict(
                f"{entity.path} {held} is still referred to", [field_error(path, message)]
            )
        if referrer.on_delete == "cascade":
            delete_rows(conn, referrer.entity, child_ids, principal, seen)
        else:
            conn.execute(
                child.update()
                .where(child.c.id.in_(child_ids))
                .values(
                    {
                        referrer.field: None,
                        "row_version": child.c.row_version + 1,
                        "updated_at": datetime.now(UTC),
                        "updated_by": principal.username,
                    }
                )
            )
            records_changed(conn, referrer.entity, child_ids, "update")
    checked_write(conn, entity.table.delete().where(entity.table.c.id.in_(ids)))
    records_changed(conn, entity, ids, "delete")
