"""`POST /api/plugins/waitlist/simulate`: what a changed scheme would do to today's queue.

    POST /api/plugins/waitlist/simulate
    {"scheme": {"name": "hardship first", "conditions": […], "sort": […]},
     "current": {…}                                   (optional; the PRH scheme by default)
     "filter": {"requested_district": 2, "requested_layout": "two_bedroom"}}   (optional)
    → {"current": "prh", "changed": "hardship first", "today": "2026-06-01",
       "summary": {"entries": 40, "moved_up": 6, "moved_down": 9, "unchanged": 25,
                   "max_move": 7, "entering": 0, "leaving": 0},
       "entries": [{"id": 12, "old_position": 8, "new_position": 1, "moved_by": 7,
                    "rules_met": ["hardship"]}, …]}

The whole waiting queue (status `waiting`, within the filter) of
`public_rental.waitlist_entry` is ordered both ways; the caller needs a role that may read
waitlist entries (or admin), and the answer lists only the entries that role may read (a
street officer its street's, a family its own), by id with their positions and the
conditions they meet, nothing personal. The summary counts the whole queue.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.errors import Forbidden, NotFound
from engine.permissions import RecordAccess, access_for
from engine.records.evaluation import environment, sql_context
from engine.records.sealing import unseal
from engine.runtime import Runtime
from plugins.builtin.waitlist.actions import WAITING
from plugins.builtin.waitlist.ordering import PRH_SCHEME, Scheme, simulate
from renderers.api.bodies import read_model
from renderers.api.responses import JSON

APP, ENTITY = "public_rental", "waitlist_entry"


class EntryFilter(BaseModel):
    """Which part of the queue to simulate: equal to each value given."""

    model_config = ConfigDict(extra="forbid")

    requested_district: int | None = None
    street: int | None = None
    requested_layout: str | None = None


class SimulationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheme: Scheme
    current: Scheme | None = None
    filter: EntryFilter = EntryFilter()


async def simulate_route(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    entity = runtime.require_catalog().entity(APP, ENTITY)
    if entity is None:
        raise NotFound(f"there is no entity {APP}.{ENTITY}")
    access = access_for(entity, request.state.principal)
    if not access.allows("read"):
        raise Forbidden("simulating the waitlist needs a role that may read its entries")
    body = await read_model(request, SimulationRequest)
    current = body.current or Scheme.model_validate(PRH_SCHEME)
    today = _today(runtime)
    entries, readable = waiting_entries(runtime, access, body.filter)
    simulation = simulate(entries, current, body.scheme, today)
    shown = [shift.as_json() for shift in simulation.shifts if shift.id in readable]
    return JSON(
        {
            "current": current.name,
            "changed": body.scheme.name,
            "today": today.isoformat(),
            "summary": simulation.summary(),
            "entries": shown,
        }
    )


def waiting_entries(
    runtime: Runtime, access: RecordAccess, where: EntryFilter
) -> tuple[list[dict[str, Any]], set[int]]:
    """The waiting entries within the filter, and the ids of those the caller may read."""
    entity = access.entity
    table = entity.table
    query = table.select().where(table.c.status == WAITING)
    for name, value in where.model_dump(exclude_none=True).items():
        query = query.where(table.c[name] == value)
    with runtime.engine.connect() as conn:
        rows = conn.execute(query.order_by(table.c.id)).mappings().all()
        env = environment(None, entity, access.principal, now=runtime.clock.now())
        scope = access.row_condition("read", table, sql_context(conn, entity, env))
        readable = query.with_only_columns(table.c.id)
        if scope is not None:
            readable = readable.where(scope)
        ids = set(conn.execute(readable).scalars())
    return [unseal(entity, dict(row)) for row in rows], ids


def _today(runtime: Runtime) -> date:
    return runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


def routes() -> list[Route]:
    return [Route("/api/plugins/waitlist/simulate", simulate_route, methods=["POST"])]
