"""The screens' routes, in the order they must match.

Fixed paths (`/`, `/inbox`, `/studio…`, `/audit…`, `/alerts…`, `/static/…`) come before
plugin routes, and reports and dashboards (`/{app}/reports/…`, `/{app}/dashboards/…`, whose
second segment is a reserved name no entity may take) before the record screens;
the record screens (`/{app}/{entity}…`) come last of all, after the JSON API's record routes,
as their paths match almost anything.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from renderers.html import (
    alerts,
    audit,
    dashboards,
    details,
    forms,
    home,
    inbox,
    lists,
    report_records,
    reports,
    studio,
)
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
        *alerts.ROUTES,
        *reports.ROUTES,
        *report_records.ROUTES,
        *dashboards.ROUTES,
    ]


def record_screen_routes() -> list[BaseRoute]:
    """`/{app}/{entity}/new` and the other fixed words before `/{app}/{entity}/{id}`."""
    return [*forms.ROUTES, *details.ROUTES, *lists.ROUTES]
