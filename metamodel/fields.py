"""Field definitions: one model per field type, told apart by `type`.

Besides the built-in types, a field may have a type a plugin registers (`type: id_number`):
a `PluginField`, text that the plugin normalises and checks. The metamodel knows such a type
only by its name until the loader binds the field to it (`PluginField.bound`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PrivateAttr,
    Tag,
    model_validator,
)

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
"""The built-in field types; any other well-formed name is a plugin's (`PluginField`)."""

PLUGIN = "plugin"  # the tag of `PluginField` in the union of field models


class PluginFieldType(Protocol):
    """What the metamodel reads of a field type a plugin registers; the engine's
    `engine.extensions.FieldType` is one."""

    @property
    def name(self) -> str: ...

    @property
    def max_length(self) -> int: ...

    @property
    def normalize(self) -> Callable[[str], str]: ...

    @property
    def mask(self) -> str | None: ...

    @property
    def sensitive(self) -> bool: ...

    @property
    def description(self) -> str: ...


PluginTypeName = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        max_length=40,
        json_schema_extra={"not": {"enum": list(FIELD_TYPES)}},
    ),
]


class PluginField(FieldBase):
    """A field of a type a plugin adds, such as `type: id_number`: text the plugin checks and
    stores in its own form. Left out, `sensitive` and `mask` are as the type says."""

    # The loader binds the field to its registered type (`bound`): `sensitive` and `mask` then
    # hold what applies, so whoever reads them sees the type's defaults, while the canonical
    # form keeps what the definition wrote (hence None, not False, for "not said").
    type: PluginTypeName
    default: str | None = None
    sensitive: bool | None = None  # type: ignore[assignment]  # widened: None is "as the type"
    _field_type: PluginFieldType | None = PrivateAttr(default=None)

    @property
    def field_type(self) -> PluginFieldType | None:
        """The registered type this field is bound to; None until the loader binds it."""
        return self._field_type

    @property
    def max_length(self) -> int | None:
        return self._field_type.max_length if self._field_type is not None else None

    def normalize(self, text: str) -> str:
        """The stored form of `text`; ValueError, with a message for the user, if invalid."""
        if self._field_type is None:
            raise ValueError(f"field type {self.type!r} is not registered: is its plugin loaded?")
        return self._field_type.normalize(text)

    def bound(self, field_type: PluginFieldType) -> PluginField:
        """This field bound to its type: `sensitive` and `mask` as the type says, unless the
        definition sets them."""
        sensitive = field_type.sensitive if self.sensitive is None else self.sensitive
        found = self.model_copy(
            update={"sensitive": sensitive, "mask": self.mask or field_type.mask}
        )
        found._field_type = field_type
        return found

    def as_string_field(self) -> StringField:
        """The field as the metamodel's own checks see it: a string of the type's length."""
        values = self.model_dump(exclude={"type", "default", "sensitive"})
        return StringField.model_construct(
            type="string",
            max_length=self.max_length or StringField.model_fields["max_length"].default,
            default=self.default,
            sensitive=bool(self.sensitive),
            **values,
        )


def _field_tag(value: Any) -> str:
    """A built-in type names its own model; any other type is a plugin's."""
    type_name = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return type_name if isinstance(type_name, str) and type_name in FIELD_TYPES else PLUGIN


FieldDefinition = Annotated[
    Union[
        Annotated[StringField, Tag("string")],
        Annotated[TextField, Tag("text")],
        Annotated[IntegerField, Tag("integer")],
        Annotated[DecimalField, Tag("decimal")],
        Annotated[BooleanField, Tag("boolean")],
        Annotated[DateField, Tag("date")],
        Annotated[DateTimeField, Tag("datetime")],
        Annotated[EnumField, Tag("enum")],
        Annotated[ReferenceField, Tag("reference")],
        Annotated[JsonField, Tag("json")],
        Annotated[FileField, Tag("file")],
        Annotated[PluginField, Tag(PLUGIN)],
    ],
    Discriminator(_field_tag),
]
