"""Taking a transition: one database transaction that checks who may take it and on what,
runs its actions, decides the actor's task, moves the record (through any automatic
transitions that follow), and writes state, fields, timeline, tasks, timers, audit entry and
jobs together. Two attempts on one record: the second waits for the first, then sees the
record as the first left it — so exactly one of them wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.database import write_transaction
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from engine.flows.actions import run_actions
from engine.flows.approvals import (
    actor_task,
    approval_done,
    cancel_open_tasks,
    decide,
    open_approval,
    send_back,
)
from engine.flows.history import add_history, current_entry
from engine.flows.machine import MAX_AUTOMATIC_MOVES
from engine.flows.moves import Move
from engine.flows.services import FlowServices
from engine.flows.tables import history
from engine.flows.timers import cancel_timers, schedule_timers
from engine.flows.versions import flow_of_record
from engine.permissions import RecordAccess, access_for
from engine.principal import SYSTEM, Principal
from engine.records.auditing import audit_transition, diff
from engine.records.changes import records_changed
from engine.records.computing import apply_computed, check_rules
from engine.records.orgs import org_of
from engine.records.reading import fetch_in_scope
from engine.records.sealing import seal, unseal
from engine.records.writing import (
    Refused,
    audited_refusal,
    check_links,
    check_storable,
    check_unique,
    check_version,
    parse_if_match,
    written_result,
)
from engine.validation import validate_input
from metamodel.flows import Transition
from metamodel.labels import pick

COMMENT = "comment"


def take_transition(
    engine: sa.Engine,
    entity: CompiledEntity,
    record_id: int,
    name: str,
    body: dict[str, Any],
    principal: Principal,
    language: str = "zh",
    if_match: str | None = None,
) -> dict[str, Any]:
    """Take transition `name` on a record as `principal`; the record as it now sees it.
    With `If-Match`, only if the record is still at the version the client read (else 412).

    404 when the record is out of the principal's sight or the flow has no such transition;
    403 when the principal may not take it; 409 when the record is not in a state it leaves
    from, its condition does not hold, or someone else moved the record first; 422 for a
    missing comment or field.
    """
    if entity.flow is None:
        raise NotFound(f"{entity.path} has no flow")
    comment, values, sent = _parse_body(entity, body)
    expected = parse_if_match(if_match)
    services = FlowServices.of(entity)
    try:
        with write_transaction(engine) as conn:
            exists = lock_record(conn, entity, record_id)
            access = access_for(entity, principal)
            row = None
            if access.allows("read"):
                row = fetch_in_scope(conn, entity, access, "read", record_id, stored=True)
            if row is None:  # audited after the rollback: this transaction holds the lock
                missing = NotFound(f"{entity.path} {record_id} not found")
                if exists:
                    raise Refused(f"transition.{name}", record_id, missing, "out of scope")
                raise missing
            current = unseal(entity, dict(row))
            check_version(entity, record_id, current, expected)
            flow = flow_of_record(conn, entity, current)
            transition = flow.transition(name)
            if transition is None:
                raise NotFound(f"the flow {flow.name} has no transition {name!r}")
            move = Move(
                conn, entity, flow, record_id, dict(current), principal, services.now(), services
            )
            move.language, move.comment = language, comment
            if move.state not in transition.sources:
                raise Conflict(
                    f"{entity.path} {record_id} is {move.state}; {name} leaves from "
                    + ", ".join(transition.sources)
                )
            task = authorize(move, name, transition, access)
            _take_input(move, name, transition, values, sent)
            run_actions(move, ("transitions", name, "actions"), transition.actions)
            _decide_and_move(move, name, transition, task)
            finish(move, current)
            return written_result(conn, entity, access, record_id)
    except Refused as refused:
        raise audited_refusal(engine, entity, principal, refused) from None


def lock_record(conn: sa.Connection, entity: CompiledEntity, record_id: int) -> bool:
    """Hold the record's row for this transaction (PostgreSQL; SQLite holds the database);
    False when there is no such record."""
    table = entity.table
    query = sa.select(table.c.id).where(table.c.id == record_id).with_for_update()
    return conn.execute(query).first() is not None


def _parse_body(
    entity: CompiledEntity, body: dict[str, Any]
) -> tuple[str | None, dict[str, Any], set[str]]:
    """The comment, and the field values checked as an update would check them."""
    data = dict(body)
    comment = data.pop(COMMENT, None)
    if comment is not None and not isinstance(comment, str):
        raise ValidationFailed("the request is not valid", [field_error(COMMENT, "must be text")])
    values, sent = validate_input(entity.patch_model, data)
    return (comment.strip() or None) if comment else None, values, sent


def authorize(
    move: Move, name: str, transition: Transition, access: RecordAccess
) -> dict[str, Any] | None:
    """The actor's task when the transition decides one; else check roles and submitter."""

    def refuse(message: str) -> Refused:
        return Refused(f"transition.{name}", move.record_id, Forbidden(message))

    if transition.trigger != "user":
        raise refuse(f"{name} is taken by the platform ({transition.trigger}), not by users")
    state = move.flow.state(move.state)
    waits = state is not None and state.approval is not None
    by_task = transition.approve or transition.return_step
    by_task = by_task or (waits and not (transition.roles or transition.submitter))
    if by_task:
        try:
            return actor_task(move, current_entry(move.conn, *_record_key(move)))
        except Forbidden as exc:
            raise refuse(exc.message) from None
    if move.actor.is_superuser:
        return None
    if transition.submitter and move.record.get("created_by") == move.actor.username:
        return None
    if transition.roles and _in_role_scope(move, transition.roles, access):
        return None
    raise refuse(f"you may not take {name} on {move.entity.path} {move.record_id}")


