"""The types an expression can have, and the type of each kind of field."""

from __future__ import annotations

from dataclasses import dataclass, replace

from metamodel.fields import DecimalField, EnumField, FieldDefinition, PluginField

DIVISION_SCALE = 6  # digits kept after the point by `/` and `avg`, in both back-ends


@dataclass(frozen=True)
class Type:
    """`kind` is integer, decimal, string, boolean, date, datetime, json, list or null."""

    kind: str
    nullable: bool = True
    scale: int = 0  # digits after the point, for decimals
    item: Type | None = None  # element type, for lists
    options: tuple[str, ...] = ()  # allowed values, for enum fields
    target: str | None = None  # "app.entity" a reference field points at

    def __str__(self) -> str:
        if self.kind == "list":
            return f"list of {self.item}" if self.item else "list"
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "decimal")

    def required(self) -> Type:
        return replace(self, nullable=False)

    def maybe_null(self, nullable: bool = True) -> Type:
        return replace(self, nullable=nullable)


INTEGER = Type("integer", nullable=False)
STRING = Type("string", nullable=False)
BOOLEAN = Type("boolean", nullable=False)
DATE = Type("date", nullable=False)
DATETIME = Type("datetime", nullable=False)
NULL = Type("null")


def decimal(scale: int, nullable: bool = False) -> Type:
    return Type("decimal", nullable=nullable, scale=scale)


def field_type(spec: FieldDefinition, target: str | None = None) -> Type:
    """The type of a field's value: references are their target's id, enums and plugin types
    (`id_number`) are strings."""
    if isinstance(spec, PluginField):
        return Type("string")
    match spec.type:
        case "string" | "text" | "file":
            return Type("string")
        case "enum":
            assert isinstance(spec, EnumField)
            return Type("string", options=tuple(o.value for o in spec.options))
        case "reference":
            return Type("integer", target=target)
        case "decimal":
            assert isinstance(spec, DecimalField)
            return Type("decimal", scale=spec.scale)
    return Type(spec.type)


def described(kind: Type) -> str:
    """The type with its article, for messages: "an integer", "a list of string", "null"."""
    text = str(kind)
    if text == "null":
        return text
    return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"


def comparable(left: Type, right: Type) -> bool:
    """Whether `==` and `<` make sense between the two: same kind, or both numbers."""
    if left.kind == "null" or right.kind == "null":
        return True
    if left.numeric and right.numeric:
        return True
    return left.kind == right.kind and left.kind not in ("json", "list")


def common(types: list[Type]) -> Type | None:
    """The type that values of all `types` fit (for `if`, `coalesce`, list items), if any."""
    known = [t for t in types if t.kind != "null"]
    nullable = any(t.nullable for t in types)
    if not known:
        return NULL
    first = known[0]
    if all(t.numeric for t in known):
        if all(t.kind == "integer" for t in known):
            return Type("integer", nullable=nullable)
        return decimal(max(t.scale for t in known), nullable)
    if all(t.kind == first.kind for t in known) and first.kind not in ("json",):
        if first.kind == "list":
            item = common([t.item for t in known if t.item is not None])
            return Type("list", nullable=nullable, item=item)
        options = first.options if all(t.options == first.options for t in known) else ()
        return Type(first.kind, nullable=nullable, options=options)
    return None


def assignment_problem(value: Type, spec: FieldDefinition) -> str | None:
    """Why a value of type `value` cannot be stored in a field, or None if it can."""
    target = field_type(spec)
    if value.kind == "null":
        return None
    if target.kind == "decimal" and value.numeric:
        return None
    if target.kind == value.kind:
        return None
    hint = "; use round(x) for a whole number" if value.kind == "decimal" else ""
    return f"gives {described(value)}, but the field is {described(target)}{hint}"
