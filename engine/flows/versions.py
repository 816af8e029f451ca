"""Flow versions: records keep the flow version they run under until they are moved.

A record whose state the newest flow still has runs under the newest flow. A record in a
state a new version removes keeps its version — it can still leave through that version's
transitions — until the new version's `migrate` map moves it on publish. The dry run lists
such records before a publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, CompiledEntity, compile_catalog
from engine.errors import Conflict
from engine.flows.machine import CompiledFlow
from metamodel import store


def flow_of_record(
    conn: sa.Connection, entity: CompiledEntity, record: dict[str, Any]
) -> CompiledFlow:
    """The flow `record` runs under: the newest, or the earlier version it is kept on."""
    flow = entity.flow
    assert flow is not None, "only entities with a flow have states"
    state = record.get("state")
    if state is None:
        raise Conflict(f"{entity.path} {record.get('id')} has no state yet; publish again")
    version = record.get("flow_version")
    if state in flow.definition.states or version is None or version == flow.version:
        return flow
    earlier = earlier_flow(conn, entity, int(version))
    if earlier is not None and state in earlier.definition.states:
        return earlier
    raise Conflict(
        f"{entity.path} {record.get('id')} is in state {state}, which the flow no longer has; "
        "map it in the flow's `migrate`"
    )


def earlier_flow(conn: sa.Connection, entity: CompiledEntity, version: int) -> CompiledFlow | None:
    """The entity's flow as published in `version`, compiled once per catalog."""
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    key = ("flow", entity.app, entity.name, version)
    if key not in catalog.cache:
        catalog.cache[key] = _compile_earlier(conn, catalog, entity, version)
    found: CompiledFlow | None = catalog.cache[key]
    return found


def _compile_earlier(
    conn: sa.Connection, catalog: Catalog, entity: CompiledEntity, version: int
) -> CompiledFlow | None:
    from engine.publishing import (  # publishing settles flows
        definitions_from_contents,
        plugin_field_types,
    )

    if store.get_version(conn, version) is None:
        return None
    contents = store.read_contents(conn, version)
    definitions = definitions_from_contents(
        contents, catalog.options.functions, plugin_field_types(catalog.options)
    )
    earlier = compile_catalog(version, definitions, catalog.options).entity(entity.app, entity.name)
    return earlier.flow if earlier is not None else None


@dataclass(frozen=True)
class Stranded:
    """Records in a state a new flow version removes."""

    entity: CompiledEntity
    state: str
    rows: int
    moved_to: str | None


def stranded(conn: sa.Connection, old: Catalog | None, new: Catalog) -> list[Stranded]:
    """Per entity and removed state: how many records sit there, and where `migrate` sends
    them (None: they keep their flow version until moved)."""
    found: list[Stranded] = []
    for key, entity in new.entities.items():
        before = old.entities.get(key) if old else None
        if entity.flow is None or before is None or "state" not in before.table.c:
            continue
        states = entity.flow.definition.states
        table = before.table
        counts = conn.execute(
            sa.select(table.c.state, sa.func.count())
            .where(table.c.state.is_not(None), table.c.state.not_in(list(states)))
            .group_by(table.c.state)
            .order_by(table.c.state)
        )
        for state, rows in counts:
            found.append(Stranded(entity, state, rows, entity.flow.definition.migrate.get(state)))
    return found
