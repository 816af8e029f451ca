"""`/alerts`: the alerts a user receives (or, for admins and auditors, every alert), with
filters and unread marks; `/alerts/{id}`: one alert with its record, timeline, deliveries
and the lifecycle actions the user may take (acknowledge, dispose with an opinion, feed
back, resolve).

Everything goes through the alerts service the JSON API uses (`list_alerts`, `get_alert`,
`act`), so the screens can show and do no more than `/api/alerts` allows. Opening an alert
marks it read. An action someone else took first is a 409 notice, not a failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.alerts.lifecycle import act
from engine.alerts.listing import get_alert, list_alerts, mark_read
from engine.alerts.statuses import STATUSES
from engine.catalog import Catalog
from engine.database import write_transaction
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.principal import Principal
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import principal_of
from renderers.html.alert_detail import AlertPage, alert_page
from renderers.html.alert_view import (
    ACTIONS,
    FAMILIES,
    SEVERITIES,
    TEXTS,
    AlertRow,
    alert_row,
)
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.pages import forget_notice, remember_notice, take_notice

PAGE_SIZE = 50
FILTERS = ("status", "severity", "family", "app", "unread")


@dataclass(frozen=True)
class FilterChoice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class AlertFilter:
    name: str
    label: str
    choices: list[FilterChoice]


@dataclass(frozen=True)
class AlertsPage:
    """A page of alerts, newest first, with the filter form (a plain GET) and cursor links."""

    chrome: Chrome
    filters: list[AlertFilter]
    unread_only: bool
    rows: list[AlertRow]
    count_text: str
    next_url: str | None
    first_url: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)


def alert_filters(
    catalog: Catalog, values: Mapping[str, str], texts: Mapping[str, str], language: str
) -> list[AlertFilter]:
    """Selects for status, severity, family and app, each with "any" first."""
    apps = sorted(catalog.definitions.apps.items(), key=lambda item: (item[1].app.order, item[0]))
    options = {
        "status": [(s, texts[f"status_{s}"]) for s in STATUSES],
        "severity": [(s, texts[f"severity_{s}"]) for s in SEVERITIES],
        "family": [(f, texts[f"family_{f}"]) for f in FAMILIES],
        "app": [(name, pick(bundle.app.label, language, name)) for name, bundle in apps],
    }
    return [
        AlertFilter(
            name,
            texts[name],
            [FilterChoice("", texts["any"], not values.get(name))]
            + [FilterChoice(v, label, values.get(name) == v) for v, label in choices],
        )
        for name, choices in options.items()
    ]


def alerts_page(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    chrome: Chrome,
    items: Sequence[tuple[str, str]],
) -> tuple[AlertsPage, int]:
    """The page for the query `items`; a bad filter (422) is shown above an empty list."""
    texts, language = chrome.texts, chrome.language
    values = {k: v for k, v in items if k in FILTERS and v}
    raw_cursor = dict(items).get("cursor", "")
    cursor = int(raw_cursor) if raw_cursor.isdigit() and len(raw_cursor) < 19 else None
    errors: list[dict[str, Any]] = []
    try:
        found = list_alerts(conn, catalog, principal, values, cursor, PAGE_SIZE, language)
    except ValidationFailed as refused:
        found, errors = {"items": [], "next_cursor": None, "count": None}, refused.details
    timezone = catalog.options.timezone
    kept = list(values.items())
    next_cursor = found.get("next_cursor")
    count = found.get("count")
    page = AlertsPage(
        chrome=chrome,
        filters=alert_filters(catalog, values, texts, language),
        unread_only=values.get("unread") in ("1", "true"),
        rows=[alert_row(a, texts, timezone) for a in found["items"]],
        count_text=texts["alert_count"].format(count=count) if count is not None else "",
        next_url=f"/alerts?{urlencode([*kept, ('cursor', next_cursor)])}" if next_cursor else None,
        first_url=("/alerts?" + urlencode(kept)) if cursor else None,
        errors=errors,
    )
    return page, 422 if errors else 200


# --- routes --------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _alert_id(request: Request) -> int:
    alert_id: int = request.path_params["alert_id"]
    if alert_id >= 2**63:
        raise NotFound(f"no alert {alert_id}")
    return alert_id


async def alerts_screen(request: Request) -> Response:
    """`GET /alerts?status=&severity=&family=&app=&unread=1&cursor=`."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    chrome = chrome_of(request, TEXTS[language_of_page(request)]["alerts_title"], catalog, TEXTS)
    principal = principal_of(request)
    items = request.query_params.multi_items()

    def run() -> tuple[AlertsPage, int]:
        with runtime.engine.connect() as conn:
            return alerts_page(conn, catalog, principal, chrome, items)

    page, status = await run_in_threadpool(run)
    return render(request, "alerts.html", page, status)


