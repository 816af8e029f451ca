"""Approvals: the tasks a state waits for, who may decide them, and when an approval is done.

A step's tasks go to its assignees: with `role`, one shared task any holder of the role in
the record's organisation (or above it) may claim (`single`), or one task per such user
(`any`, `all`) — with `org`, the organisation whose code it gives instead of the record's;
with `field` or `expression`, a task per named user.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from engine.auth.tables import org_table as orgs
from engine.auth.tables import user_role_table as user_roles
from engine.auth.tables import user_table as users
from engine.errors import Conflict, Forbidden, field_error
from engine.flows.moves import Move
from engine.flows.tables import tasks
from engine.principal import Principal
from metamodel.flows import Recipients, Step

OPEN = "open"


def enabled_steps(move: Move, state: str) -> list[tuple[int, Step]]:
    """The state's steps whose switch (`when`) is on for this record."""
    env = move.environment()
    enabled = []
    for index, step in move.flow.steps(state):
        switch = move.flow.expression("states", state, "approval", "steps", index, "when")
        if switch is None or switch.test(move.record, env):
            enabled.append((index, step))
    return enabled


def open_approval(move: Move, state: str, entry_id: int) -> bool:
    """Open the first step's tasks (every step's, in parallel); False when no step is on."""
    rows = first_tasks(move, state, entry_id)
    if rows is None:
        return False
    move.conn.execute(tasks.insert(), rows)
    return True


def first_tasks(move: Move, state: str, entry_id: int) -> list[dict[str, Any]] | None:
    """The task rows an approval opens with on entering `state`: the first step's (every
    step's, in parallel); None when the state has no approval or no step is on."""
    steps = enabled_steps(move, state)
    definition = move.flow.state(state)
    if not steps or definition is None or definition.approval is None:
        return None
    parallel = definition.approval.order == "parallel"
    return [
        row
        for index, step in (steps if parallel else steps[:1])
        for row in step_tasks(move, state, entry_id, index, step)
    ]


def open_step(move: Move, state: str, entry_id: int, index: int, step: Step) -> None:
    move.conn.execute(tasks.insert(), step_tasks(move, state, entry_id, index, step))


def step_tasks(
    move: Move, state: str, entry_id: int, index: int, step: Step
) -> list[dict[str, Any]]:
    """The task rows of one step, one per assignee (or one shared by a role)."""
    path = ("states", state, "approval", "steps", index, "assignee")
    return [_task_row(move, state, entry_id, step, target) for target in _targets(move, step, path)]


def _targets(move: Move, step: Step, path: tuple[Any, ...]) -> list[dict[str, Any]]:
    """One dict per task: a shared box for a role, or a named user; each with the path of
    the organisation the task belongs to."""
    assignee = step.assignee
    if assignee.role is not None:
        org_path = role_org_path(move, assignee, path)
        if org_path is False:
            raise Conflict(
                f"step {step.name!r} has nobody to decide it",
                [field_error("assignee.org", "names no organisation")],
            )
        shared = [{"candidate_role": assignee.role, "org_path": org_path}]
        if step.mode == "single":
            return shared
        holders = role_holders(move.conn, assignee.role, org_path)
        return [{"assignee": user, "org_path": org_path} for user in holders] or shared
    named = recipients_of(move, assignee, path)
    if not named:
        raise Conflict(
            f"step {step.name!r} has nobody to decide it",
            [field_error(assignee.field or "assignee", "names no user")],
        )
    org_path = record_org_path(move)
    return [{"assignee": user, "org_path": org_path} for user in named]


def recipients_of(move: Move, recipients: Recipients, path: tuple[Any, ...]) -> list[str]:
    """The usernames a `field` or `expression` names (roles are resolved by the caller)."""
    if recipients.field is not None:
        value = move.record.get(recipients.field)
        return [str(value)] if value else []
    expression = move.flow.expression(*path, "expression")
    if expression is None:
        return []
    value = expression.evaluate(move.record, move.environment())
    if value is None:
        return []
    return [str(v) for v in value if v] if isinstance(value, list) else [str(value)]


def _task_row(
    move: Move, state: str, entry_id: int, step: Step, target: dict[str, Any]
) -> dict[str, Any]:
    return {
        "app": move.entity.app,
        "entity": move.entity.name,
        "record_id": move.record_id,
        "flow": move.flow.name,
        "state": state,
        "step": step.name,
        "entry_id": entry_id,
        "title": record_title(move),
        "candidate_role": target.get("candidate_role"),
        "org_path": target["org_path"],
        "assignee": target.get("assignee"),
        "excluded": move.record.get("created_by") if step.exclude_submitter else None,
        "status": OPEN,
        "created_at": move.now,
        "row_version": 1,
    }


