"""Actions a transition, a state entry or a timer runs, in the move's transaction: set fields,
run a check, create a related record, notify, render a document, enqueue a job."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from engine.errors import AnjuError, Conflict, PluginFailed, ValidationFailed, field_error
from engine.files import store_file_in
from engine.flows.actions_api import ActionContext
from engine.flows.approvals import recipients_of, role_holders, role_org_path
from engine.flows.checks import CheckInput
from engine.flows.documents import document_context, document_file, render_text
from engine.flows.messages import latest_entry, notification_key, send_messages
from engine.flows.moves import Move
from engine.flows.updates import update_related
from engine.notifications import Notification, queue_notifications
from engine.permissions import RecordAccess
from engine.records.sealing import unseal
from engine.validation import field_annotation, validate_input
from metamodel.flows import (
    Action,
    CallAction,
    CheckAction,
    CreateAction,
    DocumentAction,
    JobAction,
    NotifyAction,
    Recipients,
    SetAction,
    UpdateAction,
)
from metamodel.labels import pick

Path = tuple[Any, ...]


def run_actions(move: Move, path: Path, actions: list[Action]) -> None:
    for index, action in enumerate(actions):
        where = path + (index,)
        match action:
            case SetAction():
                _set(move, where, action)
            case CheckAction():
                _check(move, action)
            case CreateAction():
                _create(move, where, action)
            case UpdateAction():
                update_related(move, where, action)
            case NotifyAction():
                notify(move, where, action)
            case DocumentAction():
                _document(move, where, action)
            case JobAction():
                _job(move, where, action)
            case CallAction():
                _call(move, where, action)


def _set(move: Move, path: Path, action: SetAction) -> None:
    env = move.environment()
    values = {}
    for name in action.set:
        expression = move.flow.expression(*path, "set", name)
        assert expression is not None, "flow expressions compile with their definitions"
        values[name] = fit_value(move, name, expression.evaluate(move.record, env))
    for name, value in values.items():
        move.set(name, value)


def fit_value(move: Move, name: str, value: Any) -> Any:
    """A value for field `name`, checked against its type; None clears an optional field."""
    spec = move.entity.fields[name]
    if value is None:
        if spec.required:
            message = "a flow action cleared a required field"
            raise ValidationFailed(message, [field_error(name, "is required")])
        return None
    try:
        return TypeAdapter(field_annotation(spec)).validate_python(value)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise ValidationFailed(
            "a flow action gave a value the field does not take", [field_error(name, problem)]
        ) from None


def _check(move: Move, action: CheckAction) -> None:
    extensions = move.entity.catalog.options.extensions if move.entity.catalog else None
    registered = extensions.checks.get(action.check) if extensions else None
    if registered is None:
        raise Conflict(f"the check {action.check!r} is not installed; ask an administrator")
    env = move.environment()

    def related(path: str, field: str, record_id: int) -> list[Any]:
        return related_records(move, path, field, record_id)

    def find(path: str, field: str, value: Any) -> list[Any]:
        return ActionContext(move, {}, action.check).find(path, **{field: value})

    given = CheckInput(dict(move.record), env.lookup, related, move.flow.params, env.today, find)
    try:
        result = registered.run(given)
    except Exception as exc:  # a plugin's failure must not become a stack trace
        raise PluginFailed(registered.plugin, f"check {action.check!r}", exc) from exc
    entry = registered.decision(result, move.flow.params, env.today, move.flow.version)
    move.checks[action.check] = result.passed
    move.check_results.append(entry)
    if action.store is not None:
        move.set(action.store, entry)
    if action.block and not result.passed:
        details = [field_error(f"checks.{action.check}", reason) for reason in result.reasons]
        raise ValidationFailed(f"the check {action.check!r} did not pass", details)


def related_records(move: Move, path: str, field: str, record_id: int) -> list[dict[str, Any]]:
    """The records of entity `path` whose reference `field` points at `record_id`."""
    catalog = move.entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    target = catalog.by_path(path)
    rows = move.conn.execute(
        target.table.select().where(target.table.c[field] == record_id).order_by(target.table.c.id)
    ).mappings()
    return [unseal(target, dict(row)) for row in rows]


def _create(move: Move, path: Path, action: CreateAction) -> None:
    from engine.records.writing import insert_record  # writing starts flows: import late

    catalog = move.entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    resolved = catalog.definitions.resolve(move.entity.app, action.create)
    assert resolved is not None, "created entities are checked with the flow"
    target = catalog.entities[(resolved[0], resolved[1].name)]
    env = move.environment()
    guard = move.flow.expression(*path, "when")
    if guard is not None and not guard.test(move.record, env):
        return
    body = {}
    for name in action.values:
        expression = move.flow.expression(*path, "values", name)
        assert expression is not None, "flow expressions compile with their definitions"
        body[name] = expression.evaluate(move.record, env)
    values, sent = validate_input(target.create_model, {k: _plain(v) for k, v in body.items()})
    on_behalf = replace(move.actor, roles=("system",), assignments=())
    access = RecordAccess(target, on_behalf, unrestricted=True)
    insert_record(move.conn, target, values, sent, on_behalf, access, move.language)


def _plain(value: Any) -> Any:
    """A value as a client would send it (dates as ISO text), for input models and job args."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def notify(move: Move, path: Path, action: NotifyAction) -> None:
    """Tell the recipients on each channel, in the mover's language: in-app messages at once;
    SMS, e-mail and webhooks queued in the move's transaction, so nothing is sent for a move
    that is refused, each keyed by the record's timeline entry, the action, the channel and
    the recipient, so each is queued once."""
    recipients = resolve_recipients(move, action.notify, path + ("notify",))
    if not recipients:
        return
    context = document_context(move.entity, move.record, move.flow.params, move.language, move.now)
    texts = {channel: _notify_text(move, action, channel, context) for channel in action.channels}
    if "in_app" in texts:
        about = (move.entity.app, move.entity.name, move.record_id)
        send_messages(move.conn, recipients, *texts["in_app"], "notice", move.now, about)
    outside = {channel: text for channel, text in texts.items() if channel != "in_app"}
    if not outside:
        return
    runtime = move.services.runtime
    if runtime is None:
        raise RuntimeError("no outbox: flows send SMS, e-mail and webhooks inside a runtime")
    entry = latest_entry(move.conn, move.entity.app, move.entity.name, move.record_id)
    notes = [
        Notification(
            channel,
            recipient,
            subject,
            body,
            ("flow", entry),
            notification_key(entry, path, channel, recipient),
        )
        for channel, (subject, body) in outside.items()
        for recipient in dict.fromkeys(recipients)
    ]
    queue_notifications(move.conn, runtime, notes)


