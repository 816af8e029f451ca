"""Record lifecycle hooks: plugins hear of every record created, changed or deleted through
the records service (`anju_before_save`, `anju_after_save`, `anju_before_delete`,
`anju_after_delete`), inside the write's transaction.

Bulk loads and flow transitions do not fire them: a transition's own actions are the place
for what happens on a move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from engine.errors import AnjuError, PluginFailed
from engine.principal import Principal

if TYPE_CHECKING:
    from engine.catalog import CompiledEntity


@dataclass
class RecordEvent:
    """One write as a plugin sees it. `values` is the record as it will be (before_save; a
    plugin may change it) or as it was written (after_save, with its `id`); `before` is the
    stored record of an update or a delete."""

    conn: sa.Connection
    entity: CompiledEntity
    action: Literal["create", "update", "delete"]
    principal: Principal
    values: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] | None = None
    record_id: int | None = None
    language: str = "zh"

    @property
    def path(self) -> str:
        """The entity as `app.entity`, e.g. `housing_stock.housing_unit`."""
        return self.entity.path


def fire(when: str, event: RecordEvent) -> None:
    """Call every plugin listening to `when`; the platform's own errors (a refusal, a
    validation failure) pass through, anything else names the plugin that raised it."""
    catalog = event.entity.catalog
    extensions = catalog.options.extensions if catalog is not None else None
    if extensions is None:
        return
    for listener in extensions.listening(when):
        try:
            listener.function(event=event)
        except AnjuError:
            raise
        except Exception as exc:
            raise PluginFailed(listener.plugin, f"anju_{when}", exc) from exc
