"""The `update` action: a flow changes the record a reference of the moving record points at
(`lease_contract`, or through a chain, `lease_contract.housing_unit`).

The update runs in the move's transaction as the system acting for the user who moved the
record, and is checked, written and heard as the records service writes an update: the
target's types, computed fields, rules, references and uniqueness, its organisation, an
audit entry, the change listeners (report caches, on-change alert rules) and the plugins'
save hooks. It refuses what would be wrong to do silently: an empty reference is a 409
(guard the action with `when: <reference> != null` where a reference may be empty), and so
is a reference back to the moving record itself (that is what `set` is for). The target's
flow, if it has one, does not limit which fields the action changes: the flow definition that
names them decides.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.errors import Conflict, ValidationFailed, field_error
from engine.flows.moves import Move
from engine.records.sealing import unseal
from engine.validation import validate_input
from metamodel.flow_checks import reference_target
from metamodel.flows import UpdateAction

Path = tuple[Any, ...]


def update_related(move: Move, path: Path, action: UpdateAction) -> None:
    """Run one `update` action for the moving record; nothing when its `when` does not hold."""
    env = move.environment()
    guard = move.flow.expression(*path, "when")
    if guard is not None and not guard.test(move.record, env):
        return
    reference = move.flow.expression(*path, "update")
    assert reference is not None, "flow expressions compile with their definitions"
    target_id = reference.evaluate(move.record, env)
    if target_id is None:
        raise Conflict(
            f"{move.entity.path} {move.record_id} has no {action.update}, which the flow "
            "updates; fill it in first",
            [field_error(action.update.split(".")[0], "is empty")],
        )
    target = _target(move, action)
    if target is move.entity and target_id == move.record_id:
        raise Conflict(f"{action.update} is {move.entity.path} {move.record_id} itself")
    body = {}
    for name in action.values:
        expression = move.flow.expression(*path, "values", name)
        assert expression is not None, "flow expressions compile with their definitions"
        body[name] = expression.evaluate(move.record, env)
    write_update(move, target, int(target_id), checked_changes(target, int(target_id), body))


def _target(move: Move, action: UpdateAction) -> CompiledEntity:
    catalog = move.entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    found = reference_target(
        catalog.definitions, move.entity.app, move.entity.definition, action.update
    )
    assert not isinstance(found, str), "update paths are checked with the flow"
    return catalog.entities[(found[0], found[1].name)]


def checked_changes(target: CompiledEntity, record_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The values as the target's fields take them; a 422 names the target and its fields."""
    where = f"the flow's update of {target.path} {record_id}"
    try:
        values, sent = validate_input(target.patch_model, body)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{where} is not valid", exc.details) from None
    changes = {name: values[name] for name in sent}
    cleared = [n for n, v in changes.items() if v is None and target.fields[n].required]
    if cleared:
        details = [field_error(name, "is required") for name in cleared]
        raise ValidationFailed(f"{where} clears a required field", details)
    return changes


def write_update(
    move: Move, target: CompiledEntity, record_id: int, changes: dict[str, Any]
) -> None:
    """Write `changes` to one record of `target` in the move's transaction, as the system."""
    from engine.records.writing import store_update, updated  # writing starts flows: import late

    conn, table = move.conn, target.table
    row = (
        conn.execute(
            sa.select(*target.select_columns).where(table.c.id == record_id).with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Conflict(f"{target.path} {record_id} no longer exists; the flow cannot update it")
    current = unseal(target, dict(row))
    principal = replace(move.actor, roles=("system",), assignments=())
    record = store_update(
        conn, target, record_id, current, changes, principal, None, move.language, move.now
    )
    updated(conn, target, principal, record_id, current, record)
