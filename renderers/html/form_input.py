"""Field values between HTML form text and the records service.

Browsers send text: an empty input is null, an unchecked box is absent (false), a
`datetime-local` input is a wall-clock time in the catalog's time zone. Inputs show text
too, so stored values are turned into the text an input holds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.datastructures import FormData, UploadFile

from engine.catalog import CompiledEntity
from engine.values import ConversionError, convert
from metamodel.fields import FieldDefinition

CHECKED = frozenset({"true", "on", "1"})


def is_checkbox(spec: FieldDefinition) -> bool:
    """A required yes/no is a checkbox; an optional one a select that can also say nothing."""
    return spec.type == "boolean" and spec.required


def input_text(spec: FieldDefinition, value: Any, timezone: str) -> str:
    """The text an input holds for a stored value (text as typed passes through)."""
    if value is None:
        return ""
    if spec.type == "json" and not isinstance(value, str):
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def record_texts(entity: CompiledEntity, record: dict[str, Any], timezone: str) -> dict[str, str]:
    """A stored record as the texts its inputs hold."""
    return {
        name: input_text(spec, record.get(name), timezone)
        for name, spec in entity.fields.items()
        if name in record
    }


def posted_texts(entity: CompiledEntity, form: FormData, names: list[str]) -> dict[str, str]:
    """What the user typed into the inputs of `names`; an unchecked checkbox says false.
    File inputs are left to `uploads_in`; a file kept from an earlier attempt is its id."""
    texts: dict[str, str] = {}
    for name in names:
        spec = entity.fields.get(name)
        if spec is None:
            continue
        if is_checkbox(spec):
            texts[name] = "true" if form.get(name) in CHECKED else "false"
            continue
        typed = [v for v in form.getlist(name) if isinstance(v, str)]
        if typed:
            texts[name] = typed[-1]
    return texts


def uploads_in(form: FormData, names: list[str]) -> dict[str, UploadFile]:
    """The files chosen in the file inputs of `names` (an input left empty sends none)."""
    found: dict[str, UploadFile] = {}
    for name in names:
        for value in form.getlist(name):
            if isinstance(value, UploadFile) and value.filename:
                found[name] = value
    return found


def typed_value(spec: FieldDefinition, text: str, timezone: str) -> Any:
    """The value the records service takes for `text`; ConversionError says what was
    expected."""
    text = text.strip() if spec.type not in ("text", "json") else text
    if text == "":
        return None
    if spec.type == "json":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ConversionError("expected JSON") from None
    if spec.type == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ConversionError("expected a date and time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        return moment.astimezone(UTC)
    return convert(spec, text)