def _in_role_scope(move: Move, roles: list[str], access: RecordAccess) -> bool:
    """Does one of the actor's `roles` hold the record within that role's data scope?"""
    holdings = tuple(h for h in access.granting("read") if h.assignment.role in roles)
    if not holdings:
        return False
    scoped = RecordAccess(move.entity, move.actor, holdings)
    found = fetch_in_scope(move.conn, move.entity, scoped, "read", move.record_id)
    return found is not None


def _take_input(
    move: Move, name: str, transition: Transition, values: dict[str, Any], sent: set[str]
) -> None:
    """The fields the body sets, the comment, required fields, rules and the guard."""
    refused = sorted(sent - set(transition.fields))
    if refused:
        details = [field_error(n, f"{name} does not set this field") for n in refused]
        raise Refused(
            f"transition.{name}", move.record_id, Forbidden("fields you may not set", details)
        )
    comment = move.comment or ""
    problems = []
    if transition.comment.required and not comment:
        problems.append(field_error(COMMENT, "is required"))
    elif comment and len(comment) < transition.comment.min_length:
        minimum = transition.comment.min_length
        problems.append(field_error(COMMENT, f"needs at least {minimum} characters"))
    for field in sorted(sent):
        move.set(field, values[field])
    for field in transition.required:
        if move.record.get(field) in (None, ""):
            problems.append(field_error(field, "is required"))
    env = move.environment()
    for index, rule in enumerate(transition.rules):
        expression = move.flow.expression("transitions", name, "rules", index, "when")
        if expression is not None and expression.test(move.record, env):
            problems.append(field_error(rule.field or "", pick(rule.message, move.language)))
    if problems:
        raise ValidationFailed(f"{name} needs more", problems)
    guard = move.flow.expression("transitions", name, "when")
    if guard is not None and not guard.test(move.record, env):
        raise Conflict(f"the condition of {name} does not hold: {guard.source}")


def _decide_and_move(
    move: Move, name: str, transition: Transition, task: dict[str, Any] | None
) -> None:
    state = move.state
    if transition.approve and task is not None:
        decide(move, task, name)
        if approval_done(move, state, task):
            move_to(move, name, transition.to or state, step=task["step"])
        else:
            log(
                move,
                "approval",
                transition=name,
                from_state=state,
                to_state=state,
                step=task["step"],
            )
        return
    if transition.return_step and task is not None:
        decide(move, task, name)
        previous = send_back(move, state, task)
        if previous is not None:
            log(move, "return", transition=name, from_state=state, to_state=state, step=previous)
            return
        if transition.to is None:
            raise Conflict(f"{name}: the approval is at its first step already")
    elif task is not None:
        decide(move, task, name)
    assert transition.to is not None, "checked with the definition"
    move_to(move, name, transition.to, step=task["step"] if task else None)


def log(move: Move, kind: str, actor: Principal | None = None, **row: Any) -> int:
    """A timeline row for this move, with the check results gathered since the last one."""
    entry_id = add_history(
        move.conn,
        app=move.entity.app,
        entity=move.entity.name,
        record_id=move.record_id,
        flow=move.flow.name,
        flow_version=move.flow.version,
        kind=kind,
        actor=(actor or move.actor).username,
        at=move.now,
        comment=move.comment,
        checks=list(move.check_results),
        **row,
    )
    move.check_results.clear()
    move.rows.append((entry_id, dict(move.record if move.rows else move.original)))
    move.moves.append({"kind": kind, **{k: v for k, v in row.items() if v is not None}})
    return entry_id


