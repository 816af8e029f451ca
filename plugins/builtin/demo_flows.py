"""Demo records resting mid-flow enter their states once their organisations and staff
exist: an application awaiting its street's verification lands in that street officer's
inbox, and a publicity period ends when its timer says so (`engine/flows/entering.py`).
Nothing is sent and no record moves while they enter."""

from __future__ import annotations

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.flows.entering import EnteredAt, enter_current_states
from plugins.builtin.demo_rental import application_entered

# When a record of an entity entered its state, where the demo knows better than the
# record's `updated_at` (the moment of the load).
ENTERED: dict[str, EnteredAt] = {"public_rental.application": application_entered}


def enter_states(engine: sa.Engine, catalog: Catalog) -> int:
    """Open the tasks and timers of every demo record waiting in a flow; how many entered."""
    return sum(
        enter_current_states(engine, entity, ENTERED.get(entity.path))
        for entity in catalog.entities.values()
        if entity.flow is not None
    )
