"""The record form screens: `/{app}/{entity}/new` and `/{app}/{entity}/{id}/edit`, the
form-state answers that re-evaluate conditions as the user types, and the reference picker.

A form posts text; the fields the user could fill (visible, not read-only for its
conditions, permissions or flow state) are converted and written through `engine.records`.
A refusal shows the form again with the user's values and each message beside its field
(422, or 409 for a duplicate), or a notice when someone else changed the record meanwhile
(409); success goes to the record (303).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine import records
from engine.database import read_mostly
from engine.errors import Conflict, Forbidden, PreconditionFailed, ValidationFailed
from engine.permissions import access_for
from engine.runtime import Runtime
from renderers.api.requests import entity_of, principal_of
from renderers.api.responses import JSON
from renderers.html.chrome import chrome_of
from renderers.html.environment import language_of_page, render
from renderers.html.form_input import posted_texts, record_texts, uploads_in
from renderers.html.form_layout import FormState, evaluated_state, layout_of
from renderers.html.form_page import Screen, form_page
from renderers.html.form_submit import Submission, Upload, collect, store_uploads
from renderers.html.pickers import pick_records, reference_choices
from renderers.html.widgets import FormView, build_form_view

Record = dict[str, Any]


def _screen(request: Request, action: str | None) -> Screen:
    """The screen, if the principal may take `action` (create, update; None: either)."""
    catalog = request.app.state.runtime.require_catalog()
    entity = entity_of(catalog, request)
    asked = request.query_params.get("form") or None
    layout = layout_of(catalog, entity, asked)
    principal = principal_of(request)
    access = access_for(entity, principal)
    actions = [action] if action else ["create", "update"]
    if not any(access.allows(a) for a in actions):
        raise Forbidden(f"you may not {action or 'fill in'} {entity.path} records")
    return Screen(catalog, entity, layout, principal, language_of_page(request), bool(asked))


async def new_record(request: Request) -> Response:
    screen = _screen(request, "create")
    runtime: Runtime = request.app.state.runtime
    if request.method == "GET":
        defaults = {
            name: getattr(spec, "default", None) for name, spec in screen.entity.fields.items()
        }
        texts = record_texts(screen.entity, defaults, screen.timezone)
        view = await run_in_threadpool(_view, runtime, screen, texts, [], None)
        return _page(request, screen, view, None)
    typed, uploads, _ = await _read_form(request, screen)
    submission = await run_in_threadpool(_submission, runtime, screen, typed, uploads, None, None)
    return await _save(request, screen, submission, None)


async def edit_record(request: Request) -> Response:
    screen = _screen(request, "update")
    runtime: Runtime = request.app.state.runtime
    record = await run_in_threadpool(_read, runtime, screen, request.path_params["id"])
    if request.method == "GET":
        texts = record_texts(screen.entity, record, screen.timezone)
        view = await run_in_threadpool(_view, runtime, screen, texts, [], record)
        return _page(request, screen, view, record)
    typed, uploads, version = await _read_form(request, screen)
    submission = await run_in_threadpool(
        _submission, runtime, screen, typed, uploads, record, version
    )
    return await _save(request, screen, submission, record)


async def form_state(request: Request) -> Response:
    """`POST /{app}/{entity}/form-state?form=&id=`: the state of the form's fields and
    sections for the values posted (`{"fields": {name: {visible, readonly, required}},
    "sections": [visible, …]}`), which forms.js applies as the user types."""
    screen = _screen(request, None)
    runtime: Runtime = request.app.state.runtime
    record_id = request.query_params.get("id", "")
    record = (
        await run_in_threadpool(_read, runtime, screen, int(record_id))
        if record_id.isdigit()
        else None
    )
    async with request.form() as form:
        typed = posted_texts(screen.entity, form, screen.layout.field_names)

    def run() -> dict[str, Any]:
        with runtime.engine.connect() as conn:
            state = _state(conn, screen, {**(record or {}), **typed})
        return _bare_view(screen, typed, state, record).states()

    return JSON(await run_in_threadpool(run), headers={"Cache-Control": "no-store"})


def _submission(
    runtime: Runtime,
    screen: Screen,
    typed: dict[str, str],
    uploads: dict[str, Upload],
    record: Record | None,
    version: str | None,
) -> Submission:
    """What the posted form asks to write, judged on the state its values give the form."""
    stored = record_texts(screen.entity, record, screen.timezone) if record else None
    texts = {**(stored or {}), **typed}
    with runtime.engine.connect() as conn:
        state = _state(conn, screen, {**(record or {}), **typed})
    view = _bare_view(screen, texts, state, record)
    return collect(view, screen.entity, texts, uploads, stored, screen.timezone, version)


async def _save(
    request: Request, screen: Screen, submission: Submission, record: Record | None
) -> Response:
    """Store the uploads, write the record and go to it; or show the form again."""
    runtime: Runtime = request.app.state.runtime
    submission = await run_in_threadpool(store_uploads, runtime, submission, screen.principal)
    errors, notice, status = submission.errors, "", 422
    if not errors:
        try:
            record_id = await run_in_threadpool(_write, runtime, screen, submission, record)
            readable = access_for(screen.entity, screen.principal).allows("read")
            return RedirectResponse(f"{screen.base}/{record_id}" if readable else "/", 303)
        except ValidationFailed as refused:
            errors = refused.details or [{"path": "", "message": refused.message}]
        except PreconditionFailed:
            assert record is not None, "only an edit names a version"
            record = await run_in_threadpool(_read, runtime, screen, record["id"])
            notice, status = screen.changed_meanwhile(record), 409
        except Conflict as conflict:  # a duplicate value
            errors = conflict.details or [{"path": "", "message": conflict.message}]
            status = 409
    view = await run_in_threadpool(_view, runtime, screen, submission.texts, errors, record)
    return _page(request, screen, view, record, notice, status)


def _write(runtime: Runtime, screen: Screen, submission: Submission, record: Record | None) -> int:
    """Create the record, or update it with what changed (nothing changed: nothing written);
    its id."""
    entity, principal, language = screen.entity, screen.principal, screen.language
    if record is None:
        body = {n: v for n, v in submission.values.items() if v is not None}  # defaults apply
        created = records.create_record(runtime.engine, entity, body, principal, language)
        return int(created["id"])
    if submission.values:
        records.update_record(
            runtime.engine,
            entity,
            record["id"],
            submission.values,
            principal,
            submission.row_version,
            language,
        )
    return int(record["id"])


def _read(runtime: Runtime, screen: Screen, record_id: int) -> Record:
    return read_mostly(
        runtime.engine,
        lambda conn: records.get_record(conn, screen.entity, record_id, screen.principal),
    )


def _state(conn: sa.Connection, screen: Screen, values: dict[str, Any]) -> FormState:
    return evaluated_state(
        conn, screen.catalog, screen.entity, screen.layout, values, screen.principal
    )


def _view(
    runtime: Runtime,
    screen: Screen,
    texts: dict[str, str],
    errors: list[dict[str, Any]],
    record: Record | None,
) -> FormView:
    """The form showing `texts`: conditions evaluated, reference selects filled."""

    def work(conn: sa.Connection) -> tuple[FormState, Any]:
        state = _state(conn, screen, {**(record or {}), **texts})
        names = screen.layout.field_names
        return state, reference_choices(conn, screen.entity, names, texts, screen.principal)

    state, choices = read_mostly(runtime.engine, work)
    return _bare_view(screen, texts, state, record, errors, choices)


def _bare_view(
    screen: Screen,
    texts: dict[str, str],
    state: FormState,
    record: Record | None,
    errors: list[dict[str, Any]] | None = None,
    choices: dict[str, list[tuple[int, str]]] | None = None,
) -> FormView:
    return build_form_view(
        screen.catalog,
        screen.entity,
        screen.layout.name,
        texts,
        errors or [],
        screen.principal,
        screen.language,
        state=state,
        record=record,
        choices=choices,
    )


async def _read_form(
    request: Request, screen: Screen
) -> tuple[dict[str, str], dict[str, Upload], str | None]:
    """The texts typed, the files chosen, and the version an edit was made on."""
    names = screen.layout.field_names
    async with request.form() as form:
        typed = posted_texts(screen.entity, form, names)
        uploads = {
            name: Upload(file.filename or "file", file.content_type or "", await file.read())
            for name, file in uploads_in(form, names).items()
        }
        version = form.get("row_version")
    return typed, uploads, version if isinstance(version, str) and version else None


def _page(
    request: Request,
    screen: Screen,
    view: FormView,
    record: Record | None,
    notice: str = "",
    status: int = 200,
) -> Response:
    chrome = chrome_of(request, screen.heading(record), screen.catalog)
    return render(request, "form.html", form_page(chrome, screen, view, record, notice), status)


ROUTES: list[BaseRoute] = [
    Route("/{app}/{entity}/new", new_record, methods=["GET", "POST"]),
    Route("/{app}/{entity}/{id:int}/edit", edit_record, methods=["GET", "POST"]),
    Route("/{app}/{entity}/form-state", form_state, methods=["POST"]),
    Route("/{app}/{entity}/pick/{field}", pick_records, methods=["GET"]),
]
