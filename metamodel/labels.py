"""Labels per language: `{"zh": "租金", "en": "Rent"}`; a plain string is taken as Chinese."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

LANGUAGES = ("zh", "en")


def _from_string(value: object) -> object:
    """A string is Chinese; languages always in the same order, so equal labels hash alike."""
    if isinstance(value, str):
        return {"zh": value}
    if isinstance(value, dict):
        return {k: value[k] for k in LANGUAGES if k in value} | value
    return value


Labels = Annotated[
    dict[Literal["zh", "en"], str],
    BeforeValidator(_from_string, json_schema_input_type=str | dict[Literal["zh", "en"], str]),
]


def pick(labels: Mapping[Any, str] | None, language: str, fallback: str = "") -> str:
    """The label in `language`, else the other language, else `fallback`."""
    if not labels:
        return fallback
    return labels.get(language) or next(iter(labels.values()), fallback)
