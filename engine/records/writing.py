"""Reading one record and writing records: validation, references, uniqueness, optimistic
locking and the on-delete rules, each write one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.errors import (
    AnjuError,
    Conflict,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from engine.files import check_file_fields
from engine.principal import Principal
from engine.records.computing import apply_computed, apply_defaults, check_rules
from engine.records.evaluation import environment, sql_context
from engine.validation import validate_input
from metamodel.fields import FileField

SQLITE_EXACT_DIGITS = 15


def get_record(
    conn: sa.Connection, entity: CompiledEntity, record_id: int, principal: Principal
) -> dict[str, Any]:
    table = entity.table
    query = sa.select(*read_columns(conn, entity, principal)).where(table.c.id == record_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"{entity.path} {record_id} not found")
    return dict(row)


def read_columns(
    conn: sa.Connection, entity: CompiledEntity, principal: Principal
) -> list[sa.ColumnElement[Any]]:
    """The stored columns and the virtual fields, computed for the moment of the read."""
    if not entity.expressions.virtual:
        return entity.select_columns
    context = sql_context(conn, entity, environment(None, entity, principal))
    return [*entity.select_columns, *entity.virtual_columns(context)]


def create_record(
    engine: sa.Engine,
    entity: CompiledEntity,
    body: bytes | dict[str, Any],
    principal: Principal,
    language: str = "zh",
) -> dict[str, Any]:
    values, sent = validate_input(entity.create_model, body)
    system = new_row_stamp(entity, principal)
    with engine.begin() as conn:
        env = environment(conn, entity, principal)
        apply_defaults(entity, values, sent, env)
        apply_computed(entity, values, env)
        check_rules(entity, values, env, language)
        _check_storable(conn, entity, values)
        _check_links(conn, entity, values)
        _check_unique(conn, entity, values, None)
        result = _write(conn, entity.table.insert().values(**values, **system))
        return get_record(conn, entity, result.inserted_primary_key[0], principal)


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
    table = entity.table
    with engine.begin() as conn:
        current = get_record(conn, entity, record_id, principal)
        if expected is not None and current["row_version"] != expected:
            raise PreconditionFailed(
                f"{entity.path} {record_id} was changed (now version {current['row_version']})"
            )
        record = {**current, **changes}
        env = environment(conn, entity, principal)
        changes |= apply_computed(entity, record, env)
        check_rules(entity, record, env, language)
        _check_storable(conn, entity, changes)
        _check_links(conn, entity, changes)
        _check_unique(conn, entity, {**current, **changes}, record_id, only=set(changes))
        statement = (
            table.update()
            .where(table.c.id == record_id, table.c.row_version == current["row_version"])
            .values(
                **changes,
                row_version=table.c.row_version + 1,
                updated_at=datetime.now(UTC),
                updated_by=principal.username,
                def_version=entity.version,
            )
        )
        if _write(conn, statement).rowcount != 1:
            raise PreconditionFailed(
                f"{entity.path} {record_id} was changed by someone else; reload it"
            )
        return get_record(conn, entity, record_id, principal)


def delete_record(
    engine: sa.Engine,
    entity: CompiledEntity,
    record_id: int,
    principal: Principal,
    if_match: str | None = None,
) -> None:
    """Delete a record, applying each referring field's rule: restrict, cascade or set_null."""
    expected = parse_if_match(if_match)
    with engine.begin() as conn:
        current = get_record(conn, entity, record_id, principal)
        if expected is not None and current["row_version"] != expected:
            raise PreconditionFailed(
                f"{entity.path} {record_id} was changed (now version {current['row_version']})"
            )
        _delete(conn, entity, [record_id], principal, set())


def _delete(
    conn: sa.Connection,
    entity: CompiledEntity,
    ids: list[int],
    principal: Principal,
    seen: set[tuple[str, int]],
) -> None:
    ids = [i for i in ids if (entity.path, i) not in seen]
    if not ids:
        return
    seen.update((entity.path, i) for i in ids)
    for referrer in entity.referrers:
        child = referrer.entity.table
        column = child.c[referrer.field]
        child_ids = list(conn.execute(sa.select(child.c.id).where(column.in_(ids))).scalars())
        child_ids = [i for i in child_ids if (referrer.entity.path, i) not in seen]
        if not child_ids:
            continue
        if referrer.on_delete == "restrict":
            path = f"{referrer.entity.path}.{referrer.field}"
            message = f"{len(child_ids)} {referrer.entity.path} records refer to it"
            raise Conflict(
                f"{entity.path} {ids[0]} is still referred to", [field_error(path, message)]
            )
        if referrer.on_delete == "cascade":
            _delete(conn, referrer.entity, child_ids, principal, seen)
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
    _write(conn, entity.table.delete().where(entity.table.c.id.in_(ids)))


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


def _check_storable(conn: sa.Connection, entity: CompiledEntity, values: dict[str, Any]) -> None:
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


def _check_links(conn: sa.Connection, entity: CompiledEntity, values: dict[str, Any]) -> None:
    """References must point at existing records, and files at stored files that fit the field."""
    errors = []
    for name, target in entity.references.items():
        value = values.get(name)
        if value is not None:
            found = conn.execute(
                sa.select(target.table.c.id).where(target.table.c.id == value)
            ).first()
            if found is None:
                errors.append(field_error(name, f"no {target.path} with id {value}"))
    files = {
        n: values[n] for n, s in entity.fields.items() if isinstance(s, FileField) and values.get(n)
    }
    errors.extend(check_file_fields(conn, entity.fields, files))
    if errors:
        raise ValidationFailed("the record is not valid", errors)


def _check_unique(
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
        query = sa.select(table.c.id).where(*(table.c[n] == values[n] for n in group))
        if record_id is not None:
            query = query.where(table.c.id != record_id)
        if conn.execute(query.limit(1)).first() is not None:
            shown = ", ".join(f"{n}={values[n]}" for n in group)
            errors.append(
                field_error(".".join(group), f"another {entity.path} already has {shown}")
            )
    if errors:
        raise Conflict("duplicate value", errors)


def _write(conn: sa.Connection, statement: Any) -> Any:
    """Run a write; a constraint the checks above could not see (a race) becomes a 409."""
    try:
        return conn.execute(statement)
    except sa.exc.IntegrityError as exc:
        raise Conflict("the change conflicts with stored data; reload and try again") from exc
