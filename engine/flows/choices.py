"""A record's place in its flow as one user sees it: its state, the transitions that user may
take now (with what each asks for), its open tasks, pending timers and timeline."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.errors import AnjuError, NotFound
from engine.flows.history import timeline
from engine.flows.inbox import record_tasks
from engine.flows.moves import Move
from engine.flows.services import FlowServices
from engine.flows.timers import pending_timers
from engine.flows.transitions import authorize
from engine.flows.versions import flow_of_record
from engine.permissions import FieldLevel, RecordAccess
from engine.principal import Principal
from engine.records.auditing import HIDDEN_VALUE
from engine.records.reading import fetch_in_scope, refuse_missing, require_action
from engine.records.sealing import unseal
from engine.records.writing import Refused
from metamodel.flows import Transition
from metamodel.labels import pick


def flow_view(
    conn: sa.Connection,
    entity: CompiledEntity,
    record_id: int,
    principal: Principal,
    language: str = "zh",
) -> dict[str, Any]:
    """404 when the record is out of sight or the entity has no flow."""
    if entity.flow is None:
        raise NotFound(f"{entity.path} has no flow")
    access = require_action(conn, entity, principal, "read")
    row = fetch_in_scope(conn, entity, access, "read", record_id, stored=True)
    if row is None:
        refuse_missing(conn, entity, principal, "read", record_id)
    record = unseal(entity, dict(row))
    flow = flow_of_record(conn, entity, record)
    services = FlowServices.of(entity)
    move = Move(conn, entity, flow, record_id, record, principal, services.now(), services)
    state = flow.state(move.state)
    choices = []
    for name, transition in flow.leaving(move.state):
        if transition.trigger != "user":
            continue
        try:
            authorize(move, name, transition, access)
        except (Refused, AnjuError):
            continue
        choices.append(_choice(name, transition, language, flow.state(transition.to or "")))
    key = (entity.app, entity.name, record_id)
    return {
        "flow": flow.name,
        "flow_version": flow.version,
        "state": move.state,
        "state_label": pick(state.label, language, move.state) if state else move.state,
        "category": state.category if state else None,
        "transitions": choices,
        "tasks": record_tasks(conn, *key),
        "timers": pending_timers(conn, *key),
        "timeline": [_shown(entry, access) for entry in timeline(conn, *key)],
    }


def _shown(entry: dict[str, Any], access: RecordAccess) -> dict[str, Any]:
    """A timeline row as the caller may see it: hidden fields left out, masked ones masked,
    a check's inputs (personal data) only for roles that may unmask."""
    changes = {}
    for name, change in entry["changes"].items():
        level = access.level(name)
        if level == FieldLevel.CLEAR:
            changes[name] = change
        elif level == FieldLevel.MASKED:
            changes[name] = [HIDDEN_VALUE, HIDDEN_VALUE]
    checks = entry["checks"]
    if not (access.unrestricted or access.allows("unmask")):
        checks = [{k: v for k, v in c.items() if k != "inputs"} for c in checks]
    return {**entry, "changes": changes, "checks": checks}


def _choice(name: str, transition: Transition, language: str, target: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": pick(transition.label, language, name),
        "to": transition.to,
        "to_label": pick(target.label, language, transition.to or "") if target else transition.to,
        "approve": transition.approve,
        "return_step": transition.return_step,
        "fields": transition.fields,
        "required": transition.required,
        "comment": {
            "required": transition.comment.required,
            "min_length": transition.comment.min_length,
        },
        "confirm": pick(transition.confirm, language) if transition.confirm else None,
    }
