"""The flow actions of `devices.command_request`, the approval record of a high-risk command.

They run inside the transition's transaction, so the request's state and the command's
status change together or not at all: `approve` releases the command (QUEUED, and handed to
the MQTT dispatcher when there is one), `reject` rejects it with the reason, `withdraw`
(the platform, when the command is cancelled or has waited past its expiry) cancels or
expires it. A command that is no longer awaiting approval refuses the transition (409).
"""

from __future__ import annotations

from typing import Any

from engine.errors import Conflict
from engine.extensions import FlowAction
from engine.flows.actions_api import ActionContext
from iot.commands.lifecycle import load_command, move
from iot.tables import AWAITING_APPROVAL, CANCELLED, EXPIRED, QUEUED, REJECTED


def _waiting(context: ActionContext) -> dict[str, Any]:
    command_id = context.args.get("command")
    command = load_command(context.conn, int(command_id)) if command_id is not None else None
    if command is None:
        raise Conflict(f"{context.action}: no command {command_id}")
    if command["status"] != AWAITING_APPROVAL:
        raise Conflict(
            f"command {command['id']} is {command['status']}, no longer awaiting approval"
        )
    return command


def _catalog(context: ActionContext) -> Any:
    return context.move.entity.catalog


def _moved(context: ActionContext, command: dict[str, Any], status: str, **values: Any) -> None:
    detail = {"approval_id": context.record_id, "comment": context.move.comment}
    actor = context.actor.username
    if not move(
        context.conn, _catalog(context), command, status, actor, context.now, values, detail
    ):
        raise Conflict(f"command {command['id']} changed meanwhile; reload it")


def release(context: ActionContext) -> None:
    """Approved: the command is queued for its device, checked again for expiry."""
    command = _waiting(context)
    if context.now >= command["expires_at"]:
        raise Conflict(f"command {command['id']} expired at {command['expires_at']:%Y-%m-%d %H:%M}")
    _moved(context, command, QUEUED, approved_by=context.actor.username)
    runtime = context.move.services.runtime
    if runtime is not None and runtime.settings.mqtt_url:
        from iot.commands.dispatch import DISPATCH_JOB

        runtime.jobs.enqueue(DISPATCH_JOB, {"command_id": command["id"]}, conn=context.conn)


def reject(context: ActionContext) -> None:
    """Rejected: the command never goes out; its error says why."""
    command = _waiting(context)
    reason = str(context.args.get("reason") or "")
    _moved(context, command, REJECTED, approved_by=context.actor.username, error=reason)


def withdraw(context: ActionContext) -> None:
    """Withdrawn: the command expired while it waited, or was cancelled."""
    command = _waiting(context)
    status = EXPIRED if context.now >= command["expires_at"] else CANCELLED
    _moved(context, command, status)


FLOW_ACTIONS: list[FlowAction] = [
    FlowAction("devices.release_command", release, "Queue an approved high-risk device command."),
    FlowAction("devices.reject_command", reject, "Reject a high-risk device command."),
    FlowAction(
        "devices.withdraw_command", withdraw, "Cancel or expire a command awaiting approval."
    ),
]