def record_title(move: Move) -> str:
    title_field = move.entity.definition.title_field
    value = move.record.get(title_field) if title_field else None
    return str(value)[:255] if value else f"{move.entity.path} {move.record_id}"


def record_org_path(move: Move) -> str | None:
    org_id = move.record.get("org_id")
    if org_id is None:
        return None
    return move.conn.execute(sa.select(orgs.c.path).where(orgs.c.id == org_id)).scalar()


def role_org_path(
    move: Move, recipients: Recipients, path: tuple[Any, ...]
) -> str | None | Literal[False]:
    """The path of the organisation a role is looked for in: the record's (None when it has
    none: anywhere), or the one whose code `org` gives (False when that is null or names no
    organisation: nowhere)."""
    if recipients.org is None:
        return record_org_path(move)
    expression = move.flow.expression(*path, "org")
    assert expression is not None, "flow expressions compile with their definitions"
    code = expression.evaluate(move.record, move.environment())
    if code is None:
        return False
    found = move.conn.execute(sa.select(orgs.c.path).where(orgs.c.code == str(code))).scalar()
    return False if found is None else str(found)


def role_holders(conn: sa.Connection, role: str, org_path: str | None) -> list[str]:
    """Active users holding `role` in the organisation `org_path` names or one above it (a
    role assigned without an organisation is held in the user's own)."""
    held_in = sa.func.coalesce(user_roles.c.org_id, users.c.org_id)
    query = (
        sa.select(users.c.username)
        .distinct()
        .select_from(user_roles.join(users, users.c.id == user_roles.c.user_id))
        .outerjoin(orgs, orgs.c.id == held_in)
        .where(user_roles.c.role == role, users.c.active.is_(True))
        .order_by(users.c.username)
    )
    if org_path is not None:
        query = query.where(sa.literal(org_path).startswith(orgs.c.path))
    return list(conn.execute(query).scalars())


def candidate_condition(
    principal: Principal, claimed_by_others: bool = False
) -> sa.ColumnElement[bool]:
    """Tasks `principal` may decide: its own, ones it claimed, and unclaimed shared tasks of a
    role it holds over the record's organisation (claimed ones too with `claimed_by_others`)."""
    shared = [
        sa.and_(
            tasks.c.candidate_role == assignment.role,
            sa.or_(
                tasks.c.org_path.is_(None),
                tasks.c.org_path.startswith(assignment.org_path, autoescape=True),
            )
            if assignment.org_path
            else tasks.c.org_path.is_(None),
        )
        for assignment in principal.held_roles()
    ]
    free = [tasks.c.assignee.is_(None)]
    if not claimed_by_others:
        free.append(tasks.c.claimed_by.is_(None))
    mine = sa.or_(
        tasks.c.assignee == principal.username,
        tasks.c.claimed_by == principal.username,
        sa.and_(*free, sa.or_(*shared)) if shared else sa.false(),
    )
    return sa.and_(mine, not_excluded(principal))


def not_excluded(principal: Principal) -> sa.ColumnElement[bool]:
    """Leaves out the tasks the two-person rule keeps from `principal`: those of a step with
    `exclude_submitter` on a record it created."""
    return sa.or_(tasks.c.excluded.is_(None), tasks.c.excluded != principal.username)


def not_decided_before(principal: Principal) -> sa.ColumnElement[bool]:
    """Leaves out the tasks the four-eyes rule keeps from `principal`: another step of an
    approval whose earlier step it decided (`_four_eyes` refuses the move itself)."""
    earlier = tasks.alias("earlier")
    return ~sa.exists().where(
        earlier.c.app == tasks.c.app,
        earlier.c.entity == tasks.c.entity,
        earlier.c.record_id == tasks.c.record_id,
        earlier.c.entry_id == tasks.c.entry_id,
        earlier.c.status == "done",
        earlier.c.decided_by == principal.username,
        earlier.c.step != tasks.c.step,
    )


