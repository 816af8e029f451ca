"""Sensitive fields between records and rows: sealed (encrypted, with a blind index) on the
way in, unsealed on the way out, found by exact match through the blind index."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.protection import Protector, field_place
from engine.tables import blind_index_column
from engine.values import value_kind


def _protector(entity: CompiledEntity) -> Protector:
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    protector = catalog.options.protector
    if protector is None:
        raise RuntimeError(f"{entity.path} has sensitive fields, but no protector is configured")
    return protector


def seal(entity: CompiledEntity, values: dict[str, Any]) -> dict[str, Any]:
    """The column values for `values`: sensitive ones as ciphertext plus their blind index."""
    names = [n for n in entity.sensitive_fields if n in values]
    if not names:
        return values
    protector = _protector(entity)
    stored = dict(values)
    for name in names:
        sealed = protector.seal(field_place(entity.path, name), values[name])
        stored[name] = sealed.ciphertext
        stored[blind_index_column(name)] = sealed.blind_index
    return stored


def unseal(entity: CompiledEntity, row: dict[str, Any]) -> dict[str, Any]:
    """A row with its sensitive values decrypted back to their types."""
    names = [n for n in entity.sensitive_fields if n in row]
    if not names:
        return row
    protector = _protector(entity)
    for name in names:
        kind = value_kind(entity.fields[name])
        row[name] = protector.unseal(field_place(entity.path, name), kind, row[name])
    return row


def blind_filter(
    entity: CompiledEntity, name: str, operator: str, value: Any
) -> sa.ColumnElement[bool]:
    """`eq` or `in` on a sensitive field, compared by blind index."""
    column = entity.table.c[blind_index_column(name)]
    place = field_place(entity.path, name)
    protector = _protector(entity)
    if operator == "in":
        return column.in_([protector.blind_index(place, v) for v in value if v is not None])
    if value is None:
        return column.is_(None)
    return column == protector.blind_index(place, value)
