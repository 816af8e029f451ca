"""Hearing that records changed: every write path (the records service, bulk loads, flow
transitions and actions, recomputes, org moves) calls `records_changed` inside its own
transaction, once per statement, with the ids it wrote.

Engine parts that must react register with `@on_change`: the reports' data watermark (so a
cached report is never served after its data moved) and alert rules with `on_change` (which
check the changed records at once). Listeners run in the writer's transaction: what they
write commits or rolls back with the change itself.
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
