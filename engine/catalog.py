"""The catalog: one definition version compiled into tables, input models, relations and
expressions.

A catalog is immutable; publishing builds a new one and swaps it in, so a request keeps
the catalog it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter

from engine.expressions import FunctionRegistry, SqlContext, builtin_functions
from engine.expressions.calendar import WorkingCalendar
from engine.expressions.definitions import EntityExpressions, FormExpressions, compile_definitions
from engine.extensions import Extensions
from engine.flows.machine import CompiledFlow
from engine.protection import Protector
from engine.tables import BLIND_INDEX_SUFFIX, build_table
from engine.validation import RecordInput, build_input_models, field_annotation
from metamodel.definitions import Definitions
from metamodel.fields import FieldDefinition, ReferenceField, StringField, TextField
from metamodel.models import SYSTEM_COLUMNS, Entity

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class CatalogOptions:
    """What an app instance adds to its definitions: its functions and its time zone."""

    functions: FunctionRegistry = field(default_factory=builtin_functions)
    timezone: str = DEFAULT_TIMEZONE
    audit_hash: str = "sha256"  # the audit chain's hash: sha256, or sm3
    protector: Protector | None = None  # encrypts sensitive fields; from the settings' keys
    services: Any = None  # engine.flows.services.FlowServices: files, jobs and the clock
    extensions: Extensions | None = None  # what plugins add: checks, actions, listeners, …


@dataclass(frozen=True)
class Referrer:
    """A reference field somewhere that points at this entity."""

    entity: CompiledEntity
    field: str
    on_delete: str


@dataclass(eq=False)
class CompiledEntity:
    version: int
    app: str
    definition: Entity
    table: sa.Table
    create_model: type[RecordInput]
    patch_model: type[RecordInput]
    expressions: EntityExpressions = field(default_factory=EntityExpressions)
    calendar: WorkingCalendar | None = None
    references: dict[str, CompiledEntity] = field(default_factory=dict)
    referrers: list[Referrer] = field(default_factory=list)
    flow: CompiledFlow | None = None  # the state machine attached to the entity, if any
    catalog: Catalog | None = None  # the catalog this entity belongs to, set once built

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def path(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def fields(self) -> dict[str, FieldDefinition]:
        return self.definition.fields

    @cached_property
    def stored_fields(self) -> dict[str, FieldDefinition]:
        """Fields with a column: all but the virtual ones."""
        return {n: s for n, s in self.definition.fields.items() if not s.virtual}

    @cached_property
    def sensitive_fields(self) -> tuple[str, ...]:
        """Fields stored encrypted, each with a blind index column (`tables.blind_index_column`)."""
        return tuple(n for n, s in self.stored_fields.items() if s.sensitive)

    @cached_property
    def input_fields(self) -> frozenset[str]:
        """Fields a client may send: stored and not computed."""
        return frozenset(n for n, s in self.stored_fields.items() if s.computed is None)

    @cached_property
    def columns(self) -> list[str]:
        """System columns (with `state` and `flow_version` when a flow is attached), then
        the stored fields."""
        system = [name for name in SYSTEM_COLUMNS if name in self.table.c]
        return [*system, *self.stored_fields]

    @cached_property
    def select_columns(self) -> list[sa.ColumnElement]:  # type: ignore[type-arg]
        """The stored columns every read returns, built once per catalog."""
        return [self.table.c[name] for name in self.columns]

    @cached_property
    def value_adapters(self) -> dict[str, TypeAdapter[Any]]:
        """Checks for the values the engine computes: computed fields, expression defaults."""
        names = [*self.expressions.computed, *self.expressions.defaults]
        return {name: TypeAdapter(field_annotation(self.fields[name])) for name in names}

    def virtual_columns(self, context: SqlContext) -> list[sa.ColumnElement[Any]]:
        """Virtual fields as SQL, labelled by name; built per query for today's date."""
        return [
            expression.sql(self.table, context).label(name)
            for name, expression in self.expressions.virtual.items()
        ]

    def column(self, name: str, context: SqlContext) -> sa.ColumnElement[Any]:
        """A stored column, or a virtual field's SQL, to filter or sort by."""
        virtual = self.expressions.virtual.get(name)
        return virtual.sql(self.table, context) if virtual else self.table.c[name]

    def has_field(self, name: str) -> bool:
        if name.endswith(BLIND_INDEX_SUFFIX):
            return False  # a sensitive field's digest column is the engine's, not a field
        return name in self.table.c or name in self.expressions.virtual

    @property
    def search_fields(self) -> list[str]:
        if self.definition.search_fields:
            return self.definition.search_fields
        return [n for n, s in self.stored_fields.items() if isinstance(s, StringField | TextField)][
            :3
        ]


@dataclass(frozen=True)
class Catalog:
    version: int
    definitions: Definitions
    metadata: sa.MetaData
    entities: dict[tuple[str, str], CompiledEntity]
    forms: dict[tuple[str, str], FormExpressions] = field(default_factory=dict)
    options: CatalogOptions = field(default_factory=CatalogOptions)
    cache: dict[Any, Any] = field(default_factory=dict)  # built on demand: earlier flow versions

    def entity(self, app: str, name: str) -> CompiledEntity | None:
        return self.entities.get((app, name))

    def table_of(self, path: str) -> sa.Table:
        """The table of "app.entity", as expressions name entities."""
        return self.by_path(path).table

    def by_path(self, path: str) -> CompiledEntity:
        app, _, name = path.partition(".")
        return self.entities[(app, name)]


def compile_catalog(
    version: int, definitions: Definitions, options: CatalogOptions | None = None
) -> Catalog:
    options = options or CatalogOptions()
    expressions = compile_definitions(definitions, options.functions)
    assert not expressions.problems, "definitions are checked before they are compiled"
    metadata = sa.MetaData()
    entities: dict[tuple[str, str], CompiledEntity] = {}
    for app, entity in definitions.entities():
        table = build_table(metadata, definitions, app, entity)
        create, patch = build_input_models(app, entity)
        located = definitions.calendar(app)
        calendar = expressions.calendars.get(f"{located[0]}.default") if located else None
        entities[(app, entity.name)] = CompiledEntity(
            version,
            app,
            entity,
            table,
            create,
            patch,
            expressions.entities[(app, entity.name)],
            calendar,
        )
    for compiled in entities.values():
        for field_name, spec in compiled.fields.items():
            if isinstance(spec, ReferenceField):
                target_app, target = definitions.resolve(compiled.app, spec.entity)  # type: ignore[misc]
                target_entity = entities[(target_app, target.name)]
                compiled.references[field_name] = target_entity
                target_entity.referrers.append(Referrer(compiled, field_name, spec.on_delete))
    for (flow_app, flow_name), flow_expressions in expressions.flows.items():
        definition = definitions.apps[flow_app].flows[flow_name]
        target_app, target = definitions.resolve(flow_app, definition.entity)  # type: ignore[misc]
        flow = CompiledFlow(flow_app, definition, version, flow_expressions)
        entities[(target_app, target.name)].flow = flow
    catalog = Catalog(version, definitions, metadata, entities, expressions.forms, options)
    for compiled in entities.values():
        compiled.catalog = catalog
    return catalog
