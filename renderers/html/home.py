"""`/`: where a user starts the day — how many tasks wait for them (their own, ones they may
claim from shared boxes, ones past or near their deadline), the first of them, unread
messages, and the apps they may open. A handful of count queries, never one per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.alerts.listing import list_alerts
from engine.catalog import Catalog
from engine.flows.messages import list_messages
from engine.flows.services import FlowServices
from engine.principal import Principal
from renderers.api.requests import principal_of
from renderers.html.alert_view import TEXTS as ALERT_TEXTS
from renderers.html.alert_view import AlertRow, alert_row
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.inbox import TEXTS as INBOX_TEXTS
from renderers.html.inbox import (
    InboxCounts,
    TaskRow,
    box_tasks,
    inbox_counts,
    moment,
    role_label,
    task_row,
)

OPEN_TASKS = 10
RECENT_MESSAGES = 5
OPEN_ALERTS = 5
TEXTS = {
    "zh": {
        **ALERT_TEXTS["zh"],
        **INBOX_TEXTS["zh"],
        "home_title": "首页",
        "greeting": "您好，{user}",
        "count_mine": "我的待办",
        "count_shared": "可认领",
        "count_urgent": "超时或即将到期",
        "count_unread": "未读消息",
        "open_tasks": "待办任务",
        "all_tasks": "查看全部待办",
        "messages": "未读消息",
        "no_messages": "没有未读消息。",
        "quick_links": "常用功能",
        "account": "账号",
        "logged_in_as": "当前用户",
        "roles": "角色",
        "organisation": "所属机构",
    },
    "en": {
        **ALERT_TEXTS["en"],
        **INBOX_TEXTS["en"],
        "home_title": "Home",
        "greeting": "Hello, {user}",
        "count_mine": "My tasks",
        "count_shared": "To claim",
        "count_urgent": "Overdue or due soon",
        "count_unread": "Unread messages",
        "open_tasks": "Open tasks",
        "all_tasks": "All of the inbox",
        "messages": "Unread messages",
        "no_messages": "No unread messages.",
        "quick_links": "Quick links",
        "account": "Account",
        "logged_in_as": "Logged in as",
        "roles": "Roles",
        "organisation": "Organisation",
    },
}


@dataclass(frozen=True)
class MessageRow:
    """An unread message; `url` leads to the record it is about, if any."""

    title: str
    body: str
    received: str
    url: str | None


@dataclass(frozen=True)
class HomePage:
    """The user's day at a glance: task counts, the first open tasks, unread messages; the
    apps they may open are the chrome's menus. `roles` are labels."""

    chrome: Chrome
    greeting: str
    username: str
    roles: list[str]
    org_code: str | None
    counts: InboxCounts
    unread: int
    tasks: list[TaskRow]
    messages: list[MessageRow]
    alerts: list[AlertRow] = field(default_factory=list)  # open ones, newest first


def home_page(
    conn: sa.Connection, catalog: Catalog, principal: Principal, chrome: Chrome, now: datetime
) -> HomePage:
    """A few queries: the counts, the first tasks, the unread messages and their number,
    the newest open alerts."""
    texts, language = chrome.texts, chrome.language
    found, _ = box_tasks(conn, principal, "all", OPEN_TASKS)
    unread = list_messages(conn, principal.username, unread=True, limit=RECENT_MESSAGES)
    messages = [
        MessageRow(
            title=m["title"],
            body=m["body"] or "",
            received=moment(m["created_at"], catalog),
            url=f"/{m['app']}/{m['entity']}/{m['record_id']}" if m["record_id"] else None,
        )
        for m in unread["items"]
    ]
    return HomePage(
        chrome=chrome,
        greeting=texts["greeting"].format(user=principal.username),
        username=principal.username,
        roles=[role_label(catalog, role, language) for role in principal.roles],
        org_code=principal.org_code,
        counts=inbox_counts(conn, principal, now),
        unread=int(unread["unread"] or 0),
        tasks=[task_row(t, catalog, principal, texts, language, now) for t in found],
        messages=messages,
        alerts=[
            alert_row(a, texts, catalog.options.timezone)
            for a in list_alerts(
                conn, catalog, principal, {"status": "open"}, None, OPEN_ALERTS, language
            )["items"]
        ],
    )


async def home(request: Request) -> Response:
    runtime = request.app.state.runtime
    catalog = runtime.require_catalog()
    title = TEXTS[language_of_page(request)]["home_title"]
    chrome = chrome_of(request, title, catalog, TEXTS)
    now = FlowServices.of_catalog(catalog).now()

    def run() -> HomePage:
        with runtime.engine.connect() as conn:
            return home_page(conn, catalog, principal_of(request), chrome, now)

    return render(request, "home_page.html", await run_in_threadpool(run))


ROUTES: list[BaseRoute] = [Route("/", home, methods=["GET"])]
