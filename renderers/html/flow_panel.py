"""A record's flow as a panel beside it: where it stands, the way it has come, and the
transitions this user may take now, each as a small form with its fields and comment.

The detail page and the inbox's task page both show it, through `_flow_panel.html`, which
reads only `panel` and `csrf_token`; so the panel carries its own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.flows.choices import flow_view
from engine.flows.history import ENTRY_KINDS
from engine.flows.machine import CompiledFlow
from engine.flows.versions import flow_of_record
from engine.principal import Principal
from engine.runtime import Runtime
from engine.values import ConversionError, convert
from metamodel.fields import FieldDefinition
from metamodel.flows import State
from metamodel.labels import pick
from renderers.html.values import field_label, show, zone_of

COMMENT = "comment"
LONGEST_CHANGE = 80
NOT_FIELDS = frozenset({"csrf_token", "next", COMMENT})
CATEGORY_BADGES = {"draft": "", "active": "warn", "done": "ok", "rejected": "bad"}
INPUT_TYPES = {
    "integer": "number",
    "decimal": "number",
    "reference": "number",
    "date": "date",
    "datetime": "datetime-local",
    "text": "textarea",
    "json": "textarea",
    "enum": "select",
    "boolean": "select",
}
TEXTS = {
    "zh": {
        "state": "当前状态",
        "progress": "进度",
        "approval": "审批步骤",
        "timeline": "流转记录",
        "no_timeline": "暂无流转记录",
        "actions": "可办理的操作",
        "no_actions": "您当前没有可办理的操作。",
        "comment": "意见",
        "comment_required": "必须填写意见",
        "comment_min": "至少 {n} 个字",
        "choose": "请选择",
        "yes": "是",
        "no": "否",
        "record_number": "填写记录编号",
        "changed": "变更字段",
        "checks": "校验",
        "passed": "通过",
        "failed": "未通过",
        "status_done": "已完成",
        "status_current": "进行中",
        "status_ahead": "未开始",
        "kind_create": "创建",
        "kind_approval": "审批通过",
        "kind_return": "退回上一步",
        "kind_migrate": "流程版本迁移",
        "by_system": "系统",
        "is_required": "此项必填",
        "needs_at_least": "至少需要 {n} 个字",
        "not_valid": "格式不正确：",
        "waiting_for": "待办理人",
    },
    "en": {
        "state": "State",
        "progress": "Progress",
        "approval": "Approval steps",
        "timeline": "Timeline",
        "no_timeline": "Nothing has happened yet",
        "actions": "What you can do",
        "no_actions": "There is nothing for you to do on this record now.",
        "comment": "Comment",
        "comment_required": "a comment is required",
        "comment_min": "at least {n} characters",
        "choose": "Choose",
        "yes": "Yes",
        "no": "No",
        "record_number": "the record's number",
        "changed": "Fields changed",
        "checks": "Checks",
        "passed": "passed",
        "failed": "failed",
        "status_done": "done",
        "status_current": "in progress",
        "status_ahead": "not started",
        "kind_create": "Created",
        "kind_approval": "Approved",
        "kind_return": "Sent back a step",
        "kind_migrate": "Moved to a new flow version",
        "by_system": "system",
        "is_required": "This is required",
        "needs_at_least": "Give at least {n} characters",
        "not_valid": "Not valid:",
        "waiting_for": "Waiting for",
    },
}


@dataclass(frozen=True)
class Step:
    """One state of the flow (or one step of an approval), as done, current or ahead."""

    label: str
    status: str  # done | current | ahead


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class CheckLine:
    name: str
    passed: bool
    reasons: list[str]


@dataclass(frozen=True)
class TimelineRow:
    """One move of the record: who, when (local time), what, from → to, and what changed."""

    actor: str
    at: str
    what: str
    from_label: str
    to_label: str
    step_label: str
    comment: str
    changes: list[Change]
    checks: list[CheckLine]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class TransitionInput:
    """One field a transition asks for: its input type, what the user typed, its error."""

    name: str
    label: str
    input_type: str  # text | textarea | number | date | datetime-local | select
    required: bool
    value: str = ""
    error: str | None = None
    options: list[Choice] = field(default_factory=list)
    step: str | None = None  # the number input's step
    hint: str = ""


@dataclass(frozen=True)
class TransitionForm:
    """A transition the user may take now, as a form POSTing to `action`."""

    name: str
    label: str
    to_label: str
    action: str
    inputs: list[TransitionInput]
    comment_required: bool
    comment_min_length: int
    comment_hint: str
    comment: str = ""
    comment_error: str | None = None
    confirm: str | None = None
    error: str | None = None
    danger: bool = False  # it ends the record's flow as rejected


@dataclass(frozen=True)
class TransitionAttempt:
    """A transition the user tried and the engine refused for what was entered: the typed
    values are kept and each error goes beside its input (`""` for the form as a whole)."""

    name: str
    values: dict[str, str]
    errors: dict[str, str]


@dataclass(frozen=True)
class FlowPanel:
    """A record's place in its flow for one user, in one language (`texts`); `next_url` is
    where each transition form returns to."""

    texts: dict[str, str]
    flow_label: str
    state: str
    state_label: str
    category: str | None
    badge: str
    steps: list[Step]
    approval_steps: list[Step]
    waiting_for: list[str]
    timeline: list[TimelineRow]
    transitions: list[TransitionForm]
    next_url: str


def flow_panel(
    conn: sa.Connection,
    runtime: Runtime,
    entity: CompiledEntity,
    record: dict[str, Any],
    principal: Principal,
    language: str,
    next_url: str,
    attempt: TransitionAttempt | None = None,
) -> FlowPanel | None:
    """The panel of `record` (as `principal` reads it), or None when the entity has no flow.
    With `attempt`, the form of that transition keeps what was typed and shows its errors."""
    if entity.flow is None:
        return None
    texts = TEXTS[language]
    view = flow_view(conn, entity, int(record["id"]), principal, language)
    flow = flow_of_record(conn, entity, record)
    state = view["state"]
    timeline = view["timeline"]
    zone = ZoneInfo(runtime.settings.timezone)
    return FlowPanel(
        texts=texts,
        flow_label=pick(flow.definition.label, language, flow.name),
        state=state,
        state_label=view["state_label"],
        category=view["category"],
        badge=CATEGORY_BADGES.get(view["category"] or "", ""),
        steps=progress(flow, state, timeline, language),
        approval_steps=approval_progress(flow, state, timeline, view["tasks"], language),
        waiting_for=sorted({_candidate(entity, t, language) for t in view["tasks"]}),
        timeline=[
            _timeline_row(entity, flow, entry, texts, language, zone)
            for entry in reversed(timeline)
        ],
        transitions=[
            _transition_form(entity, record, choice, texts, language, attempt)
            for choice in view["transitions"]
        ],
        next_url=next_url,
    )


def progress(
    flow: CompiledFlow, state: str, timeline: list[dict[str, Any]], language: str
) -> list[Step]:
    """The flow's states in definition order. A state is done when the record has been in it
    and it comes before the current one; side states (rejections, later drafts such as
    `returned`) are shown only while the record is in them."""
    visited = {e["to_state"] for e in timeline} | {e["from_state"] for e in timeline}
    names = list(flow.definition.states)
    here = names.index(state) if state in names else len(names)
    steps = []
    for index, (name, definition) in enumerate(flow.definition.states.items()):
        if name != state and _side_state(flow, name, definition):
            continue
        if name == state:
            status = "current"
        elif index < here and name in visited:
            status = "done"
        else:
            status = "ahead"
        steps.append(Step(pick(definition.label, language, name), status))
    return steps


def _side_state(flow: CompiledFlow, name: str, definition: State) -> bool:
    if definition.category == "rejected":
        return True
    return definition.category == "draft" and name != flow.initial


def approval_progress(
    flow: CompiledFlow,
    state: str,
    timeline: list[dict[str, Any]],
    tasks: Iterable[dict[str, Any]],
    language: str,
) -> list[Step]:
    """The steps of the approval the record waits for: open tasks are current; a step is done
    when approved since the record entered the state and not sent back to since."""
    steps = [step for _, step in flow.steps(state)]
    if not steps:
        return []
    order = [step.name for step in steps]
    done: set[str] = set()
    for entry in _since_entry(timeline):
        if entry["kind"] == "approval" and entry["step"]:
            done.add(entry["step"])
        elif entry["kind"] == "return" and entry["step"] in order:
            done -= set(order[order.index(entry["step"]) :])
    current = {task["step"] for task in tasks}
    return [
        Step(
            pick(step.label, language, step.name),
            "current" if step.name in current else "done" if step.name in done else "ahead",
        )
        for step in steps
    ]


def _since_entry(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows after the one that brought the record into its present state."""
    entries = [i for i, e in enumerate(timeline) if e["kind"] in ENTRY_KINDS]
    return timeline[entries[-1] + 1 :] if entries else []


