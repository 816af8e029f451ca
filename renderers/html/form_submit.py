"""What a posted record form asks to write.

Only the fields the user could fill count: visible (field and section), not read-only. A
field the form's conditions make required must have a value; the records service checks
everything else. An edit sends only what the user changed, so a field the record's state
fixes, or one the user left alone, is never written back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from engine.catalog import CompiledEntity
from engine.errors import field_error
from engine.files import store_file
from engine.principal import Principal
from engine.runtime import Runtime
from engine.values import ConversionError
from renderers.html.form_input import typed_value
from renderers.html.form_view import FormView


@dataclass(frozen=True)
class Upload:
    """A file chosen in a file input, read from the request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Submission:
    """`values` for the records service (for an edit, only what changed), the problems found
    before writing (`errors`), the files to store, the texts to show again, and the version
    an edit was made on (`If-Match`)."""

    values: dict[str, Any]
    errors: list[dict[str, Any]]
    texts: dict[str, str]
    uploads: dict[str, Upload] = field(default_factory=dict)
    row_version: str | None = None


def collect(
    view: FormView,
    entity: CompiledEntity,
    texts: dict[str, str],
    uploads: dict[str, Upload],
    stored: dict[str, str] | None,
    timezone: str,
    row_version: str | None = None,
) -> Submission:
    """The values of the fields the user could fill; `stored` are the texts the inputs held
    when the form was opened (None for a new record)."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    chosen: dict[str, Upload] = {}
    for section in view.sections:
        if not section.visible:
            continue
        for widget in section.widgets:
            name, state = widget.name, widget.state
            if not state.visible or state.readonly:
                continue
            if name in uploads:
                chosen[name] = uploads[name]
                continue
            text = texts.get(name, "")
            try:
                value = typed_value(entity.fields[name], text, timezone)
            except ConversionError as exc:
                errors.append(field_error(name, str(exc)))
                continue
            if value is None and state.required:
                errors.append(field_error(name, "is required"))
            elif stored is None or text != stored.get(name, ""):
                values[name] = value
    return Submission(values, errors, texts, chosen, row_version)


def store_uploads(runtime: Runtime, submission: Submission, principal: Principal) -> Submission:
    """Store the chosen files as `POST /api/files` does and put their ids in the fields; a
    form shown again keeps them (hidden inputs), so nobody uploads a file twice."""
    if not submission.uploads:
        return submission
    values, texts = dict(submission.values), dict(submission.texts)
    for name, upload in submission.uploads.items():
        row = store_file(
            runtime.engine,
            runtime.settings.files_dir,
            upload.filename,
            upload.content_type,
            upload.data,
            principal,
        )
        values[name] = texts[name] = row["id"]
    return replace(submission, values=values, texts=texts, uploads={})