def actor_task(move: Move, entry_id: int | None) -> dict[str, Any]:
    """The open task of this record the actor decides; 403 without one, 409 if another
    candidate has claimed it."""
    record_tasks = sa.and_(
        tasks.c.app == move.entity.app,
        tasks.c.entity == move.entity.name,
        tasks.c.record_id == move.record_id,
        tasks.c.entry_id == entry_id,
        tasks.c.status == OPEN,
    )
    mine = sa.select(tasks).where(record_tasks, not_excluded(move.actor))
    if not move.actor.is_superuser:
        mine = mine.where(candidate_condition(move.actor))
    row = (
        move.conn.execute(
            mine.order_by((tasks.c.claimed_by == move.actor.username).desc(), tasks.c.id)
        )
        .mappings()
        .first()
    )
    if row is not None:
        if row["claimed_by"] not in (None, move.actor.username) and not move.actor.is_superuser:
            raise Conflict(f"task {row['id']} is claimed by {row['claimed_by']}")
        _four_eyes(move, row)
        return dict(row)
    claimed = move.conn.execute(
        sa.select(tasks.c.id, tasks.c.claimed_by).where(
            record_tasks, tasks.c.claimed_by.isnot(None)
        )
    ).first()
    if claimed is not None and claimed.claimed_by != move.actor.username:
        raise Conflict(f"task {claimed.id} is claimed by {claimed.claimed_by}")
    excluded = move.conn.execute(
        sa.select(tasks.c.id).where(record_tasks, tasks.c.excluded == move.actor.username)
    ).first()
    if excluded is not None:
        record = f"{move.entity.path} {move.record_id}"
        raise Forbidden(f"you submitted {record}: another person decides it (two-person rule)")
    raise Forbidden(f"you hold no open task of {move.entity.path} {move.record_id}")


def _four_eyes(move: Move, task: Any) -> None:
    """Who decided one step of an approval may not decide another step of it."""
    earlier = move.conn.execute(
        sa.select(tasks.c.step).where(
            *_of_record(move),
            tasks.c.entry_id == task["entry_id"],
            tasks.c.status == "done",
            tasks.c.decided_by == move.actor.username,
            tasks.c.step != task["step"],
        )
    ).first()
    if earlier is not None and not move.actor.is_superuser:
        raise Forbidden(f"you decided the step {earlier.step!r}; another person decides this one")


def decide(move: Move, task: dict[str, Any], outcome: str) -> None:
    """Close the actor's task with the transition it took; 409 if it changed meanwhile."""
    result = move.conn.execute(
        tasks.update()
        .where(
            tasks.c.id == task["id"],
            tasks.c.status == OPEN,
            tasks.c.row_version == task["row_version"],
        )
        .values(
            status="done",
            outcome=outcome,
            decided_by=move.actor.username,
            decided_at=move.now,
            comment=move.comment,
            row_version=tasks.c.row_version + 1,
        )
    )
    if result.rowcount != 1:
        raise Conflict(f"task {task['id']} was decided by someone else; reload it")


def approval_done(move: Move, state: str, task: dict[str, Any]) -> bool:
    """After an approval: True when the state's approval is complete, else the next step's
    tasks are open (or the step still waits for the rest of its `all` approvers)."""
    steps = enabled_steps(move, state)
    entry_id = task["entry_id"]
    step = next((s for _, s in steps if s.name == task["step"]), None)
    if step is not None and step.mode == "all" and _open_count(move, entry_id, step.name):
        return False
    _cancel(move, entry_id, task["step"])
    definition = move.flow.state(state)
    if definition is not None and definition.approval and definition.approval.order == "parallel":
        return _open_count(move, entry_id, None) == 0
    names = [s.name for _, s in steps]
    position = names.index(task["step"]) if task["step"] in names else len(names) - 1
    for index, following in steps[position + 1 :]:
        open_step(move, state, entry_id, index, following)
        return False
    return True


def send_back(move: Move, state: str, task: dict[str, Any]) -> str | None:
    """Return the approval to the step before the task's; the step's name, or None when the
    task's step is the first."""
    steps = enabled_steps(move, state)
    names = [s.name for _, s in steps]
    if task["step"] not in names or names.index(task["step"]) == 0:
        return None
    _cancel(move, task["entry_id"], None)
    index, previous = steps[names.index(task["step"]) - 1]
    open_step(move, state, task["entry_id"], index, previous)
    return previous.name


def _open_count(move: Move, entry_id: int, step: str | None) -> int:
    query = sa.select(sa.func.count()).where(
        tasks.c.entry_id == entry_id, tasks.c.status == OPEN, *_of_record(move)
    )
    if step is not None:
        query = query.where(tasks.c.step == step)
    return int(move.conn.execute(query).scalar() or 0)


def _cancel(move: Move, entry_id: int | None = None, step: str | None = None) -> None:
    """Cancel the record's open tasks: of one state entry, of one step, or all of them."""
    condition = [tasks.c.status == OPEN, *_of_record(move)]
    if entry_id is not None:
        condition.append(tasks.c.entry_id == entry_id)
    if step is not None:
        condition.append(tasks.c.step == step)
    move.conn.execute(
        tasks.update()
        .where(*condition)
        .values(status="cancelled", row_version=tasks.c.row_version + 1)
    )


def cancel_open_tasks(move: Move) -> None:
    _cancel(move)


def _of_record(move: Move) -> list[sa.ColumnElement[bool]]:
    return [
        tasks.c.app == move.entity.app,
        tasks.c.entity == move.entity.name,
        tasks.c.record_id == move.record_id,
    ]
