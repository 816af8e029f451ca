"""The screens' routes, in the order they must match.

Fixed paths (`/`, `/inbox`, `/studio…`, `/audit…`, `/static/…`) come before plugin routes;
the record screens (`/{app}/{entity}…`) come last of all, after the JSON API's record routes,
as their paths match almost anything.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from renderers.html import audit, details, forms, home, inbox, lists, studio
from renderers.html.environment import STATIC
from renderers.html.pages import switch_language


def screen_routes() -> list[BaseRoute]:
    return [
        Route("/-/language", switch_language, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *home.ROUTES,
        *inbox.ROUTES,
        *studio.ROUTES,
        *audit.ROUTES,
    ]


def record_screen_routes() -> list[BaseRoute]:
    """`/{app}/{entity}/new` and the other fixed words before `/{app}/{entity}/{id}`."""
    return [*forms.ROUTES, *details.ROUTES, *lists.ROUTES]
