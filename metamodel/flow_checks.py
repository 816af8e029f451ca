"""Semantic checks of flows, document templates and message templates: every state,
transition, field, role and template a flow names exists and fits where it is used."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from metamodel.definitions import Definitions, Key
from metamodel.errors import DefinitionError
from metamodel.fields import FileField, JsonField, ReferenceField, StringField, TextField
from metamodel.flows import (
    ORG_WITHOUT_ROLE,
    Action,
    CheckAction,
    CreateAction,
    DocumentAction,
    Flow,
    NotifyAction,
    Recipients,
    SetAction,
    UpdateAction,
)
from metamodel.messages import message_problems
from metamodel.models import PLATFORM_ROLES, Entity
from metamodel.templates import Template

Report = Callable[[Key, tuple[Any, ...], str], DefinitionError]
Problems = list[tuple[tuple[Any, ...], str]]


def check_flows(definitions: Definitions, report: Report) -> list[DefinitionError]:
    errors: list[DefinitionError] = []
    attached: dict[tuple[str, str], str] = {}
    for app_name, flow in definitions.flows():
        key = (app_name, "flow", flow.name)
        resolved = definitions.resolve(app_name, flow.entity)
        if resolved is None:
            errors.append(report(key, ("entity",), f"unknown entity {flow.entity!r}"))
            continue
        target = (resolved[0], resolved[1].name)
        if target in attached:
            message = f"{flow.entity!r} already has the flow {attached[target]!r}"
            errors.append(report(key, ("entity",), message))
        attached.setdefault(target, flow.name)
        checker = _FlowChecker(definitions, app_name, flow, resolved[0], resolved[1])
        errors.extend(report(key, path, message) for path, message in checker.problems())
    for app_name, bundle in definitions.apps.items():
        for template in bundle.templates.values():
            key = (app_name, "template", template.name)
            errors.extend(report(key, path, message) for path, message in _template(template))
        for message_template in bundle.messages.values():
            key = (app_name, "message", message_template.name)
            found = message_problems(message_template)
            errors.extend(report(key, path, message) for path, message in found)
    return errors


def reference_target(
    definitions: Definitions, app: str, entity: Entity, path: str
) -> tuple[str, Entity] | str:
    """The entity at the end of a chain of references from `entity`
    (`lease_contract.housing_unit`), as (app, entity); or, as text, why there is none."""
    for name in path.split("."):
        spec = entity.fields.get(name)
        if not isinstance(spec, ReferenceField):
            return f"{name!r} is not a reference field of {entity.name!r}"
        resolved = definitions.resolve(app, spec.entity)
        if resolved is None:
            return f"{name!r} points at the unknown entity {spec.entity!r}"
        app, entity = resolved
    return app, entity


def _template(template: Template) -> Problems:
    try:
        SandboxedEnvironment(autoescape=True).parse(template.body)
    except TemplateSyntaxError as exc:
        return [(("body",), f"template line {exc.lineno}: {exc.message}")]
    return []


class _FlowChecker:
    def __init__(
        self, definitions: Definitions, app: str, flow: Flow, entity_app: str, entity: Entity
    ) -> None:
        self.definitions = definitions
        self.app = app
        self.flow = flow
        self.entity_app = entity_app
        self.entity = entity
        self.found: Problems = []

    def problem(self, path: tuple[Any, ...], message: str) -> None:
        self.found.append((path, message))

    def problems(self) -> Problems:
        flow = self.flow
        if flow.initial not in flow.states:
            self.problem(("initial",), f"unknown state {flow.initial!r}")
        for name, state in flow.states.items():
            where = ("states", name)
            if isinstance(state.editable, list):
                for i, field in enumerate(state.editable):
                    self.writable_field(where + ("editable", i), field)
            self.actions(where + ("on_enter",), state.on_enter)
            if state.approval is not None:
                seen: set[str] = set()
                for i, step in enumerate(state.approval.steps):
                    if step.name in seen:
                        self.problem(where + ("approval", "steps", i, "name"), "step named twice")
                    seen.add(step.name)
                    self.recipients(where + ("approval", "steps", i, "assignee"), step.assignee)
            timer_names: set[str] = set()
            for i, timer in enumerate(state.timers):
                path = where + ("timers", i)
                if timer.name in timer_names:
                    self.problem(path + ("name",), f"timer {timer.name!r} is named twice")
                timer_names.add(timer.name)
                if timer.transition is not None:
                    transition = flow.transitions.get(timer.transition)
                    if transition is None:
                        self.problem(
                            path + ("transition",), f"unknown transition {timer.transition!r}"
                        )
                    elif name not in transition.sources:
                        message = f"transition {timer.transition!r} does not leave {name!r}"
                        self.problem(path + ("transition",), message)
                self.actions(path + ("actions",), timer.actions)
        for name, transition in flow.transitions.items():
            self.transition(name, transition)
        for old, new in flow.migrate.items():
            if old in flow.states:
                self.problem(("migrate", old), f"{old!r} is still a state; map only removed ones")
            if new not in flow.states:
                self.problem(("migrate", old), f"unknown state {new!r}")
        return self.found

    def transition(self, name: str, transition: Any) -> None:
        flow = self.flow
        where = ("transitions", name)
        for i, source in enumerate(transition.sources):
            if source not in flow.states:
                path = where + ("from",) + ((i,) if isinstance(transition.from_, list) else ())
                self.problem(path, f"unknown state {source!r}")
            elif (transition.approve or transition.return_step) and (
                flow.states[source].approval is None
            ):
                self.problem(where + ("from",), f"state {source!r} has no approval to decide")
        if transition.to is not None and transition.to not in flow.states:
            self.problem(where + ("to",), f"unknown state {transition.to!r}")
        if transition.trigger == "user":
            by_task = all(
                flow.states[s].approval is not None for s in transition.sources if s in flow.states
            )
            if not (transition.roles or transition.submitter or by_task):
                message = "say who may take it: roles, or submitter (or leave an approval state)"
                self.problem(where, message)
        elif transition.roles or transition.submitter or transition.fields:
            message = f"a {transition.trigger} transition is taken by the platform, not users"
            self.problem(where + ("trigger",), message)
        for i, role in enumerate(transition.roles):
            self.role(where + ("roles", i), role)
        for key in ("fields", "required"):
            for i, field in enumerate(getattr(transition, key)):
                self.writable_field(where + (key, i), field)
        for i, rule in enumerate(transition.rules):
            if rule.field is not None and rule.field not in self.entity.fields:
                self.problem(where + ("rules", i, "field"), f"unknown field {rule.field!r}")
        self.actions(where + ("actions",), transition.actions)

    def role(self, path: tuple[Any, ...], role: str) -> None:
        """A role taking a transition: declared, and able to read the records it moves."""
        if not self.role_exists(path, role):
            return
        grant = self.entity.permissions.get(role)
        if role != "admin" and (grant is None or "read" not in grant.actions):
            message = f"role {role!r} cannot read {self.entity.name} records; grant it read"
            self.problem(path, message)

    def writable_field(
        self, path: tuple[Any, ...], name: str, entity: Entity | None = None
    ) -> None:
        entity = entity or self.entity
        spec = entity.fields.get(name)
        if spec is None:
            self.problem(path, f"{entity.name!r} has no field {name!r}")
        elif spec.computed is not None:
            self.problem(path, f"{name!r} is computed; the platform sets it")

    def recipients(self, path: tuple[Any, ...], recipients: Recipients) -> None:
        if recipients.role is not None:
            self.role_exists(path + ("role",), recipients.role)
        elif recipients.org is not None:
            self.problem(path + ("org",), ORG_WITHOUT_ROLE)
        if recipients.field is not None:
            spec = self.entity.fields.get(recipients.field)
            if not isinstance(spec, StringField | TextField):
                message = f"{recipients.field!r} is not a text field of {self.entity.name!r}"
                self.problem(path + ("field",), message)

    def role_exists(self, path: tuple[Any, ...], role: str) -> bool:
        known = set(PLATFORM_ROLES)
        for bundle in self.definitions.apps.values():
            known.update(bundle.roles.roles)
        if role not in known:
            self.problem(path, f"unknown role {role!r}; declare it in a roles.yaml")
        return role in known

    def actions(self, path: tuple[Any, ...], actions: list[Action]) -> None:
        for i, action in enumerate(actions):
            where = path + (i,)
            if isinstance(action, SetAction):
                for name in action.set:
                    self.writable_field(where + ("set", name), name)
            elif isinstance(action, CheckAction) and action.store is not None:
                if not isinstance(self.entity.fields.get(action.store), JsonField):
                    message = f"{action.store!r} is not a json field of {self.entity.name!r}"
                    self.problem(where + ("store",), message)
            elif isinstance(action, CreateAction):
                resolved = self.definitions.resolve(self.entity_app, action.create)
                if resolved is None:
                    self.problem(where + ("create",), f"unknown entity {action.create!r}")
                    continue
                for name in action.values:
                    self.writable_field(where + ("values", name), name, resolved[1])
            elif isinstance(action, UpdateAction):
                target = reference_target(
                    self.definitions, self.entity_app, self.entity, action.update
                )
                if isinstance(target, str):
                    self.problem(where + ("update",), target)
                    continue
                for name in action.values:
                    self.writable_field(where + ("values", name), name, target[1])
            elif isinstance(action, DocumentAction):
                if action.document not in self.definitions.apps[self.app].templates:
                    message = f"no template {action.document!r} in {self.app}/templates/"
                    self.problem(where + ("document",), message)
                if not isinstance(self.entity.fields.get(action.store), FileField):
                    message = f"{action.store!r} is not a file field of {self.entity.name!r}"
                    self.problem(where + ("store",), message)
            elif isinstance(action, NotifyAction):
                self.notify(where, action)

    def notify(self, path: tuple[Any, ...], action: NotifyAction) -> None:
        """Recipients who exist, a title or a message template of the flow's app (one of the
        two), channels once each."""
        self.recipients(path + ("notify",), action.notify)
        if (action.template is None) == (not action.title):
            self.problem(path, "give title (and message), or template")
        elif action.template is not None and action.message:
            self.problem(path + ("message",), "the template says the message; drop it here")
        messages = self.definitions.apps[self.app].messages
        if action.template is not None and action.template not in messages:
            message = f"no message template {action.template!r} in {self.app}/messages/"
            self.problem(path + ("template",), message)
        if len(set(action.channels)) != len(action.channels):
            self.problem(path + ("channels",), "a channel is listed twice")
