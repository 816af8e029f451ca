"""The inbox: the open tasks a user may decide, and claiming a shared task for oneself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.errors import Conflict, NotFound
from engine.flows.approvals import OPEN, candidate_condition, not_decided_before
from engine.flows.tables import tasks
from engine.principal import Principal

TASK_COLUMNS = (
    "id",
    "app",
    "entity",
    "record_id",
    "flow",
    "state",
    "step",
    "title",
    "candidate_role",
    "assignee",
    "claimed_by",
    "claimed_at",
    "created_at",
    "due_at",
    "status",
    "row_version",
)


def list_inbox(
    conn: sa.Connection,
    principal: Principal,
    filters: dict[str, str],
    limit: int = 50,
    after: int | None = None,
) -> dict[str, Any]:
    """Open tasks the principal may decide, oldest first; `filters` on app, entity, state,
    step, and `claimed=me|none`."""
    condition = sa.and_(tasks.c.status == OPEN, candidate_condition(principal))
    if not principal.is_superuser:
        condition = sa.and_(condition, not_decided_before(principal))
    for name in ("app", "entity", "state", "step"):
        if filters.get(name):
            condition = sa.and_(condition, tasks.c[name] == filters[name])
    claimed = filters.get("claimed")
    if claimed == "me":
        condition = sa.and_(condition, tasks.c.claimed_by == principal.username)
    elif claimed == "none":
        condition = sa.and_(condition, tasks.c.claimed_by.is_(None))
    query = sa.select(*(tasks.c[n] for n in TASK_COLUMNS)).where(condition)
    if after is not None:
        query = query.where(tasks.c.id > after)
    rows = [dict(r) for r in conn.execute(query.order_by(tasks.c.id).limit(limit + 1)).mappings()]
    more = len(rows) > limit
    items = rows[:limit]
    count = conn.execute(sa.select(sa.func.count()).where(condition)).scalar()
    return {
        "items": items,
        "next_cursor": str(items[-1]["id"]) if more and items else None,
        "count": count,
    }


def claim_task(conn: sa.Connection, principal: Principal, task_id: int, now: datetime) -> Any:
    """Take a shared task for oneself; exactly one of two candidates claiming at once wins."""
    task = _candidate_task(conn, principal, task_id)
    if task["claimed_by"] == principal.username:
        return task
    if task["claimed_by"] is not None:
        raise Conflict(f"task {task_id} is claimed by {task['claimed_by']}")
    result = conn.execute(
        tasks.update()
        .where(
            tasks.c.id == task_id,
            tasks.c.status == OPEN,
            tasks.c.claimed_by.is_(None),
            tasks.c.row_version == task["row_version"],
        )
        .values(claimed_by=principal.username, claimed_at=now, row_version=tasks.c.row_version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"task {task_id} was claimed by someone else")
    return _candidate_task(conn, principal, task_id)


def release_task(conn: sa.Connection, principal: Principal, task_id: int) -> Any:
    """Give a claimed task back to the shared box."""
    task = _candidate_task(conn, principal, task_id)
    if task["claimed_by"] != principal.username and not principal.is_superuser:
        raise Conflict(f"task {task_id} is not claimed by you")
    conn.execute(
        tasks.update()
        .where(tasks.c.id == task_id, tasks.c.status == OPEN)
        .values(claimed_by=None, claimed_at=None, row_version=tasks.c.row_version + 1)
    )
    return _candidate_task(conn, principal, task_id)


def _candidate_task(conn: sa.Connection, principal: Principal, task_id: int) -> dict[str, Any]:
    """An open task the principal could decide (claimed by it, or free); else 404."""
    visible = candidate_condition(principal, claimed_by_others=True)
    query = sa.select(*(tasks.c[n] for n in TASK_COLUMNS)).where(
        tasks.c.id == task_id, tasks.c.status == OPEN
    )
    if not principal.is_superuser:
        query = query.where(visible)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return dict(row)


def record_tasks(conn: sa.Connection, app: str, entity: str, record_id: int) -> list[Any]:
    """The record's open tasks, for its detail view."""
    query = (
        sa.select(*(tasks.c[n] for n in TASK_COLUMNS))
        .where(
            tasks.c.app == app,
            tasks.c.entity == entity,
            tasks.c.record_id == record_id,
            tasks.c.status == OPEN,
        )
        .order_by(tasks.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]
