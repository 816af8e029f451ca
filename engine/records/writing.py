"""Writing records: permissions, validation, references, uniqueness and optimistic locking;
each write one transaction with its audit entry. Deleting is in `engine.records.deleting`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError

from engine.catalog import CompiledEntity
from engine.database import write_transaction
from engine.errors import (
    AnjuError,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from engine.files import check_file_fields
from engine.flows.start import start_flow
from engine.permissions import RecordAccess, access_for
from engine.principal import Principal
from engine.records.auditing import audit_change, audit_denied
from engine.records.changes import records_changed
from engine.records.computing import apply_computed, apply_defaults, check_rules
from engine.records.evaluation import environment
from engine.records.lifecycle import RecordEvent, fire
from engine.records.orgs import org_for_new, org_of
from engine.records.presenting import present
from engine.records.reading import fetch_in_scope
from engine.records.sealing import blind_filter, seal, unseal
from engine.validation import field_annotation, validate_input
from metamodel.fields import FileField

SQLITE_EXACT_DIGITS = 15


class Refused(Exception):
    """A write the principal may not make; audited after its transaction rolled back."""

    def __init__(
        self, action: str, record_id: int | None, error: AnjuError, reason: str | None = None
    ) -> None:
        super().__init__(error.message)
        self.action, self.record_id, self.error = action, record_id, error
        self.reason = reason or error.message


def create_record(
    engine: sa.Engine,
    entity: CompiledEntity,
    body: bytes | dict[str, Any],
    principal: Principal,
    language: str = "zh",
) -> dict[str, Any]:
    """Create a record the principal may create, with only fields it may set, in its scope."""
    values, sent = validate_input(entity.create_model, body)
    try:
        with write_transaction(engine) as conn:
            access = _allowed(entity, principal, "create", None)
            _check_writable(access, "create", sent, None)
            record_id = insert_record(conn, entity, values, sent, principal, access, language)
            return written_result(conn, entity, access, record_id)
    except Refused as refused:
        raise audited_refusal(engine, entity, principal, refused) from None


def insert_record(
    conn: sa.Connection,
    entity: CompiledEntity,
    values: dict[str, Any],
    sent: set[str],
    principal: Principal,
    access: RecordAccess,
    language: str = "zh",
) -> int:
    """Insert checked values in the caller's transaction: defaults, computed fields, rules,
    references, uniqueness, organisation, the scope check, the audit entry and, with a flow,
    its initial state."""
    system = new_row_stamp(entity, principal)
    env = environment(conn, entity, principal)
    apply_defaults(entity, values, sent, env)
    before_hooks = dict(values)
    fire("before_save", RecordEvent(conn, entity, "create", principal, values, language=language))
    recheck(entity, before_hooks, values)
    apply_computed(entity, values, env)
    check_rules(entity, values, env, language)
    check_storable(conn, entity, values)
    check_links(conn, entity, values, principal)
    check_unique(conn, entity, values, None)
    system["org_id"] = org_for_new(conn, entity, values, env, principal)
    if entity.flow is not None:
        system |= {"state": entity.flow.initial, "flow_version": entity.flow.version}
    stored = seal(entity, values)
    result = checked_write(conn, entity.table.insert().values(**stored, **system))
    record_id: int = result.inserted_primary_key[0]
    if fetch_in_scope(conn, entity, access, "create", record_id) is None:
        raise Refused("create", None, Forbidden(OUT_OF_SCOPE))
    audit_change(conn, entity, principal, "create", record_id, None, values)
    if entity.flow is not None:
        start_flow(conn, entity, record_id, principal, language)
    records_changed(conn, entity, [record_id], "create")
    written = {"id": record_id, **values}
    fire("after_save", RecordEvent(conn, entity, "create", principal, written, None, record_id))
    return record_id


def recheck(entity: CompiledEntity, before: dict[str, Any], values: dict[str, Any]) -> None:
    """Values a plugin's `anju_before_save` changed must still fit their fields."""
    errors = []
    for name in entity.input_fields:
        value = values.get(name)
        if value == before.get(name):
            continue
        spec = entity.fields[name]
        if value is None:
            if spec.required:
                errors.append(field_error(name, "is required (a plugin cleared it)"))
            continue
        try:
            values[name] = TypeAdapter(field_annotation(spec)).validate_python(value)
        except ValidationError as exc:
            errors.append(
                field_error(
                    name, f"a plugin set a value that does not fit: {exc.errors()[0]['msg']}"
                )
            )
    if errors:
        raise ValidationFailed("a plugin changed the record into one that is not valid", errors)


