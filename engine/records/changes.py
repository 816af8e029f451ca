"""Hearing that records changed: every write path (the records service, bulk loads, flow
transitions and actions, recomputes, org moves) calls `records_changed` inside its own
transaction, once per statement, with the ids it wrote.

Engine parts that must react register with `@on_change`: the reports' data watermark (so a
cached report is never served after its data moved) and alert rules with `on_change` (which
check the changed records at once). Listeners run in the writer's transaction: what they
write commits or rolls back with the change itself.

`ids` lists the records one statement wrote; it is empty when a statement changed rows
whose ids it does not know (an organisation re-assignment, a flow starting on every old
record after a publish) — a listener that needs the records then rereads what it watches.

The data watermark lives here so it is registered wherever records can be written:
`anju_data_version` (migration 0006) keeps one counter per entity (`app.entity`), bumped
by a single upsert per statement; `engine.reports.watermark` reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

if TYPE_CHECKING:
    from engine.catalog import CompiledEntity

Action = Literal["create", "update", "delete"]
ChangeListener = Callable[[sa.Connection, "CompiledEntity", Sequence[int], Action], None]

_listeners: list[ChangeListener] = []

data_versions = sa.Table(
    "anju_data_version",
    sa.MetaData(),
    sa.Column("entity", sa.String(81), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)


def on_change(listener: ChangeListener) -> ChangeListener:
    """Register `listener(conn, entity, ids, action)`; registering twice is harmless."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def records_changed(
    conn: sa.Connection, entity: CompiledEntity, ids: Sequence[int], action: Action
) -> None:
    """Tell every listener that `ids` of `entity` were created, updated or deleted."""
    for listener in _listeners:
        listener(conn, entity, ids, action)


@on_change
def bump_data_version(
    conn: sa.Connection, entity: CompiledEntity, ids: Sequence[int], action: Action
) -> None:
    """Advance the entity's data watermark: one upsert, atomic on PostgreSQL and SQLite
    (`INSERT … ON CONFLICT DO UPDATE SET version = version + 1`), committed with the write."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(data_versions)
        .values(entity=entity.path, version=1)
        .on_conflict_do_update(
            index_elements=[data_versions.c.entity],
            set_={"version": data_versions.c.version + 1},
        )
    )
    conn.execute(statement)
