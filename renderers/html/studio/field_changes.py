"""The field editor's routes: each edits the draft definition's data (`edits`) and stores it
as the draft through the same engine call as the YAML editor, then returns to the page.
A refused edit shows its errors beside the inputs (422), with what was typed kept."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.errors import NotFound, ValidationFailed
from engine.runtime import Runtime
from metamodel.definitions import Key
from renderers.html.environment import language_of_page
from renderers.html.studio.browse import definition_url
from renderers.html.studio.context import (
    Contents,
    first,
    may_change,
    problems_of,
    read_form,
    read_state,
    runtime_of,
    save_draft,
)
from renderers.html.studio.editor import show_editor
from renderers.html.studio.edits import (
    EditRefused,
    NewField,
    add_field,
    append_to_form,
    move_field,
    relabel_field,
)
from renderers.html.studio.field_editor import Errors, field_types_of
from renderers.html.studio.words import TEXTS


def new_field_of(form: dict[str, list[str]]) -> NewField:
    return NewField(
        name=first(form, "name").strip(),
        type=first(form, "type"),
        label_zh=first(form, "label_zh"),
        label_en=first(form, "label_en"),
        required=first(form, "required") == "1",
        max_length=first(form, "max_length"),
        options=first(form, "options"),
        entity=first(form, "entity"),
        forms=tuple(form.get("forms", [])),
        in_list=first(form, "in_list") == "1",
    )


def drafted(runtime: Runtime, key: Key) -> tuple[dict[str, Any], Contents]:
    """The definition as the draft has it, and every definition so."""
    merged = read_state(runtime).merged
    if key not in merged:
        raise NotFound(f"no definition {'/'.join(key)}")
    return merged[key], merged


def store_new_field(runtime: Runtime, app: str, entity: str, new: NewField, author: str) -> None:
    """Add the field to the entity's draft, then to the chosen forms' last sections."""
    key = (app, "entity", entity)
    content, merged = drafted(runtime, key)
    types = field_types_of(runtime.extensions.field_types)
    save_draft(runtime, key, add_field(content, new, types), author)
    for form in new.forms:
        form_key = (app, "form", form)
        if merged.get(form_key, {}).get("entity") in (entity, f"{app}.{entity}"):
            save_draft(runtime, form_key, append_to_form(merged[form_key], new.name), author)


def store_relabel(
    runtime: Runtime, key: Key, field: str, form: dict[str, list[str]], author: str
) -> None:
    content, _ = drafted(runtime, key)
    options = form["options"][0] if "options" in form else None
    changed = relabel_field(
        content, field, first(form, "label_zh"), first(form, "label_en"), options
    )
    save_draft(runtime, key, changed, author)


def store_move(runtime: Runtime, key: Key, form: dict[str, list[str]], author: str) -> None:
    content, _ = drafted(runtime, key)
    section = first(form, "section")
    number = int(section) if section.isdigit() else None
    changed = move_field(content, first(form, "field"), first(form, "direction"), number)
    save_draft(runtime, key, changed, author)


def worded(request: Request, errors: dict[str, str], prefix: str) -> Errors:
    """Refused inputs as messages keyed by the input's id (`prefix` + input name)."""
    texts = TEXTS[language_of_page(request)]
    return {prefix + name: texts[key] for name, key in errors.items()}


async def add_entity_field(request: Request) -> Response:
    principal = may_change(request)
    app, name = request.path_params["app"], request.path_params["name"]
    key = (app, "entity", name)
    new = new_field_of(await read_form(request))
    runtime = runtime_of(request)
    try:
        await run_in_threadpool(store_new_field, runtime, app, name, new, principal.username)
    except EditRefused as exc:
        errors = worded(request, exc.errors, "new-")
        return await show_editor(request, key, 422, new_field=new, input_errors=errors)
    except ValidationFailed as exc:
        return await show_editor(request, key, 422, problems=problems_of(exc), new_field=new)
    return RedirectResponse(definition_url(key) + "?saved=1#fields", 303)


async def change_entity_field(request: Request) -> Response:
    principal = may_change(request)
    params = request.path_params
    key, field = (params["app"], "entity", params["name"]), params["field"]
    form = await read_form(request)
    runtime = runtime_of(request)
    try:
        await run_in_threadpool(store_relabel, runtime, key, field, form, principal.username)
    except EditRefused as exc:
        errors = worded(request, exc.errors, f"field-{field}-")
        return await show_editor(request, key, 422, input_errors=errors)
    except ValidationFailed as exc:
        return await show_editor(request, key, 422, problems=problems_of(exc))
    return RedirectResponse(definition_url(key) + f"?saved=1#field-{field}", 303)


async def move_form_field(request: Request) -> Response:
    principal = may_change(request)
    key = (request.path_params["app"], "form", request.path_params["name"])
    form = await read_form(request)
    runtime = runtime_of(request)
    try:
        await run_in_threadpool(store_move, runtime, key, form, principal.username)
    except EditRefused as exc:
        errors = worded(request, exc.errors, f"move-{first(form, 'field')}-")
        return await show_editor(request, key, 422, input_errors=errors)
    except ValidationFailed as exc:
        return await show_editor(request, key, 422, problems=problems_of(exc))
    return RedirectResponse(definition_url(key) + "?saved=1#layout", 303)


ROUTES: list[BaseRoute] = [
    Route("/studio/{app}/entity/{name}/fields", add_entity_field, methods=["POST"]),
    Route("/studio/{app}/entity/{name}/fields/{field}", change_entity_field, methods=["POST"]),
    Route("/studio/{app}/form/{name}/move", move_form_field, methods=["POST"]),
]