def _candidate(entity: CompiledEntity, task: dict[str, Any], language: str) -> str:
    """Who a task waits for: the user who claimed it or it is assigned to, else its role."""
    user = task["claimed_by"] or task["assignee"]
    if user:
        return str(user)
    role = str(task["candidate_role"] or "")
    apps = entity.catalog.definitions.apps if entity.catalog else {}
    for name in sorted(apps, key=lambda name: name != entity.app):  # the record's app first
        found = apps[name].roles.roles.get(role)
        if found is not None:
            return pick(found.label, language, role)
    return role


def _timeline_row(
    entity: CompiledEntity,
    flow: CompiledFlow,
    entry: dict[str, Any],
    texts: dict[str, str],
    language: str,
    zone: ZoneInfo,
) -> TimelineRow:
    at: datetime = entry["at"]
    return TimelineRow(
        actor=entry["actor"] if entry["actor"] != "system" else texts["by_system"],
        at=at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        what=_what(flow, entry, texts, language),
        from_label=_state_label(flow, entry["from_state"], language),
        to_label=_state_label(flow, entry["to_state"], language),
        step_label=_step_label(flow, entry, language),
        comment=entry["comment"] or "",
        changes=[
            Change(
                field_label(entity, name, language),
                _changed_value(entity, name, before, language),
                _changed_value(entity, name, after, language),
            )
            for name, (before, after) in entry["changes"].items()
        ],
        checks=[
            CheckLine(str(c.get("check", "")), bool(c.get("passed")), list(c.get("reasons", [])))
            for c in entry["checks"]
        ],
    )