OUT_OF_SCOPE = "the record would lie outside the records your roles may change"


def new_row_stamp(entity: CompiledEntity, principal: Principal) -> dict[str, Any]:
    """The system columns of a row being created now by `principal`."""
    now = datetime.now(UTC)
    return {
        "created_at": now,
        "created_by": principal.username,
        "updated_at": now,
        "updated_by": principal.username,
        "row_version": 1,
        "org_id": principal.org_id,
        "def_version": entity.version,
    }


def update_record(
    engine: sa.Engine,
    entity: CompiledEntity,
    record_id: int,
    body: bytes | dict[str, Any],
    principal: Principal,
    if_match: str | None = None,
    language: str = "zh",
) -> dict[str, Any]:
    """Change the fields the client sent; with `If-Match`, only if nobody changed it since.

    Stored computed fields are recomputed and the entity's rules checked on the whole record.
    The principal must see the record (else 404), may update it (else 403) and may not move
    it out of its scope.
    """
    values, sent = validate_input(entity.patch_model, body)
    changes = {name: values[name] for name in sent}
    missing = [
        field_error(n, "is required")
        for n, v in changes.items()
        if v is None and entity.fields[n].required
    ]
    if missing:
        raise ValidationFailed("the record is not valid", missing)
    expected = parse_if_match(if_match)
    try:
        with write_transaction(engine) as conn:
            access, current = current_record(conn, entity, principal, "update", record_id)
            _check_writable(access, "update", sent, record_id)
            _check_editable(entity, current, sent, record_id)
            check_version(entity, record_id, current, expected)
            version = current["row_version"]
            record = store_update(
                conn, entity, record_id, current, changes, principal, version, language
            )
            if fetch_in_scope(conn, entity, access, "update", record_id) is None:
                raise Refused("update", record_id, Forbidden(OUT_OF_SCOPE))
            updated(conn, entity, principal, record_id, current, record)
            return written_result(conn, entity, access, record_id)
    except Refused as refused:
        raise audited_refusal(engine, entity, principal, refused) from None


