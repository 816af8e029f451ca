"""Field definitions: one model per field type, told apart by `type`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from metamodel.labels import Labels

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# 0, 0.0 and 0.00 are one number: canonical JSON writes it one way, so hashes agree.
Number = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str, when_used="json"),
]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=40)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Expression = Annotated[str, Field(min_length=1, max_length=4000)]


class FieldBase(Strict):
    label: Labels = {}
    help: Labels = {}
    required: bool = False
    unique: bool = False
    index: bool = False
    computed: Expression | None = None
    """An expression: the field is read-only, recomputed on every write (or on read if
    `virtual`)."""
    virtual: bool = False
    default_expression: Expression | None = None
    """An expression for the value of a field a new record leaves out."""
    sensitive: bool = False
    """Personal data (ID numbers, phones, incomes): encrypted at rest, masked for roles
    without the `unmask` right, exact-match search through a keyed blind index."""
    mask: Annotated[str, Field(pattern=r"^[0-9]+\*[0-9]+$")] | None = None
    """How a masked value shows: `6*4` keeps the first 6 and last 4 characters."""


class StringField(FieldBase):
    type: Literal["string"]
    max_length: int = Field(default=255, ge=1, le=10_000)
    min_length: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    default: str | None = None


class TextField(FieldBase):
    type: Literal["text"]
    max_length: int | None = Field(default=None, ge=1)
    default: str | None = None


class IntegerField(FieldBase):
    type: Literal["integer"]
    min: int | None = None
    max: int | None = None
    default: int | None = None


class DecimalField(FieldBase):
    """Exact numbers for money and areas; `scale` digits after the point."""

    type: Literal["decimal"]
    precision: int = Field(default=18, ge=1, le=38)
    scale: int = Field(default=2, ge=0, le=12)
    min: Number | None = None
    max: Number | None = None
    default: Number | None = None

    @model_validator(mode="after")
    def _scale_fits(self) -> DecimalField:
        if self.scale > self.precision:
            raise ValueError("scale must not exceed precision")
        return self


class BooleanField(FieldBase):
    type: Literal["boolean"]
    default: bool | None = None


class DateField(FieldBase):
    type: Literal["date"]
    min: date | None = None
    max: date | None = None
    default: date | None = None


class DateTimeField(FieldBase):
    type: Literal["datetime"]
    default: datetime | None = None


class EnumOption(Strict):
    value: Annotated[str, Field(min_length=1, max_length=64)]
    label: Labels = {}


class EnumField(FieldBase):
    type: Literal["enum"]
    options: Annotated[list[EnumOption], Field(min_length=1)]
    default: str | None = None


class ReferenceField(FieldBase):
    """A link to another entity's record: `entity: building` or `entity: housing_stock.project`."""

    type: Literal["reference"]
    entity: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$")]
    on_delete: Literal["restrict", "cascade", "set_null"] = "restrict"


class JsonField(FieldBase):
    type: Literal["json"]
    default: Any = None


class FileField(FieldBase):
    """A file kept in the file store; the row holds its id."""

    type: Literal["file"]
    accept: list[str] = []
    max_size: int = Field(default=20 * 1024 * 1024, ge=1)


FieldDefinition = Annotated[
    Union[
        StringField,
        TextField,
        IntegerField,
        DecimalField,
        BooleanField,
        DateField,
        DateTimeField,
        EnumField,
        ReferenceField,
        JsonField,
        FileField,
    ],
    Field(discriminator="type"),
]

FIELD_TYPES = (
    "string",
    "text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "enum",
    "reference",
    "json",
    "file",
)
