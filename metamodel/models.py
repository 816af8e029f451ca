"""Definition models: App, Entity, Form and Roles, each one YAML/JSON file in an app folder."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from metamodel.fields import Expression, FieldDefinition, Name, Strict
from metamodel.labels import Labels

EXPRESSION_WORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "where",
        "true",
        "false",
        "null",
        "today",
        "now",
        "user",
        "input",
        "params",
        "checks",
    }
)  # words the expression language reads itself, so no field may take them
RESERVED_NAMES = frozenset(
    {
        "api",
        "meta",
        "auth",
        "studio",
        "audit",
        "inbox",
        "static",
        "plugins",
        "public",
        "checks",
        "reports",
        "dashboards",
        "alerts",
        "notifications",
        "iot",
        "-",
    }
)
SYSTEM_COLUMNS = (
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "row_version",
    "org_id",
    "def_version",
    "state",
    "flow_version",
)


class App(Strict):
    """`app.yaml`: one housing app, such as public rental housing."""

    name: Name
    label: Labels = {}
    description: Labels = {}
    order: int = 100


class Index(Strict):
    fields: Annotated[list[str], Field(min_length=1)]
    unique: bool = False


class Relation(Strict):
    """A to-many relation: the records of `entity` whose reference `field` points here."""

    entity: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$")]
    field: Name
    label: Labels = {}


class Rule(Strict):
    """A validation rule: when `when` holds, the record is refused with `message`."""

    when: Expression
    message: Annotated[Labels, Field(min_length=1)]
    field: str | None = None  # the field the message belongs to, if one


PLATFORM_ROLES = ("admin", "auditor", "configurator")  # known to every app without roles.yaml
ACTIONS = ("read", "create", "update", "delete", "export", "unmask")
SCOPE_WORDS = ("all", "org", "org_subtree", "own")
FieldAccess = Literal["hidden", "masked", "readonly"]


class Grant(Strict):
    """What one role may do with an entity's records, on which records, to which fields.

    `scope` is `all`, `org` (records of the role's organisation), `org_subtree` (and of the
    organisations under it), `own` (records the user created) or an expression; a list of
    them grants the records any one of them allows.
    """

    actions: Annotated[list[Name], Field(min_length=1)]
    scope: Annotated[str, Field(min_length=1)] | Annotated[list[str], Field(min_length=1)] = "all"
    fields: dict[Name, FieldAccess] = {}

    @property
    def scopes(self) -> list[str]:
        return [self.scope] if isinstance(self.scope, str) else list(self.scope)


class Hierarchy(Strict):
    """Records that form a tree by levels, such as regions (city → district → street →
    community): `parent` is a reference field to the entity itself, `level` an enum field
    whose options are the levels from the top down. A report dimension on a reference to
    such an entity can lift each record to an ancestor of a given level (`level: district`).
    """

    parent: Name
    level: Name


class Entity(Strict):
    """`entities/<name>.yaml`: a kind of record, served as one SQL table and one API resource."""

    name: Name
    label: Labels = {}
    description: Labels = {}
    fields: Annotated[dict[Name, FieldDefinition], Field(min_length=1)]
    indexes: list[Index] = []
    title_field: str | None = None
    search_fields: list[str] = []
    default_sort: list[str] = []
    list_fields: list[str] = []
    """The columns of the entity's list screen, in order; without them, the screen picks the
    title field and the first few short fields."""
    relations: dict[Name, Relation] = {}
    rules: list[Rule] = []
    permissions: dict[Name, Grant] = {}
    """role → grant; roles without a grant (other than admin) see nothing of the entity."""
    org: Expression | None = None
    """An expression giving the code of the organisation a record belongs to (its `org_id`);
    without it, a record belongs to the organisation of the user who created it."""
    hierarchy: Hierarchy | None = None
    """The tree the records form (see `Hierarchy`), for report dimensions with `level`."""


class FormSection(Strict):
    title: Labels = {}
    columns: int = Field(default=1, ge=1, le=4)
    fields: Annotated[list[str], Field(min_length=1)]
    visible: Expression | None = None


class FormField(Strict):
    """Conditions re-evaluated as the user fills the form."""

    visible: Expression | None = None
    readonly: Expression | None = None
    required: Expression | None = None


class Form(Strict):
    """`forms/<name>.yaml`: how an entity's fields are laid out on a screen."""

    name: Name
    entity: str
    label: Labels = {}
    sections: Annotated[list[FormSection], Field(min_length=1)]
    fields: dict[Name, FormField] = {}


class Role(Strict):
    label: Labels = {}
    description: Labels = {}


class Roles(Strict):
    """`roles.yaml`: the roles an app knows; entities grant them actions in `permissions`."""

    name: Literal["roles"] = "roles"
    roles: dict[Name, Role] = {}


class Holiday(Strict):
    start: date
    end: date | None = None  # the last day off, when the holiday spans several
    label: Labels = {}


class Calendar(Strict):
    """`calendars/<name>.yaml`: working days for `working_days_between` and timers; the
    calendar named `default` is the one expressions use."""

    name: Name
    label: Labels = {}
    weekend: list[Annotated[int, Field(ge=1, le=7)]] = [6, 7]  # ISO weekdays
    holidays: list[Holiday] = []
    workdays: list[date] = []  # weekend days worked in exchange for a holiday (调休)
