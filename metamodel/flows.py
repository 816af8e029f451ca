"""Flow definitions: `flows/<name>.yaml`, a state machine attached to one entity.

A flow names the states a record passes through, the transitions between them (who may take
each, on which condition, with which fields and comment), the approvals a state waits for,
the timers that move records on by themselves, and the actions run on the way. See
docs/flows.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from metamodel.fields import Expression, Name, Strict
from metamodel.labels import Labels
from metamodel.messages import Channel
from metamodel.models import Rule

Category = Literal["draft", "active", "done", "rejected"]
TimeUnit = Literal["days", "working_days", "hours"]
Trigger = Literal["user", "auto", "timer"]
Count = Annotated[int, Field(ge=0, le=3660)] | Expression
"""A number of days or hours: a literal, or an expression such as `params.publicity_days`."""

ORG_WITHOUT_ROLE = "org says where a role is looked for; give it with role"


class Recipients(Strict):
    """Who a task or a message goes to; give exactly one of role, field and expression.

    `role`: the users holding the role in the record's organisation or one above it (the
    users whose `org_subtree` contains the record); with `org`, in the organisation whose
    code that expression gives (the operating enterprise of a lease's project:
    `housing_unit.project.enterprise.uscc`) or one above it — a code naming no organisation,
    or null, reaches nobody. `field`: a string field of the record holding a username.
    `expression`: a username (or a list of usernames)."""

    role: Name | None = None
    org: Expression | None = None
    """Only with `role`: the code of the organisation the role is looked for in."""
    field: Name | None = None
    expression: Expression | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Recipients:
        given = [n for n in ("role", "field", "expression") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of role, field and expression")
        return self


class SetAction(Strict):
    """Set fields of the record from expressions: `{set: {qualified_on: today}}`."""

    set: Annotated[dict[Name, Expression], Field(min_length=1)]


class CheckAction(Strict):
    """Run a registered check (a plugin); its result is stored in the history and, with
    `store`, in a json field of the record. A failed check with `block` refuses the
    transition with the check's reasons; later guards read it as `checks.<name>`."""

    check: Name
    store: Name | None = None
    block: bool = False


class CreateAction(Strict):
    """Create a related record: `{create: lease_contract, values: {household: household}}`;
    with `when`, only for records where the condition holds."""

    create: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$")]
    values: dict[Name, Expression] = {}
    when: Expression | None = None


class UpdateAction(Strict):
    """Change the record a reference (or a chain of them) points at:
    `{update: lease_contract.housing_unit, values: {status: '"vacant"'}}`. The values are
    expressions over the moving record; `when` limits the action to records where it holds.
    A reference that is empty when the action runs refuses the move (409)."""

    update: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]
    values: Annotated[dict[Name, Expression], Field(min_length=1)]
    when: Expression | None = None


class NotifyAction(Strict):
    """Tell recipients on each of `channels`: a `title` and `message` of its own (sandboxed
    Jinja2 with `{{ record.field }}`), or a `template` of the app's `messages/`."""

    notify: Recipients
    title: Labels = {}
    message: Labels = {}
    template: Name | None = None
    channels: Annotated[list[Channel], Field(min_length=1)] = ["in_app"]
    """`in_app`, `sms`, `email`, `webhook`; title or template, not both (checked at load)."""


class DocumentAction(Strict):
    """Render a `templates/<name>.yaml` document for the record into a file field."""

    document: Name
    store: Name
    filename: Expression | None = None


class JobAction(Strict):
    """Enqueue a registered background job once the transition commits."""

    job: Annotated[str, Field(min_length=1, max_length=100)]
    args: dict[Name, Expression] = {}
    key: Expression | None = None


class CallAction(Strict):
    """Run an action a plugin registers (`anju_flow_actions`) with arguments from expressions:
    `{call: lottery.draw, with: {round: id}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=100)]
    with_: Annotated[dict[Name, Expression], Field(alias="with")] = {}


Action = (
    SetAction
    | CheckAction
    | CreateAction
    | UpdateAction
    | NotifyAction
    | DocumentAction
    | JobAction
    | CallAction
)


class Timer(Strict):
    """After `after` days (or working days, or hours) in the state, take `transition`; a timer
    with `actions` and no transition is a reminder, such as an SLA warning."""

    name: Name
    after: Count
    unit: TimeUnit = "days"
    transition: Name | None = None
    actions: list[Action] = []

    @model_validator(mode="after")
    def _does_something(self) -> Timer:
        if self.transition is None and not self.actions:
            raise ValueError("a timer needs a transition, actions, or both")
        return self


class Step(Strict):
    """One step of an approval: who decides; `when` turns it off (false skips the step)."""

    name: Name
    label: Labels = {}
    assignee: Recipients
    mode: Literal["single", "any", "all"] = "single"
    """single: one shared task, claimed by one candidate; any: a task per candidate, the first
    decision counts; all: a task per candidate, every one must approve."""
    when: Expression | None = None
    exclude_submitter: bool = False
    """The two-person rule: the user who created the record may not decide this step, even
    holding the assignee's role (refused with 403, and not offered in their inbox)."""


class Approval(Strict):
    """The steps a state waits for; `sequential` runs them in order, `parallel` all at once."""

    steps: Annotated[list[Step], Field(min_length=1)]
    order: Literal["sequential", "parallel"] = "sequential"


class State(Strict):
    label: Labels = {}
    category: Category = "active"
    editable: Literal["all"] | list[Name] = []
    """Fields that may be changed by ordinary updates while a record is in this state."""
    on_enter: list[Action] = []
    approval: Approval | None = None
    timers: list[Timer] = []


class Comment(Strict):
    required: bool = False
    min_length: int = Field(default=0, ge=0, le=2000)


class Transition(Strict):
    """From one or more states to another. `trigger: user` transitions are taken through the
    API by the `roles` listed (within each role's data scope); `auto` ones right after the
    record enters `from` when `when` holds; `timer` ones only by a timer."""

    label: Labels = {}
    from_: Annotated[Name | list[Name], Field(alias="from")]
    to: Name | None = None
    trigger: Trigger = "user"
    roles: list[Name] = []
    submitter: bool = False  # only the user who created the record (a withdrawal)
    approve: bool = False  # records the actor's approval; leaves `from` once the approval is done
    return_step: bool = False  # sends an approval back to its previous step
    when: Expression | None = None
    fields: list[Name] = []  # fields the request body may set
    required: list[Name] = []
    rules: list[Rule] = []
    comment: Comment = Comment()
    confirm: Labels = {}
    actions: list[Action] = []

    model_config = Strict.model_config | {"populate_by_name": True}

    @property
    def sources(self) -> list[str]:
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)

    @model_validator(mode="after")
    def _goes_somewhere(self) -> Transition:
        if self.to is None and not self.return_step:
            raise ValueError("a transition needs `to` (or `return_step: true`)")
        return self


class Flow(Strict):
    """`flows/<name>.yaml`: the state machine of one entity's records."""

    name: Name
    entity: str
    label: Labels = {}
    description: Labels = {}
    initial: Name
    params: dict[Name, bool | int | str] = {}
    """Values the flow's expressions read as `params.<name>`: periods, switches, limits."""
    states: Annotated[dict[Name, State], Field(min_length=1)]
    transitions: dict[Name, Transition] = {}
    migrate: dict[Name, Name] = {}
    """A state map for records in states this version removes: old state → new state."""
