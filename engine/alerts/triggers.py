"""On-change rules: a write to records of an entity that on-change rules watch checks just
the written records, in the writer's transaction — an alert opens (or resolves) with the
write itself, and rolls back with it if the write is refused.

Writes to entities no rule watches cost one dict lookup (`rules_watching`, per catalog).
A rule whose condition reads related records (a contract's bills) learns of changes to
those on its next scheduled scan.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from engine.alerts.rules import rules_watching
from engine.alerts.scanning import check_records
from engine.catalog import CompiledEntity
from engine.flows.services import FlowServices
from engine.records.changes import Action, on_change


@on_change
def check_changed_records(
    conn: sa.Connection, entity: CompiledEntity, ids: Sequence[int], action: Action
) -> None:
    """Check `ids` against every enabled on-change rule of `entity`."""
    catalog = entity.catalog
    if catalog is None or not ids:
        return
    watching = rules_watching(catalog).get(entity.path)
    if not watching:
        return
    services = FlowServices.of_catalog(catalog)
    runtime = services.runtime
    if runtime is not None and not runtime.settings.alerts_enabled:
        return
    now = services.now()
    for rule in watching:
        check_records(conn, runtime, rule, ids, now)
