"""Documents rendered for a record from a `templates/` definition: sandboxed Jinja2 HTML,
stored as HTML or, for `format: pdf`, as a PDF drawn by `engine.pdf`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from engine.catalog import CompiledEntity
from engine.pdf import html_to_pdf
from metamodel.fields import EnumField
from metamodel.labels import pick
from metamodel.templates import Template

CONTENT_TYPES = {"html": "text/html", "pdf": "application/pdf"}


@dataclass(frozen=True)
class DocumentFile:
    """A rendered document, ready to store: its file name, content type and bytes."""

    name: str
    content_type: str
    data: bytes


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    """Sandboxed; an empty value (`None`) prints as nothing rather than the word `None`."""
    if html:
        return SandboxedEnvironment(
            autoescape=True, undefined=StrictUndefined, finalize=_empty_for_none
        )
    return SandboxedEnvironment(autoescape=False, finalize=_empty_for_none)


def _empty_for_none(value: Any) -> Any:
    return "" if value is None else value


def render_text(source: str, context: dict[str, Any]) -> str:
    """A short template (a message title): sandboxed, not HTML-escaped."""
    return _environment(False).from_string(source).render(**context)


def render_document(body: str, context: dict[str, Any]) -> str:
    """A document body as HTML: sandboxed, autoescaped, a missing value an error."""
    return _environment(True).from_string(body).render(**context)


def document_file(template: Template, context: dict[str, Any], name: str) -> DocumentFile:
    """The template rendered for one record as the file to store: HTML as it is, or a PDF
    (`engine.pdf.PdfUnavailable`, 503, when this server cannot draw one). `name` gets the
    format's extension (`certificate-12.html` becomes `certificate-12.pdf`)."""
    html = render_document(template.body, context)
    data = html_to_pdf(html) if template.format == "pdf" else html.encode("utf-8")
    return DocumentFile(file_name(name, template.format), CONTENT_TYPES[template.format], data)


def file_name(name: str, format: str) -> str:
    """The name with the format's extension: kept when it has it, replacing `.html`/`.htm`/
    `.pdf`, appended otherwise.

    >>> file_name("资格确认单-7.html", "pdf"), file_name("report", "html")
    ('资格确认单-7.pdf', 'report.html')
    """
    path = PurePosixPath(name)
    if path.suffix.lower() == f".{format}":
        return name
    if path.suffix.lower() in (".html", ".htm", ".pdf"):
        return name[: -len(path.suffix)] + f".{format}"
    return f"{name}.{format}"


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