def _notify_text(
    move: Move, action: NotifyAction, channel: str, context: dict[str, Any]
) -> tuple[str, str]:
    """The title and body `channel` sends: the action's own, or its message template's."""
    title, body = action.title, action.message
    if action.template is not None:
        catalog = move.entity.catalog
        assert catalog is not None, "entities belong to a catalog"
        template = catalog.definitions.apps[move.flow.app].messages[action.template]
        title, body = template.channel_text(channel)
    rendered = render_text(pick(title, move.language), context)
    return rendered, render_text(pick(body, move.language), context) if body else ""


def resolve_recipients(move: Move, recipients: Recipients, path: Path) -> list[str]:
    """The usernames a notification goes to; nobody for a role whose `org` names none."""
    if recipients.role is not None:
        org_path = role_org_path(move, recipients, path)
        return [] if org_path is False else role_holders(move.conn, recipients.role, org_path)
    return recipients_of(move, recipients, path)


def _document(move: Move, path: Path, action: DocumentAction) -> None:
    catalog = move.entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    template = catalog.definitions.apps[move.flow.app].templates[action.document]
    context = document_context(move.entity, move.record, move.flow.params, move.language, move.now)
    filename = f"{action.document}-{move.record_id}.{template.format}"
    expression = move.flow.expression(*path, "filename")
    if expression is not None:
        filename = str(expression.evaluate(move.record, move.environment()) or filename)
    try:
        document = document_file(template, context, filename)
    except AnjuError:  # PDF output unavailable on this server (503): said as it is
        raise
    except Exception as exc:  # a template reading a missing value: say which, not a trace
        raise Conflict(f"the document {action.document!r} could not be rendered: {exc}") from exc
    stored = store_file_in(
        move.conn,
        move.services.files_dir,
        document.name,
        document.content_type,
        document.data,
        move.actor,
    )
    move.set(action.store, stored["id"])


def _job(move: Move, path: Path, action: JobAction) -> None:
    env = move.environment()
    args = {}
    for name in action.args:
        expression = move.flow.expression(*path, "args", name)
        assert expression is not None, "flow expressions compile with their definitions"
        args[name] = _plain(expression.evaluate(move.record, env))
    key = None
    key_expression = move.flow.expression(*path, "key")
    if key_expression is not None:
        key = key_expression.evaluate(move.record, env)
    move.jobs.append((action.job, args, key))


def _call(move: Move, path: Path, action: CallAction) -> None:
    extensions = move.entity.catalog.options.extensions if move.entity.catalog else None
    registered = extensions.actions.get(action.call) if extensions else None
    if registered is None:
        raise Conflict(f"the action {action.call!r} is not installed; ask an administrator")
    env = move.environment()
    args = {}
    for name in action.with_:
        expression = move.flow.expression(*path, "with", name)
        assert expression is not None, "flow expressions compile with their definitions"
        args[name] = expression.evaluate(move.record, env)
    try:
        registered.run(ActionContext(move, args, action.call))
    except AnjuError:
        raise
    except Exception as exc:
        raise PluginFailed(registered.plugin, f"action {action.call!r}", exc) from exc