async def alert_screen(request: Request) -> Response:
    """`GET /alerts/{id}`: the alert, marked read for the user (a recipient) as it opens."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    principal = principal_of(request)
    alert_id = _alert_id(request)
    notice = take_notice(request)

    def mark() -> None:
        with write_transaction(runtime.engine) as conn:
            mark_read(conn, principal, alert_id, runtime.clock.now())

    await run_in_threadpool(mark)  # before the chrome counts the unread alerts
    chrome = chrome_of(request, TEXTS[language_of_page(request)]["alert_title"], catalog, TEXTS)

    def run() -> AlertPage:
        with runtime.engine.connect() as conn:
            alert = get_alert(conn, catalog, principal, alert_id, chrome.language)
        return alert_page(alert, catalog, principal, chrome, notice or "")

    response = render(request, "alert.html", await run_in_threadpool(run))
    if notice:
        forget_notice(response)
    return response


async def alert_action(request: Request) -> Response:
    """`POST /alerts/{id}/{action}` with `comment` (and `opinion` to dispose, `feedback` to
    feed back): back to the alert with a notice; a refusal re-renders it with the reason
    (409 when the alert has moved on, 422 beside a missing opinion)."""
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise NotFound(f"no alert action {action}")
    alert_id = _alert_id(request)
    principal = principal_of(request)
    async with request.form(max_files=0, max_fields=10) as form:
        body = {
            name: str(form.get(name, "")).strip()
            for name in ("comment", "opinion", "feedback")
            if str(form.get(name, "")).strip()
        }

    def run() -> None:
        with write_transaction(runtime.engine) as conn:
            act(conn, runtime, principal, alert_id, action, body)

    texts = TEXTS[language_of_page(request)]
    try:
        await run_in_threadpool(run)
    except (Conflict, ValidationFailed) as refused:
        return await _refused(request, runtime, catalog, alert_id, action, body, refused)
    response = RedirectResponse(f"/alerts/{alert_id}", 303)
    done = texts["done"].format(action=texts[f"action_{action}"])
    remember_notice(response, done, runtime.settings.secure_cookies)
    return response


async def _refused(
    request: Request,
    runtime: Runtime,
    catalog: Catalog,
    alert_id: int,
    action: str,
    body: Mapping[str, str],
    refused: Conflict | ValidationFailed,
) -> Response:
    chrome = chrome_of(request, TEXTS[language_of_page(request)]["alert_title"], catalog, TEXTS)
    principal = principal_of(request)

    def run() -> AlertPage:
        with runtime.engine.connect() as conn:
            alert = get_alert(conn, catalog, principal, alert_id, chrome.language)
        if isinstance(refused, Conflict):
            status = chrome.texts.get(f"status_{alert.get('status')}", str(alert.get("status")))
            return alert_page(
                alert,
                catalog,
                principal,
                chrome,
                error=chrome.texts["refused"].format(status=status),
            )
        return alert_page(
            alert, catalog, principal, chrome, failed=(action, dict(body), refused.details)
        )

    return render(request, "alert.html", await run_in_threadpool(run), refused.status)


ROUTES: list[BaseRoute] = [
    Route("/alerts", alerts_screen, methods=["GET"]),
    Route("/alerts/{alert_id:int}", alert_screen, methods=["GET"]),
    Route("/alerts/{alert_id:int}/{action}", alert_action, methods=["POST"]),
]