def _what(flow: CompiledFlow, entry: dict[str, Any], texts: dict[str, str], language: str) -> str:
    """The transition's label; for an approval or a return, what happened to the step."""
    kind = entry["kind"]
    if kind in ("create", "approval", "return", "migrate"):
        return texts[f"kind_{kind}"]
    transition = flow.transition(entry["transition"] or "")
    name = entry["transition"] or kind
    return pick(transition.label, language, name) if transition else name


def _state_label(flow: CompiledFlow, name: str | None, language: str) -> str:
    if not name:
        return ""
    state = flow.state(name)
    return pick(state.label, language, name) if state else name


def _step_label(flow: CompiledFlow, entry: dict[str, Any], language: str) -> str:
    name = entry["step"]
    if not name:
        return ""
    for state in (entry["from_state"], entry["to_state"]):
        for _, step in flow.steps(state or ""):
            if step.name == name:
                return pick(step.label, language, name)
    return str(name)


def _changed_value(entity: CompiledEntity, name: str, value: Any, language: str) -> str:
    """A value as the timeline shows it; a long one (a check's report) cut short."""
    spec = entity.fields.get(name)
    text = show(spec, value, language, None, zone_of(entity)) if spec else str(value or "")
    return text if len(text) <= LONGEST_CHANGE else text[: LONGEST_CHANGE - 1] + "…"


