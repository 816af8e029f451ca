"""A record's expressions at write time: defaults, stored computed fields, validation rules."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError

from engine.catalog import CompiledEntity
from engine.errors import ValidationFailed, field_error
from engine.expressions import Environment
from metamodel.fields import DecimalField
from metamodel.labels import pick


def apply_defaults(
    entity: CompiledEntity, values: dict[str, Any], sent: set[str], env: Environment
) -> None:
    """Fill each field the client left out that has a `default_expression`."""
    for name, expression in entity.expressions.defaults.items():
        if name not in sent:
            values[name] = _storable(entity, name, expression.evaluate(values, env))


def apply_computed(
    entity: CompiledEntity, record: dict[str, Any], env: Environment
) -> dict[str, Any]:
    """Recompute every stored computed field, in field order; returns the new values."""
    computed: dict[str, Any] = {}
    for name, expression in entity.expressions.computed.items():
        value = _storable(entity, name, expression.evaluate(record, env))
        record[name] = computed[name] = value
    return computed


def check_rules(
    entity: CompiledEntity, record: dict[str, Any], env: Environment, language: str = "zh"
) -> None:
    """Refuse the record with every rule whose `when` holds for it."""
    errors = [
        field_error(rule.field or "", pick(rule.message, language))
        for rule, expression in entity.expressions.rules
        if expression.test(record, env)
    ]
    if errors:
        raise ValidationFailed("the record breaks the entity's rules", errors)


def _storable(entity: CompiledEntity, name: str, value: Any) -> Any:
    """An expression's value as the field stores it; a value the field refuses is an error."""
    if value is None:
        return None
    spec = entity.fields[name]
    if isinstance(spec, DecimalField):
        value = Decimal(value).quantize(Decimal(1).scaleb(-spec.scale), rounding=ROUND_HALF_UP)
    try:
        return entity.value_adapters[name].validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise ValidationFailed(
            "the record is not valid",
            [field_error(name, f"the computed value {value!r} does not fit the field: {message}")],
        ) from None
