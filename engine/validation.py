"""Per-entity pydantic models, compiled once per definition version, that check record input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
)
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from engine.errors import ValidationFailed, field_error
from engine.values import ConversionError, normalized
from metamodel.fields import (
    DateField,
    DecimalField,
    EnumField,
    FieldDefinition,
    IntegerField,
    PluginField,
    StringField,
    TextField,
)
from metamodel.labels import pick
from metamodel.models import SYSTEM_COLUMNS, Entity

FILE_ID = r"^[0-9a-f]{32}$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _in_utc(value: datetime) -> datetime:
    """Naive means UTC; a moment that cannot be expressed in UTC is refused, not stored."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the range of dates that can be stored") from None


class RecordInput(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re", frozen=True)
    computed_fields: ClassVar[frozenset[str]] = frozenset()


def field_annotation(spec: FieldDefinition) -> Any:
    """The Python type, with its constraints, that a field's input must satisfy."""
    meta: dict[str, Any] = {
        "title": pick(spec.label, "en"),
        "description": pick(spec.help, "en") or None,
    }
    match spec:
        case StringField():
            constraints = StringConstraints(
                max_length=spec.max_length, min_length=spec.min_length, pattern=spec.pattern
            )
            return Annotated[str, constraints, Field(**meta)]
        case TextField():
            return Annotated[str, StringConstraints(max_length=spec.max_length), Field(**meta)]
        case IntegerField():
            low = INT64_MIN if spec.min is None else max(spec.min, INT64_MIN)
            high = INT64_MAX if spec.max is None else min(spec.max, INT64_MAX)
            return Annotated[int, Field(ge=low, le=high, strict=True, **meta)]
        case DecimalField():
            limits = Field(
                ge=spec.min,
                le=spec.max,
                max_digits=spec.precision,
                decimal_places=spec.scale,
                allow_inf_nan=False,
                **meta,
            )
            return Annotated[Decimal, limits]
        case DateField():
            return Annotated[date, Field(ge=spec.min, le=spec.max, **meta)]
        case PluginField():
            meta["description"] = meta["description"] or _type_description(spec)
            schema: JsonDict = {"format": spec.type}
            checked = AfterValidator(_normalizer(spec))
            return Annotated[str, checked, Field(json_schema_extra=schema, **meta)]
        case EnumField():
            return Annotated[Literal[tuple(o.value for o in spec.options)], Field(**meta)]
    simple: dict[str, Any] = {
        "boolean": Annotated[bool, Field(strict=True, **meta)],
        "datetime": Annotated[datetime, AfterValidator(_in_utc), Field(**meta)],
        "reference": Annotated[int, Field(ge=1, le=INT64_MAX, strict=True, **meta)],
        "json": Annotated[Any, Field(**meta)],
        "file": Annotated[str, Field(pattern=FILE_ID, **meta)],
    }
    return simple[spec.type]


def _normalizer(spec: PluginField) -> Any:
    """The after-validator of a plugin field: the value as its type stores it, or a 422 with
    the plugin's own message."""

    def normalize(text: str) -> str:
        try:
            return normalized(spec, text)
        except ConversionError as exc:
            raise PydanticCustomError("field_type", "{reason}", {"reason": str(exc)}) from None

    return normalize


def _type_description(spec: PluginField) -> str | None:
    return (spec.field_type.description or None) if spec.field_type is not None else None


def build_input_models(app: str, entity: Entity) -> tuple[type[RecordInput], type[RecordInput]]:
    """(create model, patch model): the patch model makes every field optional."""
    create_fields: dict[str, Any] = {}
    patch_fields: dict[str, Any] = {}
    for name, spec in entity.fields.items():
        if spec.computed is not None:
            continue  # computed by the engine; sending one is an error (see _detail)
        annotation = field_annotation(spec)
        default = getattr(spec, "default", None)
        if spec.required and default is None:
            create_fields[name] = (annotation, ...)
        else:
            create_fields[name] = (annotation | None, default)
        patch_fields[name] = (annotation | None, None)
    model_name = "".join(part.title() for part in f"{app}_{entity.name}".split("_"))
    create = create_model(f"{model_name}Create", __base__=RecordInput, **create_fields)
    patch = create_model(f"{model_name}Patch", __base__=RecordInput, **patch_fields)
    computed = frozenset(n for n, s in entity.fields.items() if s.computed is not None)
    create.computed_fields = patch.computed_fields = computed
    return create, patch


def validate_input(
    model: type[RecordInput], body: bytes | dict[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """Validated values and the names the client sent; a 422 lists every problem."""
    try:
        parsed = (
            model.model_validate_json(body)
            if isinstance(body, bytes)
            else model.model_validate(body)
        )
    except ValidationError as exc:
        raise ValidationFailed(
            "the record is not valid", [_detail(e, model.computed_fields) for e in exc.errors()]
        ) from None
    return parsed.model_dump(), set(parsed.model_fields_set)


def _detail(error: Any, computed: frozenset[str]) -> dict[str, Any]:
    path = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        top = str(error["loc"][0]) if error["loc"] else path
        message = "is set by the system" if top in SYSTEM_COLUMNS else "unknown field"
        if top in computed:
            message = "is computed from other fields and cannot be set"
        return field_error(path, message)
    if error["type"] == "missing":
        return field_error(path, "is required")
    if error["type"] == "json_invalid":
        return field_error("", f"malformed JSON: {error['msg']}")
    if error["type"] == "model_type":
        return field_error(path, "expected a JSON object")
    return field_error(path, error["msg"])