def _transition_form(
    entity: CompiledEntity,
    record: dict[str, Any],
    choice: dict[str, Any],
    texts: dict[str, str],
    language: str,
    attempt: TransitionAttempt | None,
) -> TransitionForm:
    name = choice["name"]
    tried = attempt if attempt is not None and attempt.name == name else None
    values = tried.values if tried else {}
    errors = tried.errors if tried else {}
    required = set(choice["required"])
    inputs = []
    for field_name in choice["fields"]:
        spec = entity.fields.get(field_name)
        if spec is None:
            continue
        inputs.append(
            transition_input(
                spec,
                field_name,
                field_label(entity, field_name, language),
                field_name in required,
                values.get(field_name, ""),
                errors.get(field_name),
                texts,
                language,
            )
        )
    comment = choice["comment"]
    hints = []
    if comment["required"]:
        hints.append(texts["comment_required"])
    if comment["min_length"]:
        hints.append(texts["comment_min"].format(n=comment["min_length"]))
    target = entity.flow.state(choice["to"]) if entity.flow and choice["to"] else None
    shown = {n for n in choice["fields"] if n in entity.fields} | {COMMENT}
    stray = [message for path, message in errors.items() if path not in shown]
    return TransitionForm(
        name=name,
        label=choice["label"],
        to_label=choice["to_label"] or "",
        action=f"/{entity.app}/{entity.name}/{record['id']}/transitions/{name}",
        inputs=inputs,
        comment_required=comment["required"],
        comment_min_length=comment["min_length"],
        comment_hint="; ".join(hints),
        comment=values.get(COMMENT, ""),
        comment_error=errors.get(COMMENT),
        confirm=choice["confirm"],
        error="; ".join(stray) or None,
        danger=target is not None and target.category == "rejected",
    )


def transition_input(
    spec: FieldDefinition,
    name: str,
    label: str,
    required: bool,
    value: str,
    error: str | None,
    texts: dict[str, str],
    language: str,
) -> TransitionInput:
    """The input for one field of a transition, by the field's type."""
    input_type = INPUT_TYPES.get(spec.type, "text")
    options: list[Choice] = []
    if spec.type == "enum":
        options = [
            Choice(o.value, pick(o.label, language, o.value)) for o in getattr(spec, "options", [])
        ]
    elif spec.type == "boolean":
        options = [Choice("true", texts["yes"]), Choice("false", texts["no"])]
    step = "1" if spec.type in ("integer", "reference") else "any"
    return TransitionInput(
        name=name,
        label=label,
        input_type=input_type,
        required=required,
        value=value,
        error=error,
        options=options,
        step=step if input_type == "number" else None,
        hint=texts["record_number"] if spec.type == "reference" else "",
    )


def read_transition_form(
    entity: CompiledEntity, form: Iterable[tuple[str, Any]], texts: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """A transition form's body for the engine, what was typed, and the values that are not
    of their field's type. An empty input is left out, so the engine reports a required
    field as missing rather than as malformed."""
    body: dict[str, Any] = {}
    typed: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, raw in form:
        if (name in NOT_FIELDS and name != COMMENT) or not isinstance(raw, str):
            continue
        typed[name] = raw
        if name == COMMENT:
            body[COMMENT] = raw
            continue
        spec = entity.fields.get(name)
        if raw.strip() == "":
            continue
        if spec is None:
            body[name] = raw  # the engine names a field the transition does not set
            continue
        try:
            body[name] = convert(spec, raw.strip() if spec.type != "text" else raw)
        except ConversionError as exc:
            problems[name] = f"{texts['not_valid']} {exc}"
    return body, typed, problems


def in_words(message: str, texts: dict[str, str]) -> str:
    """The engine's generic field messages in the panel's language; others as they are."""
    if message == "is required":
        return texts["is_required"]
    found = re.fullmatch(r"needs at least (\d+) characters", message)
    return texts["needs_at_least"].format(n=found.group(1)) if found else message
