"""Documents rendered for a record from a `templates/` definition (sandboxed Jinja2, HTML)."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from engine.catalog import CompiledEntity
from metamodel.fields import EnumField
from metamodel.labels import pick


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    if html:
        return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    return SandboxedEnvironment(autoescape=False)


def render_text(source: str, context: dict[str, Any]) -> str:
    """A short template (a message title): sandboxed, not HTML-escaped."""
    return _environment(False).from_string(source).render(**context)


def render_document(body: str, context: dict[str, Any]) -> str:
    return _environment(True).from_string(body).render(**context)


def document_context(
    entity: CompiledEntity, record: dict[str, Any], params: dict[str, Any], language: str, now: Any
) -> dict[str, Any]:
    """What a template reads: `record`, `labels` (each field's label), `options` (each enum
    value's label), `params`, `today` and `now`."""
    labels = {name: pick(spec.label, language, name) for name, spec in entity.fields.items()}
    options = {
        name: {o.value: pick(o.label, language, o.value) for o in spec.options}
        for name, spec in entity.fields.items()
        if isinstance(spec, EnumField)
    }
    catalog = entity.catalog
    assert catalog is not None, "entities belong to a catalog"
    today = now.astimezone(ZoneInfo(catalog.options.timezone)).date()
    return {
        "record": record,
        "labels": labels,
        "options": options,
        "params": params,
        "today": today,
        "now": now,
    }