def store_update(
    conn: sa.Connection,
    entity: CompiledEntity,
    record_id: int,
    current: dict[str, Any],
    changes: dict[str, Any],
    principal: Principal,
    row_version: int | None = None,
    language: str = "zh",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write `changes` over the record as it is (`current`): the save hooks run, stored
    computed fields are recomputed, the rules, links and uniqueness checked and the
    organisation placed, as any update does; the record as written. With `row_version`, only
    that version is changed (412 if someone changed it since). `updated` comes after."""
    record = {**current, **changes}
    env = environment(conn, entity, principal, now=now)
    event = RecordEvent(conn, entity, "update", principal, record, current, record_id, language)
    before_hooks = dict(record)
    fire("before_save", event)
    recheck(entity, before_hooks, record)
    changes = changes | {
        n: record[n] for n in entity.input_fields if record.get(n) != current.get(n)
    }
    changes |= apply_computed(entity, record, env)
    check_rules(entity, record, env, language)
    check_storable(conn, entity, changes)
    check_links(conn, entity, changes, principal)
    check_unique(conn, entity, {**current, **changes}, record_id, only=set(changes))
    system: dict[str, Any] = {}
    if entity.expressions.org is not None:
        system["org_id"] = org_of(conn, entity, record, env)
    table = entity.table
    where = [table.c.id == record_id]
    if row_version is not None:
        where.append(table.c.row_version == row_version)
    statement = (
        table.update()
        .where(*where)
        .values(
            **seal(entity, changes),
            **system,
            row_version=table.c.row_version + 1,
            updated_at=now or datetime.now(UTC),
            updated_by=principal.username,
            def_version=entity.version,
        )
    )
    if checked_write(conn, statement).rowcount != 1:
        raise PreconditionFailed(
            f"{entity.path} {record_id} was changed by someone else; reload it"
        )
    return record


def updated(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    record_id: int,
    current: dict[str, Any],
    record: dict[str, Any],
) -> None:
    """What follows a stored update: its audit entry, the change listeners, the after-save
    hooks."""
    audit_change(conn, entity, principal, "update", record_id, current, record)
    records_changed(conn, entity, [record_id], "update")
    fire("after_save", RecordEvent(conn, entity, "update", principal, record, current, record_id))


def current_record(
    conn: sa.Connection,
    entity: CompiledEntity,
    principal: Principal,
    action: str,
    record_id: int,
) -> tuple[RecordAccess, dict[str, Any]]:
    """The stored record `action` applies to: 404 if the principal cannot see it, 403 if it
    sees it but may not take `action` on it. Refusals are audited after the rollback: this
    transaction holds the write lock."""
    access = _allowed(entity, principal, "read", record_id)
    row = fetch_in_scope(conn, entity, access, "read", record_id, stored=True)
    if row is None:
        table = entity.table
        missing = NotFound(f"{entity.path} {record_id} not found")
        if conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first():
            raise Refused(action, record_id, missing, "out of scope")
        raise missing
    if not access.allows(action):
        raise Refused(action, record_id, Forbidden(f"you may not {action} {entity.path} records"))
    if fetch_in_scope(conn, entity, access, action, record_id) is None:
        message = f"you may see {entity.path} {record_id} but not {action} it"
        raise Refused(action, record_id, Forbidden(message))
    return access, unseal(entity, dict(row))


def _allowed(
    entity: CompiledEntity, principal: Principal, action: str, record_id: int | None
) -> RecordAccess:
    access = access_for(entity, principal)
    if not access.allows(action):
        error = Forbidden(f"you may not {action} {entity.path} records")
        raise Refused(action, record_id, error, "no role grants it")
    return access


def check_version(
    entity: CompiledEntity, record_id: int, current: dict[str, Any], expected: int | None
) -> None:
    """With `If-Match`, the record must still be at the version the client read."""
    if expected is not None and current["row_version"] != expected:
        raise PreconditionFailed(
            f"{entity.path} {record_id} was changed (now version {current['row_version']})"
        )


def _check_editable(
    entity: CompiledEntity, current: dict[str, Any], sent: set[str], record_id: int
) -> None:
    """With a flow, only the fields the record's state leaves editable may change."""
    if entity.flow is None:
        return
    editable = entity.flow.editable(current.get("state"))
    if editable is None:
        return
    refused = sorted(sent - editable)
    if refused:
        state = current.get("state")
        details = [
            field_error(n, f"cannot be changed while the record is {state}") for n in refused
        ]
        raise Refused("update", record_id, Conflict(f"fields fixed in state {state}", details))


def _check_writable(
    access: RecordAccess, action: str, sent: set[str], record_id: int | None
) -> None:
    """Mass assignment guard: every field sent must be one the principal's roles may set."""
    refused = sorted(sent - access.writable(action))
    if refused:
        details = [field_error(n, "your roles may not set this field") for n in refused]
        raise Refused(action, record_id, Forbidden("fields you may not set", details))


def written_result(
    conn: sa.Connection, entity: CompiledEntity, access: RecordAccess, record_id: int
) -> dict[str, Any]:
    """The written record as the principal sees it (just its id and version if it may not
    read it)."""
    if not access.allows("read"):
        table = entity.table
        row = (
            conn.execute(sa.select(table.c.id, table.c.row_version).where(table.c.id == record_id))
            .mappings()
            .one()
        )
        return dict(row)
    row = fetch_in_scope(conn, entity, access, "read", record_id)
    if row is None:
        return {"id": record_id}
    return present(entity, access, [row])[0][0]


def audited_refusal(
    engine: sa.Engine, entity: CompiledEntity, principal: Principal, refused: Refused
) -> AnjuError:
    audit_denied(engine, entity, principal, refused.action, refused.record_id, refused.reason)
    return refused.error


def parse_if_match(header: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"` → 3."""
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise AnjuError(
            "If-Match must be a row_version", [field_error("If-Match", "expected an integer")]
        ) from None


def check_storable(conn: sa.Connection, entity: CompiledEntity, values: dict[str, Any]) -> None:
    """SQLite keeps decimals as doubles: refuse digits it would not keep exactly."""
    if conn.dialect.name != "sqlite":
        return
    errors = [
        field_error(
            name,
            f"has more than {SQLITE_EXACT_DIGITS} significant digits, more than SQLite "
            "stores exactly; use PostgreSQL for such values",
        )
        for name, value in values.items()
        if isinstance(value, Decimal)
        and len(value.normalize().as_tuple().digits) > SQLITE_EXACT_DIGITS
    ]
    if errors:
        raise ValidationFailed("the record is not valid", errors)


def check_links(
    conn: sa.Connection, entity: CompiledEntity, values: dict[str, Any], principal: Principal
) -> None:
    """References must point at records the principal can see, and files at stored files that
    fit the field; a record out of scope is reported exactly like a missing one."""
    errors = []
    for name, target in entity.references.items():
        value = values.get(name)
        if value is not None:
            access = access_for(target, principal)
            found = (
                fetch_in_scope(conn, target, access, "read", value)
                if access.allows("read")
                else None
            )
            if found is None:
                errors.append(field_error(name, f"no {target.path} with id {value}"))
    files = {
        n: values[n] for n, s in entity.fields.items() if isinstance(s, FileField) and values.get(n)
    }
    errors.extend(check_file_fields(conn, entity.fields, files))
    if errors:
        raise ValidationFailed("the record is not valid", errors)


def check_unique(
    conn: sa.Connection,
    entity: CompiledEntity,
    values: dict[str, Any],
    record_id: int | None,
    only: set[str] | None = None,
) -> None:
    """Report duplicates by field before the database refuses them with a bare error."""
    table = entity.table
    groups = [[n] for n, s in entity.fields.items() if s.unique]
    groups += [index.fields for index in entity.definition.indexes if index.unique]
    errors = []
    for group in groups:
        if only is not None and not only.intersection(group):
            continue
        if any(values.get(n) is None for n in group):
            continue
        query = sa.select(table.c.id).where(*(_equal(entity, n, values[n]) for n in group))
        if record_id is not None:
            query = query.where(table.c.id != record_id)
        if conn.execute(query.limit(1)).first() is not None:
            shown = ", ".join(f"{n}={values[n]}" for n in group)
            errors.append(
                field_error(".".join(group), f"another {entity.path} already has {shown}")
            )
    if errors:
        raise Conflict("duplicate value", errors)


def _equal(entity: CompiledEntity, name: str, value: Any) -> sa.ColumnElement[bool]:
    if name in entity.sensitive_fields:
        return blind_filter(entity, name, "eq", value)
    return entity.table.c[name] == value


def checked_write(conn: sa.Connection, statement: Any) -> Any:
    """Run a write; a constraint the checks above could not see (a race) becomes a 409."""
    try:
        return conn.execute(statement)
    except sa.exc.IntegrityError as exc:
        raise Conflict("the change conflicts with stored data; reload and try again") from exc