def move_to(
    move: Move,
    name: str | None,
    to: str,
    step: str | None = None,
    actor: Principal | None = None,
    kind: str = "transition",
) -> None:
    """Leave the current state (its open tasks and timers end) and enter `to`; `kind` is the
    timeline's word for it (a transition, or a migration by a state map)."""
    from_state = move.state
    cancel_open_tasks(move)
    cancel_timers(move)
    move.record["state"] = to
    current = move.entity.flow
    if current is not None and move.flow is not current and to in current.definition.states:
        move.flow = current  # back in a state the newest version knows: run under it
    entry_id = log(
        move, kind, actor, transition=name, from_state=from_state, to_state=to, step=step
    )
    enter(move, to, entry_id)


def enter(move: Move, state: str, entry_id: int) -> None:
    """Entry actions, timers, the approval's first tasks; then the first automatic transition
    whose condition holds (an approval with every step switched off is approved at once)."""
    move.hops += 1
    if move.hops > MAX_AUTOMATIC_MOVES:
        raise Conflict(f"automatic transitions went round more than {MAX_AUTOMATIC_MOVES} times")
    definition = move.flow.state(state)
    assert definition is not None, "transitions lead to known states"
    run_actions(move, ("states", state, "on_enter"), definition.on_enter)
    schedule_timers(move, state, entry_id)
    if definition.approval is not None:
        if open_approval(move, state, entry_id):
            return
        approving = move.flow.approving(state)
        if approving is not None and approving[1].to is not None:
            move.comment = None
            move_to(move, approving[0], approving[1].to, actor=SYSTEM)
            return
    env = move.environment()
    for name, transition in move.flow.automatic(state):
        guard = move.flow.expression("transitions", name, "when")
        if guard is None or guard.test(move.record, env):
            run_actions(move, ("transitions", name, "actions"), transition.actions)
            move.comment = None
            assert transition.to is not None, "checked with the definition"
            move_to(move, name, transition.to, actor=SYSTEM)
            return


def finish(move: Move, original: dict[str, Any]) -> None:
    """Write the record once: computed fields, rules, references, uniqueness, organisation,
    state and version — only if nobody changed it since it was read."""
    entity, record, conn = move.entity, move.record, move.conn
    env = move.environment()
    apply_computed(entity, record, env)
    check_rules(entity, record, env, move.language)
    changed = {n: record.get(n) for n in entity.stored_fields if record.get(n) != original.get(n)}
    check_storable(conn, entity, changed)
    check_links(conn, entity, {n: v for n, v in changed.items() if n in move.changed}, move.actor)
    check_unique(conn, entity, record, move.record_id, only=set(changed))
    system: dict[str, Any] = {}
    if entity.expressions.org is not None:
        system["org_id"] = org_of(conn, entity, record, env)
    table = entity.table
    result = conn.execute(
        table.update()
        .where(table.c.id == move.record_id, table.c.row_version == original["row_version"])
        .values(
            **seal(entity, changed),
            **system,
            state=record["state"],
            flow_version=move.flow.version,
            row_version=table.c.row_version + 1,
            updated_at=move.now,
            updated_by=move.actor.username,
            def_version=entity.version,
        )
    )
    if result.rowcount != 1:
        raise Conflict(f"{entity.path} {move.record_id} was changed by someone else; reload it")
    _record_changes(move, record)
    records_changed(conn, entity, [move.record_id], "update")
    audit_transition(conn, entity, move.actor, move.record_id, move.moves, original, record)
    for job, args, key in move.jobs:
        move.services.enqueue(conn, job, args, key)


def _record_changes(move: Move, final: dict[str, Any]) -> None:
    """Each timeline row gets the fields that changed between it and the next one."""
    for index, (entry_id, before) in enumerate(move.rows):
        after = move.rows[index + 1][1] if index + 1 < len(move.rows) else final
        changes = diff(move.entity, before, after)
        if changes:
            move.conn.execute(
                history.update().where(history.c.id == entry_id).values(changes=changes)
            )


def _record_key(move: Move) -> tuple[str, str, int]:
    return move.entity.app, move.entity.name, move.record_id


def system_move(
    conn: sa.Connection, entity: CompiledEntity, record_id: int, now: datetime
) -> Move | None:
    """A move by the platform itself (timers, migrations); None when the record is gone."""
    table = entity.table
    lock_record(conn, entity, record_id)
    row = (
        conn.execute(sa.select(*entity.select_columns).where(table.c.id == record_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    current = unseal(entity, dict(row))
    flow = flow_of_record(conn, entity, current)
    return Move(conn, entity, flow, record_id, current, SYSTEM, now, FlowServices.of(entity))
