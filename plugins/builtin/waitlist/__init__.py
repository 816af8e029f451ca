"""Waitlist (轮候库) order: priority conditions and sort keys as data, positions, what-if.

The public rental queue is ordered by a scheme (`ordering.PRH_SCHEME` by default): entries
whose certificate is still valid, by the number of priority conditions they meet (disabled
or elderly member, 低保 hardship, a long wait, repeated lottery failures), then by
qualification date, then by order of entry. `ordering.order` and `ordering.simulate` are
pure functions; this plugin adds

- the flow actions `waitlist.assess` (priority flags of an entry from its household's
  members) and `waitlist.reorder` (the `position` of every waiting entry), used by the
  qualification flow when an application enters the queue and by the lottery when
  allocated families leave it;
- `POST /api/plugins/waitlist/simulate`: what a changed scheme would do to today's queue.
"""

from __future__ import annotations

from typing import Any

from engine.extensions import FlowAction
from engine.settings import Settings
from plugins.builtin.waitlist import actions, routes
from plugins.hookspecs import hookimpl


@hookimpl
def anju_flow_actions(settings: Settings) -> list[FlowAction]:
    return [
        FlowAction(
            "waitlist.assess",
            actions.assess,
            "Sets an entry's disabled-member and elderly-member flags from its household",
        ),
        FlowAction(
            "waitlist.reorder",
            actions.reorder,
            "Recomputes the position of every waiting entry under the PRH scheme",
        ),
    ]


@hookimpl
def anju_routes(settings: Settings) -> list[Any]:
    return routes.routes()
