"""Document templates: `templates/<name>.yaml`, a Jinja2 body rendered for one record."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from metamodel.fields import Name, Strict
from metamodel.labels import Labels


class Template(Strict):
    """A document such as a qualification certificate. The body is sandboxed Jinja2 reading
    `record` (the record's values), `labels` (its fields' labels), `params`, `today` and
    `now`; it is checked for syntax when definitions load. `format: pdf` stores the rendered
    HTML as a PDF (A4 unless the body's CSS says `@page { size: ... }`, Chinese in Noto Sans
    CJK), drawn offline by WeasyPrint; see docs/exports.md."""

    name: Name
    label: Labels = {}
    format: Literal["html", "pdf"] = "html"
    body: Annotated[str, Field(min_length=1, max_length=200_000)]
