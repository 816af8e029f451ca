"""Entity definition → SQLAlchemy Table: typed columns, indexes, uniques and system columns."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from engine.types import BigId, ExactDecimal, UTCDateTime
from metamodel.definitions import Definitions
from metamodel.fields import (
    DecimalField,
    FieldDefinition,
    PluginField,
    ReferenceField,
    StringField,
)
from metamodel.models import Entity

MAX_IDENTIFIER = 63
FILE_ID_LENGTH = 32
BLIND_INDEX_SUFFIX = "__bidx"
BLIND_INDEX_LENGTH = 64


def table_name(app: str, entity: str) -> str:
    return f"{app}__{entity}"


def blind_index_column(field_name: str) -> str:
    """The column holding a sensitive field's blind index digest (field names have no `__`)."""
    return f"{field_name}{BLIND_INDEX_SUFFIX}"


def column_type(spec: FieldDefinition) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """The storage type of a field; enums are strings so adding an option needs no DDL."""
    if spec.sensitive:
        return sa.Text()  # ciphertext, see engine/protection
    if isinstance(spec, PluginField):  # text of the plugin type's length; unbound: any
        return sa.String(spec.max_length) if spec.max_length is not None else sa.Text()
    match spec.type:
        case "string":
            assert isinstance(spec, StringField)
            return sa.String(spec.max_length)
        case "text":
            return sa.Text()
        case "integer" | "reference":
            return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
        case "decimal":
            assert isinstance(spec, DecimalField)
            return ExactDecimal(spec.precision, spec.scale)
        case "boolean":
            return sa.Boolean()
        case "date":
            return sa.Date()
        case "datetime":
            return UTCDateTime()
        case "enum":
            return sa.String(64)
        case "json":
            return sa.JSON()
        case "file":
            return sa.String(FILE_ID_LENGTH)
    raise ValueError(f"unknown field type {spec.type}")


def storage_signature(spec: FieldDefinition) -> tuple[object, ...]:
    """What decides how a field's values are stored; a change here needs a data conversion."""
    protected = ("sensitive",) if spec.sensitive else ()
    if isinstance(spec, DecimalField):
        return ("decimal", spec.precision, spec.scale, *protected)
    if isinstance(spec, ReferenceField):
        return ("reference", spec.entity)
    return (spec.type, *protected)


def system_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100)),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(100)),
        sa.Column("row_version", sa.Integer, nullable=False, default=1),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), index=True),
        sa.Column("def_version", sa.Integer, nullable=False),
    ]


def flow_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    """The columns of an entity with a flow: its state, and the flow version it runs under."""
    return [
        sa.Column("state", sa.String(40), index=True),
        sa.Column("flow_version", sa.Integer),
    ]


def build_table(
    metadata: sa.MetaData, definitions: Definitions, app: str, entity: Entity
) -> sa.Table:
    name = table_name(app, entity.name)
    columns: list[sa.Column] = system_columns()  # type: ignore[type-arg]
    if definitions.flow_of(app, entity.name) is not None:
        columns += flow_columns()
    indexes: list[sa.Index] = []
    for field_name, spec in entity.fields.items():
        if spec.virtual:
            continue  # computed on read; no column
        args: list[Any] = []
        if isinstance(spec, ReferenceField):
            target_app, target = definitions.resolve(app, spec.entity)  # type: ignore[misc]
            args.append(sa.ForeignKey(f"{table_name(target_app, target.name)}.id"))
        columns.append(sa.Column(field_name, column_type(spec), *args, nullable=True))
        if spec.sensitive:
            columns.append(_blind_index(field_name))
            indexes.append(_blind_index_index(name, field_name, spec.unique))
        elif spec.unique:
            indexes.append(sa.Index(index_name("uq", name, [field_name]), field_name, unique=True))
        elif spec.index or isinstance(spec, ReferenceField):
            indexes.append(sa.Index(index_name("ix", name, [field_name]), field_name))
    for index in entity.indexes:
        prefix = "uq" if index.unique else "ix"
        indexes.append(
            sa.Index(index_name(prefix, name, index.fields), *index.fields, unique=index.unique)
        )
    return sa.Table(name, metadata, *columns, *indexes)


def _blind_index(field_name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(blind_index_column(field_name), sa.String(BLIND_INDEX_LENGTH), nullable=True)


def _blind_index_index(table: str, field_name: str, unique: bool) -> sa.Index:
    """Always an index: exact match is what a sensitive field is searched by; unique if asked."""
    column = blind_index_column(field_name)
    return sa.Index(index_name("uq" if unique else "ix", table, [column]), column, unique=unique)


def index_name(prefix: str, table: str, fields: list[str]) -> str:
    """A deterministic index name that fits PostgreSQL's 63-character limit."""
    name = f"{prefix}_{table}_{'_'.join(fields)}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER - 9]}_{digest}"
