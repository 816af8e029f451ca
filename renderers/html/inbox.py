"""`/inbox`: the open tasks a user may decide — their own, and shared ones they may claim —
and `/inbox/{id}`, one task with its record beside it.

Claiming is exclusive: of two people claiming one shared task, the second is told who has it
(409) rather than both working on it. A task's deadline is its own `due_at`, else the first
timer of the state it waits in (an SLA reminder or a timed transition), so overdue work shows
in red without a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine import records
from engine.catalog import Catalog
from engine.database import read_mostly, write_transaction
from engine.errors import Conflict, NotFound
from engine.flows.approvals import OPEN, candidate_condition
from engine.flows.inbox import TASK_COLUMNS, claim_task, release_task
from engine.flows.services import FlowServices
from engine.flows.tables import tasks, timers
from engine.principal import Principal
from engine.runtime import Runtime
from metamodel.labels import pick
from renderers.api.requests import principal_of
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.flow_panel import FlowPanel, flow_panel
from renderers.html.login import safe_next
from renderers.html.values import field_label, reference_titles, show, title_of, zone_of

BOXES = ("mine", "shared", "all")
PAGE_SIZE = 50
WARN_BEFORE = timedelta(days=1)  # a deadline this close is shown as a warning
TEXTS = {
    "zh": {
        "inbox_title": "待办任务",
        "box_mine": "我的",
        "box_shared": "可认领",
        "box_all": "全部",
        "col_record": "事项",
        "col_state": "状态 / 环节",
        "col_holder": "办理人",
        "col_received": "收到时间",
        "col_deadline": "办理时限",
        "col_actions": "操作",
        "shared_box": "共享：{role}",
        "overdue": "已超时",
        "due_soon": "即将到期",
        "claim": "认领",
        "release": "退回共享",
        "open_task": "办理",
        "no_tasks": "没有待办任务。",
        "task_title": "任务",
        "record": "记录",
        "open_record": "查看记录详情",
        "no_flow": "该记录没有可供您办理的流程操作。",
        "claimed": "已认领任务 #{task}，其他人不能再办理它。",
        "released": "已将任务 #{task} 退回共享待办。",
        "claimed_by_other": "任务 #{task} 已被 {user} 认领，您不能再认领。",
        "not_yours": "任务 #{task} 不是您认领的，不能退回。",
        "gone": "任务 #{task} 已办结，或不在您的待办中。",
    },
    "en": {
        "inbox_title": "Inbox",
        "box_mine": "Mine",
        "box_shared": "To claim",
        "box_all": "All",
        "col_record": "Record",
        "col_state": "State / step",
        "col_holder": "Held by",
        "col_received": "Received",
        "col_deadline": "Deadline",
        "col_actions": "Actions",
        "shared_box": "Shared: {role}",
        "overdue": "Overdue",
        "due_soon": "Due soon",
        "claim": "Claim",
        "release": "Release",
        "open_task": "Open",
        "no_tasks": "No open tasks.",
        "task_title": "Task",
        "record": "Record",
        "open_record": "Open the record",
        "no_flow": "The record's flow offers you nothing to do here.",
        "claimed": "You claimed task #{task}; nobody else can decide it now.",
        "released": "Task #{task} is back in the shared box.",
        "claimed_by_other": "Task #{task} has already been claimed by {user}.",
        "not_yours": "Task #{task} is not claimed by you, so you cannot release it.",
        "gone": "Task #{task} has been decided, or is not in your inbox.",
    },
}


@dataclass(frozen=True)
class Notice:
    """A sentence above the page: the result of a claim or release (`kind` "notice"), or why
    it failed ("error")."""

    text: str
    kind: str = "notice"


@dataclass(frozen=True)
class TaskRow:
    """One open task: what it is about, where the record stands, who holds it (a user, or a
    role's shared box), when it came and its deadline; `urgency` is the badge class ("bad"
    past the deadline, "warn" within a day of it, "" otherwise)."""

    id: int
    url: str
    title: str
    entity_label: str
    record_url: str
    state_label: str
    step_label: str
    holder: str
    shared: bool
    received: str
    deadline: str
    urgency: str
    can_claim: bool
    can_release: bool


@dataclass(frozen=True)
class InboxCounts:
    """The user's open tasks: held by them (assigned or claimed), free in shared boxes they may
    claim, all of them, and how many of all are past or near their deadline."""

    mine: int
    shared: int
    all: int
    urgent: int


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    url: str
    count: int
    active: bool


@dataclass(frozen=True)
class InboxPage:
    """One box of the inbox, a page of it at a time (`next_url` to the next page)."""

    chrome: Chrome
    box: str
    tabs: list[Tab]
    rows: list[TaskRow]
    next_url: str | None
    first_url: str | None
    notice: Notice | None = None


@dataclass(frozen=True)
class RecordField:
    label: str
    value: str


@dataclass(frozen=True)
class TaskPage:
    """A task with its record beside it: the record's fields as the user may see them, and the
    flow panel with the transitions (approve, reject, return…) the user may take."""

    chrome: Chrome
    task: TaskRow
    record_title: str
    fields: list[RecordField]
    flow: FlowPanel | None
    notice: Notice | None = None


# --- queries -------------------------------------------------------------------------------


def deadline_column() -> sa.ColumnElement[Any]:
    """The task's own due moment, else the first timer of the state entry it belongs to
    (a fired timer counts: its moment has passed)."""
    first_timer = (
        sa.select(sa.func.min(timers.c.due_at))
        .where(
            timers.c.app == tasks.c.app,
            timers.c.entity == tasks.c.entity,
            timers.c.record_id == tasks.c.record_id,
            timers.c.entry_id == tasks.c.entry_id,
            timers.c.status != "cancelled",
        )
        .scalar_subquery()
    )
    return sa.func.coalesce(tasks.c.due_at, first_timer)


def box_condition(principal: Principal, box: str) -> sa.ColumnElement[bool]:
    """Open tasks of a box: `mine` (assigned to or claimed by the user), `shared` (free in a
    role's box the user may claim from), `all` (both)."""
    everything = sa.and_(tasks.c.status == OPEN, candidate_condition(principal))
    if box == "mine":
        me = principal.username
        return sa.and_(everything, sa.or_(tasks.c.assignee == me, tasks.c.claimed_by == me))
    if box == "shared":
        return sa.and_(everything, tasks.c.candidate_role.isnot(None), tasks.c.claimed_by.is_(None))
    return everything


def inbox_counts(conn: sa.Connection, principal: Principal, now: datetime) -> InboxCounts:
    """Every count in one query."""

    def number(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    me = principal.username
    row = conn.execute(
        sa.select(
            number(sa.or_(tasks.c.assignee == me, tasks.c.claimed_by == me)),
            number(sa.and_(tasks.c.candidate_role.isnot(None), tasks.c.claimed_by.is_(None))),
            sa.func.count(),
            number(deadline_column() <= now + WARN_BEFORE),
        ).where(box_condition(principal, "all"))
    ).one()
    return InboxCounts(*(int(n) for n in row))


def box_tasks(
    conn: sa.Connection,
    principal: Principal,
    box: str,
    limit: int,
    after: int | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """A page of a box, oldest first, each task with its `deadline`; and whether more follow."""
    query = sa.select(*(tasks.c[n] for n in TASK_COLUMNS), deadline_column().label("deadline"))
    query = query.where(box_condition(principal, box))
    if after is not None:
        query = query.where(tasks.c.id > after)
    rows = conn.execute(query.order_by(tasks.c.id).limit(limit + 1)).mappings()
    found = [dict(r) for r in rows]
    return found[:limit], len(found) > limit


def visible_task(conn: sa.Connection, principal: Principal, task_id: int) -> dict[str, Any]:
    """An open task the user could decide, even when a colleague has claimed it; else 404."""
    query = sa.select(*(tasks.c[n] for n in TASK_COLUMNS), deadline_column().label("deadline"))
    query = query.where(tasks.c.id == task_id, tasks.c.status == OPEN)
    if not principal.is_superuser:
        query = query.where(candidate_condition(principal, claimed_by_others=True))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return dict(row)


# --- view models ---------------------------------------------------------------------------


def role_label(catalog: Catalog, role: str, language: str) -> str:
    """A role's label from the first app's roles.yaml that names it, else its name."""
    for bundle in catalog.definitions.apps.values():
        found = bundle.roles.roles.get(role)
        if found is not None:
            return pick(found.label, language, role)
    return role


def moment(value: datetime | None, catalog: Catalog) -> str:
    """A timestamp in the platform's time zone, to the minute."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(catalog.options.timezone)).strftime("%Y-%m-%d %H:%M")


def urgency(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return ""
    if deadline <= now:
        return "bad"
    return "warn" if deadline <= now + WARN_BEFORE else ""


def task_row(
    task: dict[str, Any],
    catalog: Catalog,
    principal: Principal,
    texts: dict[str, str],
    language: str,
    now: datetime,
) -> TaskRow:
    entity = catalog.entity(task["app"], task["entity"])
    flow = entity.flow if entity is not None else None
    state = flow.state(task["state"]) if flow is not None else None
    steps = state.approval.steps if state is not None and state.approval is not None else []
    step = next((s for s in steps if s.name == task["step"]), None)
    role = task["candidate_role"]
    holder = task["claimed_by"] or task["assignee"] or ""
    if not holder and role:
        holder = texts["shared_box"].format(role=role_label(catalog, role, language))
    shared = role is not None and task["claimed_by"] is None
    mine = task["claimed_by"] == principal.username
    return TaskRow(
        id=task["id"],
        url=f"/inbox/{task['id']}",
        title=task["title"] or f"#{task['record_id']}",
        entity_label=pick(entity.definition.label, language, entity.name)
        if entity
        else task["entity"],
        record_url=f"/{task['app']}/{task['entity']}/{task['record_id']}",
        state_label=pick(state.label, language, task["state"]) if state else task["state"],
        step_label=pick(step.label, language, step.name) if step else task["step"],
        holder=holder,
        shared=shared,
        received=moment(task["created_at"], catalog),
        deadline=moment(task["deadline"], catalog),
        urgency=urgency(task["deadline"], now),
        can_claim=shared,
        can_release=task["claimed_by"] is not None and (mine or principal.is_superuser),
    )


def box_url(box: str, after: int | None = None) -> str:
    query = {"box": box, **({"after": str(after)} if after is not None else {})}
    return "/inbox?" + urlencode(query)


def inbox_page(
    conn: sa.Connection,
    catalog: Catalog,
    principal: Principal,
    chrome: Chrome,
    box: str,
    now: datetime,
    after: int | None = None,
    notice: Notice | None = None,
) -> InboxPage:
    """The box's page after task `after`, with the tabs and their counts."""
    box = box if box in BOXES else "all"
    found, more = box_tasks(conn, principal, box, PAGE_SIZE, after)
    counts = inbox_counts(conn, principal, now)
    texts = chrome.texts
    tabs = [
        Tab(name, texts[f"box_{name}"], box_url(name), getattr(counts, name), name == box)
        for name in BOXES
    ]
    rows = [task_row(t, catalog, principal, texts, chrome.language, now) for t in found]
    return InboxPage(
        chrome=chrome,
        box=box,
        tabs=tabs,
        rows=rows,
        next_url=box_url(box, rows[-1].id) if more and rows else None,
        first_url=box_url(box) if after is not None else None,
        notice=notice,
    )


def task_page(
    conn: sa.Connection,
    runtime: Runtime,
    principal: Principal,
    chrome: Chrome,
    task_id: int,
    now: datetime,
    notice: Notice | None = None,
) -> TaskPage:
    """404 when the task is not the user's to see, or its record is out of the user's sight.
    The record's json fields (check reports, extras) are left to its own page: raw JSON does
    not help a decision, and the flow panel shows the checks' results."""
    catalog = runtime.require_catalog()
    task = visible_task(conn, principal, task_id)
    entity = catalog.entity(task["app"], task["entity"])
    if entity is None:
        raise NotFound(f"{task['app']}.{task['entity']} is no longer defined")
    record = records.get_record(conn, entity, task["record_id"], principal)
    titles = reference_titles(conn, entity, [record], principal)
    language = chrome.language
    fields = [
        RecordField(
            field_label(entity, name, language),
            show(spec, record[name], language, titles.get(name), zone_of(entity)),
        )
        for name, spec in entity.fields.items()
        if name in record and spec.type != "json"  # machine data: on the record's own page
    ]
    return TaskPage(
        chrome=chrome,
        task=task_row(task, catalog, principal, chrome.texts, language, now),
        record_title=title_of(entity, record),
        fields=fields,
        flow=flow_panel(conn, runtime, entity, record, principal, language, next_url="/inbox"),
        notice=notice,
    )


# --- routes --------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _now(catalog: Catalog) -> datetime:
    return FlowServices.of_catalog(catalog).now()


def notice_of(request: Request, texts: dict[str, str]) -> Notice | None:
    """The result a claim or release left in the address (`?done=claimed&task=5`)."""
    done, task = request.query_params.get("done"), request.query_params.get("task", "")
    if done in ("claimed", "released") and task.isdigit():
        return Notice(texts[done].format(task=task))
    return None


def _task_id(request: Request) -> int:
    """The path's task id; one beyond a database integer names no task."""
    task_id: int = request.path_params["task_id"]
    if task_id >= 2**63:
        raise NotFound(f"no task {task_id}")
    return task_id


def _after(request: Request) -> int | None:
    raw = request.query_params.get("after", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


async def inbox(request: Request) -> Response:
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    chrome = chrome_of(request, TEXTS[language_of_page(request)]["inbox_title"], catalog, TEXTS)

    def run() -> InboxPage:
        with runtime.engine.connect() as conn:
            return inbox_page(
                conn,
                catalog,
                principal_of(request),
                chrome,
                request.query_params.get("box", "all"),
                _now(catalog),
                _after(request),
                notice_of(request, chrome.texts),
            )

    return render(request, "inbox.html", await run_in_threadpool(run))


async def task(request: Request) -> Response:
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    chrome = chrome_of(request, TEXTS[language_of_page(request)]["task_title"], catalog, TEXTS)

    def run() -> TaskPage:
        return read_mostly(
            runtime.engine,
            lambda conn: task_page(
                conn,
                runtime,
                principal_of(request),
                chrome,
                _task_id(request),
                _now(catalog),
                notice_of(request, chrome.texts),
            ),
        )

    return render(request, "task.html", await run_in_threadpool(run))


async def claim(request: Request) -> Response:
    return await _change(request, claiming=True)


async def release(request: Request) -> Response:
    return await _change(request, claiming=False)


async def _change(request: Request, claiming: bool) -> Response:
    """Claim or release, then back to `next` with the result; a refusal re-renders the inbox
    with the reason and the refusal's status (409, or 404 when the task is gone)."""
    async with request.form(max_files=0, max_fields=5) as form:
        raw_next = form.get("next")
    next_path = safe_next(raw_next) if isinstance(raw_next, str) and raw_next else "/inbox"
    runtime = _runtime(request)
    catalog = runtime.require_catalog()
    principal = principal_of(request)
    task_id = _task_id(request)
    now = _now(catalog)

    def run() -> None:
        with write_transaction(runtime.engine) as conn:
            if claiming:
                claim_task(conn, principal, task_id, now)
            else:
                release_task(conn, principal, task_id)

    try:
        await run_in_threadpool(run)
    except (Conflict, NotFound) as refusal:
        return await _refused(request, runtime, next_path, task_id, claiming, refusal)
    done = "claimed" if claiming else "released"
    separator = "&" if "?" in next_path else "?"
    return RedirectResponse(
        f"{next_path}{separator}{urlencode({'done': done, 'task': task_id})}", 303
    )


async def _refused(
    request: Request,
    runtime: Runtime,
    next_path: str,
    task_id: int,
    claiming: bool,
    refusal: Conflict | NotFound,
) -> Response:
    catalog = runtime.require_catalog()
    texts = TEXTS[language_of_page(request)]
    chrome = chrome_of(request, texts["inbox_title"], catalog, TEXTS)
    principal = principal_of(request)
    box = parse_qs(urlsplit(next_path).query).get("box", ["all"])[0]

    def run() -> InboxPage:
        with runtime.engine.connect() as conn:
            notice = Notice(_refusal(conn, principal, texts, task_id, claiming, refusal), "error")
            return inbox_page(conn, catalog, principal, chrome, box, _now(catalog), notice=notice)

    return render(request, "inbox.html", await run_in_threadpool(run), refusal.status)


def _refusal(
    conn: sa.Connection,
    principal: Principal,
    texts: dict[str, str],
    task_id: int,
    claiming: bool,
    refusal: Conflict | NotFound,
) -> str:
    """Why a claim or release failed, naming the colleague who holds the task."""
    if isinstance(refusal, Conflict):
        if not claiming:
            return texts["not_yours"].format(task=task_id)
        try:
            holder = visible_task(conn, principal, task_id)["claimed_by"]
        except NotFound:
            holder = None
        if holder:
            return texts["claimed_by_other"].format(task=task_id, user=holder)
    return texts["gone"].format(task=task_id)


ROUTES: list[BaseRoute] = [
    Route("/inbox", inbox, methods=["GET"]),
    Route("/inbox/{task_id:int}", task, methods=["GET"]),
    Route("/inbox/{task_id:int}/claim", claim, methods=["POST"]),
    Route("/inbox/{task_id:int}/release", release, methods=["POST"]),
]
