"""What an expression can see: the entity's fields, its relations, and the context's variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.expressions.typed import Relation
from engine.expressions.types import DATE, DATETIME, INTEGER, STRING, Type
from metamodel.definitions import Definitions
from metamodel.fields import FieldDefinition, ReferenceField
from metamodel.models import Entity

SYSTEM_FIELD_TYPES: dict[str, Type] = {
    "id": INTEGER,
    "created_at": DATETIME,
    "created_by": STRING,
    "updated_at": DATETIME,
    "updated_by": STRING,
    "row_version": INTEGER,
    "org_id": Type("integer"),
}
FLOW_FIELD_TYPES: dict[str, Type] = {"state": STRING, "flow_version": INTEGER}
USER = {
    "username": STRING,
    "roles": Type("list", nullable=False, item=STRING),
    "org_id": Type("integer"),
    "org_code": Type("string"),
}
CLOCK: dict[str, Type | Mapping[str, Type]] = {"today": DATE, "now": DATETIME}


@dataclass(frozen=True)
class ExpressionContext:
    """Where an expression is used, which decides what it may read and where it runs.

    `variables` maps a name to its type, or to the types of its attributes (`user.org_id`).
    """

    name: str
    variables: Mapping[str, Type | Mapping[str, Type]] = field(default_factory=dict)
    aggregates: bool = True
    references: bool = True
    sql_only: bool = False

    def with_variables(self, **variables: Type | Mapping[str, Type]) -> ExpressionContext:
        return ExpressionContext(
            self.name,
            {**self.variables, **variables},
            self.aggregates,
            self.references,
            self.sql_only,
        )


COMPUTED = ExpressionContext("a computed field", {**CLOCK, "user": USER})
VIRTUAL = ExpressionContext("a virtual field", CLOCK, sql_only=True)
RULE = ExpressionContext("a validation rule", {**CLOCK, "user": USER})
FORM = ExpressionContext("a form condition", {**CLOCK, "user": USER}, aggregates=False)
DEFAULT = ExpressionContext("a default", {**CLOCK, "user": USER}, aggregates=False)
FILTER = ExpressionContext("a filter", {**CLOCK, "user": USER}, sql_only=True)
SCOPE = ExpressionContext("a permission scope", {**CLOCK, "user": USER}, sql_only=True)
ORG = ExpressionContext("an organisation expression", CLOCK, sql_only=True)
FLOW = ExpressionContext("a flow", {**CLOCK, "user": USER})
VARIABLE_NAMES = frozenset({"today", "now", "user", "input", "params", "checks"})


@dataclass(frozen=True)
class Scope:
    """An entity of a set of definitions, seen from one context."""

    definitions: Definitions
    app: str
    entity: Entity
    context: ExpressionContext
    calendar: str | None = None  # "app.name" of the working-day calendar, if any

    @property
    def path(self) -> str:
        return f"{self.app}.{self.entity.name}"

    def field(self, name: str) -> FieldDefinition | None:
        return self.entity.fields.get(name)

    def system_fields(self) -> dict[str, Type]:
        """The system columns: `state` and `flow_version` too when a flow is attached."""
        if self.definitions.flow_of(self.app, self.entity.name) is None:
            return SYSTEM_FIELD_TYPES
        return {**SYSTEM_FIELD_TYPES, **FLOW_FIELD_TYPES}

    def field_names(self) -> list[str]:
        return [*self.entity.fields, *self.system_fields()]

    def follow(self, spec: ReferenceField) -> Scope:
        """The scope of the entity a reference field points at."""
        resolved = self.definitions.resolve(self.app, spec.entity)
        assert resolved is not None, "references are checked before expressions"
        app, entity = resolved
        return Scope(self.definitions, app, entity, self.context, self.calendar)

    def relations(self) -> dict[str, Relation]:
        """To-many relations: declared ones, then each same-app entity that references this
        one through exactly one field, named after that entity."""
        found: dict[str, Relation] = {}
        for name, declared in self.entity.relations.items():
            resolved = self.definitions.resolve(self.app, declared.entity)
            if resolved is not None:
                found[name] = Relation(name, f"{resolved[0]}.{resolved[1].name}", declared.field)
        by_entity: dict[str, list[str]] = {}
        for app, entity_name, field_name in self.definitions.referrer_index.get(
            (self.app, self.entity.name), ()
        ):
            if app == self.app:
                by_entity.setdefault(entity_name, []).append(field_name)
        for entity_name, fields in by_entity.items():
            if len(fields) == 1 and entity_name not in found:
                found[entity_name] = Relation(entity_name, f"{self.app}.{entity_name}", fields[0])
        return found

    def related(self, relation: Relation, context: ExpressionContext) -> Scope:
        app, _, name = relation.entity.partition(".")
        return Scope(
            self.definitions,
            app,
            self.definitions.apps[app].entities[name],
            context,
            self.calendar,
        )
