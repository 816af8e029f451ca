"""The catalog: one definition version compiled into tables, input models and relations.

A catalog is immutable; publishing builds a new one and swaps it in, so a request keeps
the catalog it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import sqlalchemy as sa

from engine.tables import build_table
from engine.validation import RecordInput, build_input_models
from metamodel.definitions import Definitions
from metamodel.fields import FieldDefinition, ReferenceField, StringField, TextField
from metamodel.models import SYSTEM_COLUMNS, Entity


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
    references: dict[str, CompiledEntity] = field(default_factory=dict)
    referrers: list[Referrer] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def path(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def fields(self) -> dict[str, FieldDefinition]:
        return self.definition.fields

    @property
    def columns(self) -> list[str]:
        return [*SYSTEM_COLUMNS[:-1], *self.definition.fields]

    @cached_property
    def select_columns(self) -> list[sa.ColumnElement]:  # type: ignore[type-arg]
        """The columns every read returns, built once per catalog."""
        return [self.table.c[name] for name in self.columns]

    @property
    def search_fields(self) -> list[str]:
        if self.definition.search_fields:
            return self.definition.search_fields
        return [n for n, s in self.fields.items() if isinstance(s, StringField | TextField)][:3]


@dataclass(frozen=True)
class Catalog:
    version: int
    definitions: Definitions
    metadata: sa.MetaData
    entities: dict[tuple[str, str], CompiledEntity]

    def entity(self, app: str, name: str) -> CompiledEntity | None:
        return self.entities.get((app, name))


def compile_catalog(version: int, definitions: Definitions) -> Catalog:
    metadata = sa.MetaData()
    entities: dict[tuple[str, str], CompiledEntity] = {}
    for app, entity in definitions.entities():
        table = build_table(metadata, definitions, app, entity)
        create, patch = build_input_models(app, entity)
        entities[(app, entity.name)] = CompiledEntity(version, app, entity, table, create, patch)
    for compiled in entities.values():
        for field_name, spec in compiled.fields.items():
            if isinstance(spec, ReferenceField):
                target_app, target = definitions.resolve(compiled.app, spec.entity)  # type: ignore[misc]
                target_entity = entities[(target_app, target.name)]
                compiled.references[field_name] = target_entity
                target_entity.referrers.append(Referrer(compiled, field_name, spec.on_delete))
    return Catalog(version, definitions, metadata, entities)
