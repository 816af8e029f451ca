"""Recomputing stored computed fields of existing rows when their expression is new or changed.

Publishing calls this in its transaction, after the schema migration, so the new version never
serves a computed column that disagrees with its expression.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity
from engine.principal import SYSTEM
from engine.records.changes import records_changed
from engine.records.computing import apply_computed
from engine.records.evaluation import environment
from engine.records.sealing import seal, unseal

BATCH = 2000


def recompute_changed(conn: sa.Connection, old: Catalog | None, new: Catalog) -> list[str]:
    """Recompute every stored computed field whose expression changed; returns log lines."""
    log: list[str] = []
    for key, entity in new.entities.items():
        before = old.entities.get(key) if old else None
        changed = _changed(before, entity)
        if before is None or not changed:
            continue
        rows = recompute(conn, entity, changed)
        if rows:
            log.append(f"{entity.path}: recomputed {', '.join(changed)} on {rows} rows")
    return log


def _changed(before: CompiledEntity | None, after: CompiledEntity) -> list[str]:
    old = before.stored_fields if before else {}
    return [
        name
        for name in after.expressions.computed
        if name not in old or old[name].computed != after.fields[name].computed
    ]


def recompute(conn: sa.Connection, entity: CompiledEntity, names: list[str]) -> int:
    """Recompute `names` (and the computed fields after them) row by row, in id order."""
    env = environment(conn, entity, SYSTEM)
    table = entity.table
    last_id, total = 0, 0
    while True:
        query = (
            sa.select(*entity.select_columns)
            .where(table.c.id > last_id)
            .order_by(table.c.id)
            .limit(BATCH)
        )
        rows = [unseal(entity, dict(row)) for row in conn.execute(query).mappings()]
        if not rows:
            return total
        updates = []
        for row in rows:
            computed = seal(entity, apply_computed(entity, row, env))
            updates.append({"_id": row["id"], **computed})
        statement = (
            table.update()
            .where(table.c.id == sa.bindparam("_id"))
            .values({name: sa.bindparam(name) for name in updates[0] if name != "_id"})
        )
        conn.execute(statement, updates)
        records_changed(conn, entity, [row["id"] for row in rows], "update")
        last_id, total = rows[-1]["id"], total + len(rows)
