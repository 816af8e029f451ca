"""Entity definition → SQLAlchemy Table: typed columns, indexes, uniques and system columns."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from engine.types import BigId, ExactDecimal, UTCDateTime
from metamodel.definitions import Definitions
from metamodel.fields import DecimalField, FieldDefinition, ReferenceField, StringField
from metamodel.models import Entity

MAX_IDENTIFIER = 63
FILE_ID_LENGTH = 32


def table_name(app: str, entity: str) -> str:
    return f"{app}__{entity}"


def column_type(spec: FieldDefinition) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """The storage type of a field; enums are strings so adding an option needs no DDL."""
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
    if isinstance(spec, DecimalField):
        return ("decimal", spec.precision, spec.scale)
    if isinstance(spec, ReferenceField):
        return ("reference", spec.entity)
    return (spec.type,)


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


def build_table(
    metadata: sa.MetaData, definitions: Definitions, app: str, entity: Entity
) -> sa.Table:
    name = table_name(app, entity.name)
    columns: list[sa.Column] = system_columns()  # type: ignore[type-arg]
    indexes: list[sa.Index] = []
    for field_name, spec in entity.fields.items():
        if spec.virtual:
            continue  # computed on read; no column
        args: list[Any] = []
        if isinstance(spec, ReferenceField):
            target_app, target = definitions.resolve(app, spec.entity)  # type: ignore[misc]
            args.append(sa.ForeignKey(f"{table_name(target_app, target.name)}.id"))
        columns.append(sa.Column(field_name, column_type(spec), *args, nullable=True))
        if spec.unique:
            indexes.append(sa.Index(index_name("uq", name, [field_name]), field_name, unique=True))
        elif spec.index or isinstance(spec, ReferenceField):
            indexes.append(sa.Index(index_name("ix", name, [field_name]), field_name))
    for index in entity.indexes:
        prefix = "uq" if index.unique else "ix"
        indexes.append(
            sa.Index(index_name(prefix, name, index.fields), *index.fields, unique=index.unique)
        )
    return sa.Table(name, metadata, *columns, *indexes)


def index_name(prefix: str, table: str, fields: list[str]) -> str:
    """A deterministic index name that fits PostgreSQL's 63-character limit."""
    name = f"{prefix}_{table}_{'_'.join(fields)}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER - 9]}_{digest}"
