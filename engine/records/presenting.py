"""Records as a principal may see them: hidden fields left out of the query, sensitive values
decrypted, masked fields masked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.expressions import SqlContext
from engine.permissions import FieldLevel, RecordAccess
from engine.protection.masks import mask_value
from engine.records.sealing import unseal


def visible_columns(
    entity: CompiledEntity, access: RecordAccess, context: SqlContext
) -> list[sa.ColumnElement[Any]]:
    """The stored and virtual columns the principal may read; hidden fields are not selected."""
    stored = [c for c in entity.select_columns if access.readable(str(c.key))]
    if not entity.expressions.virtual:
        return stored
    virtual = [c for c in entity.virtual_columns(context) if access.readable(str(c.key))]
    return [*stored, *virtual]


def present(
    entity: CompiledEntity, access: RecordAccess, rows: Iterable[Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as the principal sees them, and the sensitive fields it was shown in clear."""
    masked = {n: entity.fields[n] for n, lvl in access.levels.items() if lvl == FieldLevel.MASKED}
    shown: set[str] = set()
    items = []
    for row in rows:
        record = unseal(entity, dict(row))
        for name, spec in masked.items():
            if name in record:
                record[name] = mask_value(record[name], spec.mask)
        shown.update(
            n for n in entity.sensitive_fields if record.get(n) is not None and n not in masked
        )
        items.append(record)
    return items, sorted(shown)
